//! Cluster manifests validated as the API server would (SPEC §5): a table of bad
//! manifests with the error each must give, and what a good Secret becomes.

use host::cluster::{Cluster, load_documents};
use host::manifest;

fn load(text: &str) -> Result<Cluster, String> {
    let docs = manifest::parse(text, "m.yaml").map_err(|e| format!("{e:#}"))?;
    let mut cluster = Cluster::default();
    load_documents(&mut cluster, &docs).map_err(|e| format!("{e:#}"))?;
    Ok(cluster)
}

#[test]
fn bad_manifests_are_refused_with_file_document_and_field() {
    let big = "a".repeat((1 << 20) + 1);
    let cases: Vec<(&str, String, Vec<&str>)> = vec![
        (
            "the seed's Secret: name and keys at the top level",
            "apiVersion: v1\nkind: Secret\nname: my-secret\nusername: am9obg==\npassword: cGFzcw==\n".into(),
            vec!["m.yaml", "`metadata` is missing", "`name` is at the top level", "`metadata.name`", "`data` is missing", "`username`, `password`"],
        ),
        (
            "no namespace",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {}\n".into(),
            vec!["`metadata.namespace` is missing"],
        ),
        (
            "invalid secret name",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: My.Secret, namespace: runai}\n".into(),
            vec!["`metadata.name` `My.Secret` is not a DNS-1123 subdomain"],
        ),
        (
            "invalid key",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {\"a/b\": eA==}\n".into(),
            vec!["`data.a/b`", "not a valid key"],
        ),
        (
            "key '..'",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\nstringData: {\"..\": x}\n".into(),
            vec!["`stringData...`"],
        ),
        (
            "data that is not base64",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {k: \"not base64!\"}\n".into(),
            vec!["`data.k` is not valid base64", "stringData"],
        ),
        (
            "data value not a string",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {k: 3}\n".into(),
            vec!["`data.k` must be a base64 string, found a number"],
        ),
        (
            "over 1 MiB",
            format!("apiVersion: v1\nkind: Secret\nmetadata: {{name: s, namespace: runai}}\nstringData: {{k: {big}}}\n"),
            vec!["at most 1048576 (1 MiB)"],
        ),
        (
            "immutable not a boolean",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\nimmutable: \"yes\"\n".into(),
            vec!["`immutable` must be a boolean"],
        ),
        (
            "an unknown top-level field",
            "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\ndata: {}\nlabels: {a: b}\n".into(),
            vec!["unknown field `labels` at the top level"],
        ),
        (
            "the second document of a file is named",
            "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: ok}\n---\napiVersion: run.ai/v2\nkind: Project\nmetadata: {name: Not_OK}\n".into(),
            vec!["m.yaml#1", "Project", "not a DNS-1123 label"],
        ),
        (
            "project namespace too long",
            format!("apiVersion: run.ai/v2\nkind: Project\nmetadata: {{name: {}}}\n", "p".repeat(60)),
            vec!["is not a valid namespace name", "at most 63"],
        ),
        (
            "unknown kind",
            "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\n".into(),
            vec!["unsupported kind `ConfigMap`"],
        ),
        (
            "no kind",
            "apiVersion: v1\nmetadata: {name: c}\n".into(),
            vec!["`kind` is missing"],
        ),
        ("not YAML", "a: [1\n".into(), vec!["m.yaml: document 0: not valid YAML"]),
    ];
    for (name, text, needles) in cases {
        let err = load(&text)
            .err()
            .unwrap_or_else(|| panic!("{name}: accepted"));
        for needle in needles {
            assert!(err.contains(needle), "{name}: {needle:?} not in {err}");
        }
        assert!(
            !err.contains("am9obg") && !err.contains("cGFzcw"),
            "{name}: no value in errors"
        );
    }
}

#[test]
fn a_good_secret_keeps_keys_type_and_sizes_never_values() {
    let cluster = load(
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\n\
         data: {a: YWJj, b: eHl6}\nstringData: {b: longer-value, c: q}\nimmutable: true\n",
    )
    .expect("valid");
    let s = &cluster.secrets[&("runai".to_string(), "s".to_string())];
    assert_eq!(s.secret_type, "Opaque", "default type");
    assert!(s.immutable);
    let keys: Vec<(&str, usize)> = s.keys.iter().map(|(k, v)| (k.as_str(), *v)).collect();
    assert_eq!(
        keys,
        [("a", 3), ("b", 12), ("c", 1)],
        "stringData merged into data, winning on a clash"
    );
    assert!(
        !format!("{s:?}").contains("longer-value"),
        "no value is kept"
    );
}

#[test]
fn propagation_is_derived_from_the_source() {
    let mut cluster = load(
        "apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: a}\n---\n\
         apiVersion: v1\nkind: Namespace\nmetadata: {name: custom-b, labels: {runai/queue: b}}\n---\n\
         apiVersion: run.ai/v2\nkind: Project\nmetadata: {name: b}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {name: shared, namespace: runai}\nstringData: {k: v}\n---\n\
         apiVersion: v1\nkind: Secret\nmetadata: {name: shared, namespace: runai-a}\nstringData: {own: v}\n",
    )
    .expect("valid");
    let names = |c: &Cluster, ns: &str| {
        c.catalog(ns)
            .into_iter()
            .map(|s| (s.name, s.keys.join(","), s.cluster_wide_copy))
            .collect::<Vec<_>>()
    };
    assert_eq!(names(&cluster, "custom-b"), [], "not cluster-wide yet");
    let p = cluster.set_cluster_wide("shared").expect("set");
    assert_eq!(
        p.namespaces,
        ["custom-b"],
        "the namespace labelled runai/queue=b"
    );
    assert_eq!(p.conflicts, ["runai-a"]);
    assert_eq!(
        names(&cluster, "custom-b"),
        [("shared".to_string(), "k".to_string(), true)]
    );
    assert_eq!(
        names(&cluster, "runai-a"),
        [("shared".to_string(), "own".to_string(), false)],
        "never overwritten"
    );
    cluster
        .create_project("c", None, None, None)
        .expect("create");
    assert_eq!(
        names(&cluster, "runai-c").len(),
        1,
        "a project created later receives the copy"
    );
    assert_eq!(
        names(&cluster, "default"),
        [],
        "only project namespaces get copies"
    );
    cluster.remove_cluster_wide("shared").expect("remove");
    assert_eq!(names(&cluster, "runai-c"), []);
    assert_eq!(
        names(&cluster, "runai-a").len(),
        1,
        "the project's own secret stays"
    );
    assert!(cluster.set_cluster_wide("absent").is_err());
}

#[test]
fn an_immutable_secret_cannot_change() {
    let v1 = "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\nstringData: {k: abc}\nimmutable: true\n";
    let mut cluster = load(v1).expect("valid");
    let same = manifest::parse(v1, "again.yaml").unwrap();
    load_documents(&mut cluster, &same).expect("re-applying the same secret is fine");
    for changed in [
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\nstringData: {k: abc, k2: x}\nimmutable: true\n",
        "apiVersion: v1\nkind: Secret\nmetadata: {name: s, namespace: runai}\nstringData: {k: abc}\n",
    ] {
        let docs = manifest::parse(changed, "changed.yaml").unwrap();
        let err = load_documents(&mut cluster, &docs).unwrap_err().to_string();
        assert!(
            err.contains("changed.yaml") && err.contains("is immutable"),
            "{err}"
        );
    }
}
