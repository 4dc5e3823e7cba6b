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

/// The globs reach the Rego split by the shapes the plugin compiles them to (exact,
/// contains, prefix, suffix), each tested by its own pass: an exact name matches only
/// itself, whatever its case.
#[test]
fn sensitive_globs_keep_the_plugins_shapes() {
    use host::bench::rego;
    let data = rego::data(
        &[],
        &[
            "api_key".into(),
            "*PASSWORD*".into(),
            "*SECRET*".into(),
            "aws_*".into(),
            "*_TOKEN".into(),
        ],
    )
    .expect("data");
    let workload = r#"{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{"name":"w"},
        "spec":{"environment":{"items":{"API_KEY":{"value":"a"},"MY_API_KEY":{"value":"b"},"db_password":{"value":"c"},
        "MY_SECRET_NAME":{"value":"d"},"aws_region":{"value":"e"},"GH_TOKEN":{"value":"f"},"TOKEN_TYPE":{"value":"g"},
        "NOT_AWS_X":{"value":"h"},"EMPTY_TOKEN":{"value":""}}}}}"#;
    let want: rego::Findings = [
        "API_KEY",
        "db_password",
        "MY_SECRET_NAME",
        "aws_region",
        "GH_TOKEN",
    ]
    .iter()
    .map(|n| {
        (
            "sensitive-literal".to_string(),
            format!("spec.environment.items.{n}.value"),
        )
    })
    .collect();
    let rvm = rego::Rvm::new(data.clone())
        .expect("compiles")
        .findings(workload)
        .expect("evaluates");
    assert_eq!(rvm, want);
    assert_eq!(
        rego::engine_findings(&data, workload).expect("evaluates"),
        want
    );
    assert!(rego::data(&[], &["A?C".into()]).is_err());
}
