//! `host bench` compares the plugin with the same logic compiled natively, so the
//! profile native measurements are built with (`dist`) and the plugin's (`plugin`)
//! must set the same optimisation; host/build.rs trusts `dist` to be that profile.

use std::collections::BTreeMap;

/// The `key = value` lines of `[profile.NAME]` in the workspace's Cargo.toml.
fn profile(name: &str) -> BTreeMap<String, String> {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.toml");
    let text = std::fs::read_to_string(path).unwrap();
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
