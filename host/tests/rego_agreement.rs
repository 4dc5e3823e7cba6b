//! The benchmark's Rego policy decides like the plugin on every form A fixture, on
//! both of regorus's evaluators (they have been seen to disagree on `not` over
//! undefined values).

#[test]
fn the_rego_baseline_agrees_with_the_plugin_on_every_fixture() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let plugin = host::plugin::Plugin::builtin().expect("plugin");
    let fixtures = host::bench::fixtures(&root).expect("fixtures");
    assert!(fixtures.len() >= 6, "{}", fixtures.len());
    let agreeing =
        host::bench::check_agreement(&plugin, &fixtures).unwrap_or_else(|e| panic!("{e:#}"));
    assert_eq!(agreeing, fixtures.len());
}
