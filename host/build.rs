//! Builds the plugin (`guest/`) as a WebAssembly component so the host can embed it.
//!
//! A nested cargo with its own target dir: the outer build holds the lock on the
//! main one. Flags meant for the host (clippy, coverage, target-cpu) must not leak
//! into the wasm build, so they are removed from the nested environment.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";
/// The workspace profile for the plugin (see the root Cargo.toml).
const PROFILE: &str = "plugin";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").expect("set by cargo"));
    let root = manifest_dir
        .parent()
        .expect("host/ lives in the workspace")
        .to_path_buf();
    for watched in [
        "guest/src",
        "guest/Cargo.toml",
        "tests/hostile-plugin/src",
        "tests/hostile-plugin/Cargo.toml",
        "wit",
        "Cargo.lock",
        // The root manifest holds `[profile.plugin]`, which the plugin is built with.
        "Cargo.toml",
        ".cargo/config.toml",
    ] {
        println!("cargo:rerun-if-changed={}", root.join(watched).display());
    }

    describe_native_build(&root);
    ensure_wasm_target();

    let target_dir = root.join("target").join("guest-wasm");
    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut cmd = Command::new(cargo);
    cmd.current_dir(&root)
        .args([
            "build",
            "--locked",
            "--profile",
            PROFILE,
            "-p",
            "guest",
            // Built alongside, for the containment tests.
            "-p",
            "hostile-plugin",
            "--target",
            TARGET,
        ])
        .arg("--target-dir")
        .arg(&target_dir);
    for var in [
        "RUSTFLAGS",
        "CARGO_ENCODED_RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_BUILD_TARGET",
        "CARGO_TARGET_DIR",
        "RUSTC_WORKSPACE_WRAPPER",
        "RUSTC_WRAPPER",
        "CARGO_MAKEFLAGS",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    let status = cmd
        .status()
        .expect("could not run cargo to build the guest");
    if !status.success() {
        panic!(
            "building the plugin failed ({status}); is the {TARGET} target installed? \
             `rustup target add {TARGET}` (rust-toolchain.toml lists it)"
        );
    }
    let wasm = target_dir.join(TARGET).join(PROFILE).join("guest.wasm");
    println!("cargo:rustc-env=GUEST_WASM={}", wasm.display());
    let hostile = target_dir
        .join(TARGET)
        .join(PROFILE)
        .join("hostile_plugin.wasm");
    println!("cargo:rustc-env=HOSTILE_WASM={}", hostile.display());
}

/// rustup installs the targets of `rust-toolchain.toml` only when it installs the
/// toolchain itself: where the pinned toolchain was already there (or linked), the wasm
/// target is missing and the nested build fails with an obscure "can't find crate for
/// `core`". Add it through rustup and say so; without rustup, stop with what to do.
fn ensure_wasm_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .ok()
        .filter(|o| o.status.success())
        .map(|o| PathBuf::from(String::from_utf8_lossy(&o.stdout).trim()));
    let Some(sysroot) = sysroot else {
        // Let the nested build report whatever is wrong with this rustc.
        return;
    };
    if sysroot
        .join("lib/rustlib")
        .join(TARGET)
        .join("lib")
        .is_dir()
    {
        return;
    }
    let toolchain = env::var("RUSTUP_TOOLCHAIN").ok();
    let mut rustup = Command::new("rustup");
    rustup.args(["target", "add", TARGET]);
    if let Some(toolchain) = &toolchain {
        rustup.args(["--toolchain", toolchain]);
    }
    match rustup.status() {
        Ok(status) if status.success() => println!(
            "cargo:warning=the {TARGET} target was missing from toolchain {}: installed it with `rustup target add {TARGET}`",
            toolchain.as_deref().unwrap_or("(default)")
        ),
        Ok(status) => panic!(
            "the {TARGET} target is not installed and `rustup target add {TARGET}` failed \
             ({status}); install it yourself, then build again"
        ),
        Err(_) => panic!(
            "the {TARGET} target is not installed for {} and rustup is not available to \
             add it: install the Rust standard library for {TARGET} (rust-toolchain.toml \
             lists it), then build again",
            sysroot.display()
        ),
    }
}

/// `host bench` compares the plugin with the same logic compiled into `host`: it says
/// how that native code was built, and warns when it is not built like the plugin (a
/// weaker native build flatters every ratio).
fn describe_native_build(root: &std::path::Path) {
    let threshold = |flags: &str| {
        flags
            .split(['\x1f', ' ', '"', ','])
            .find_map(|f| f.strip_prefix("llvm-args=-inline-threshold="))
            .map(str::to_string)
    };
    let native = threshold(&env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default());
    let config = std::fs::read_to_string(root.join(".cargo/config.toml")).unwrap_or_default();
    let wasm_table = config
        .split("\n[")
        .find(|table| table.starts_with("target.wasm32-unknown-unknown]"))
        .unwrap_or_default();
    let plugin = threshold(wasm_table);
    let opt_level = env::var("OPT_LEVEL").unwrap_or_default();
    let profile = profile_dir();
    let show = |t: &Option<String>| t.clone().unwrap_or_else(|| "default".into());
    println!(
        "cargo:rustc-env=HOST_NATIVE_BUILD=profile {profile}, opt-level {opt_level}, inline threshold {}",
        show(&native)
    );
    // Build scripts are not told the profile's LTO or codegen units; the profile's name
    // is the directory cargo builds into. `dist` has the plugin's settings (a test holds
    // the two profiles together in the root Cargo.toml).
    println!(
        "cargo:rustc-env=HOST_NATIVE_LIKE_PLUGIN={}",
        opt_level == "3" && native == plugin && profile == LIKE_PLUGIN
    );
}

/// The profile built with the plugin's settings.
const LIKE_PLUGIN: &str = "dist";

/// The profile's output directory: `OUT_DIR` is `<target>/[<triple>/]<profile>/build/<pkg>/out`.
fn profile_dir() -> String {
    let out = PathBuf::from(env::var_os("OUT_DIR").unwrap_or_default());
    out.ancestors()
        .nth(3)
        .and_then(|p| p.file_name())
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default()
}
