//! `host bench` compares the plugin with the same logic compiled natively, so the
//! profile native measurements are built with (`dist`) and the plugin's (`plugin`)
//! must set the same optimisation; host/build.rs trusts `dist` to be that profile.

use std::collections::BTreeMap;

fn manifest() -> String {
    std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml")).unwrap()
}

/// The `key = value` lines of `[profile.NAME]` in the workspace's Cargo.toml.
fn profile(name: &str) -> BTreeMap<String, String> {
    let text = manifest();
    let header = format!("[profile.{name}]");
    let start = text
        .lines()
        .position(|l| l.trim() == header)
        .unwrap_or_else(|| panic!("Cargo.toml has no {header}"));
    text.lines()
        .skip(start + 1)
        .take_while(|l| !l.trim_start().starts_with('['))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect()
}

#[test]
fn the_dist_profile_optimises_as_the_plugin_profile_does() {
    let dist = profile("dist");
    let plugin = profile("plugin");
    for key in ["opt-level", "lto", "codegen-units"] {
        assert!(dist.contains_key(key), "[profile.dist] sets no {key}");
        assert_eq!(dist.get(key), plugin.get(key), "{key}");
    }
    assert_eq!(dist.get("lto").map(String::as_str), Some("\"fat\""));
    assert_eq!(dist.get("codegen-units").map(String::as_str), Some("1"));
    // `cargo bench` (criterion) measures with the same code generation.
    let bench = profile("bench");
    for key in ["lto", "codegen-units"] {
        assert_eq!(bench.get(key), plugin.get(key), "[profile.bench] {key}");
    }
}

/// `release` builds wasmtime's compiler at a lower opt-level (the first build's time);
/// what is measured builds every crate as the plugin's profile does.
#[test]
fn what_release_builds_with_less_optimisation_dist_and_bench_build_fully() {
    let lowered: Vec<String> = manifest()
        .lines()
        .filter_map(|l| l.trim().strip_prefix("[profile.release.package."))
        .map(|l| l.trim_end_matches(']').to_string())
        .collect();
    assert!(!lowered.is_empty());
    for package in &lowered {
        for measured in ["dist", "bench"] {
            let overrides = profile(&format!("{measured}.package.{package}"));
            assert_eq!(
                overrides.get("opt-level").map(String::as_str),
                Some("3"),
                "[profile.{measured}.package.{package}] must restore opt-level 3"
            );
        }
    }
}
