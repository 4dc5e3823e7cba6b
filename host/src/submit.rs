//! `host submit`: a `runai submit` command line (SPEC §3 D) becomes a Run:ai workload
//! CRD (form A) that is then evaluated like any other.

use crate::manifest::Document;
use anyhow::{Result, bail};
use serde_json::{Map, Value, json};

/// The flags of `runai submit` that matter for secrets.
#[derive(Debug, Clone, Default)]
pub struct SubmitArgs {
    pub project: String,
    pub name: String,
    pub image: Option<String>,
    pub gpu: Option<String>,
    pub interactive: bool,
    /// `-e NAME=VALUE` in the order given.
    pub environment: Vec<String>,
}

/// Splits `-e NAME=VALUE` on the first `=` only: the value may hold more (the legacy
/// CLI dropped everything after a second `=`).
/// Errors name the `-e` by its position (1-based) and never show the argument: a
/// value may be a credential, and so may a password passed where `NAME=` was meant.
pub fn split_env(arg: &str, position: usize) -> Result<(&str, &str)> {
    match arg.split_once('=') {
        Some(("", _)) => bail!(
            "-e #{position}: the name before `=` is empty (the argument is not shown): expected \
             NAME=VALUE or NAME=SECRET:<secret-name>,<secret-key>"
        ),
        Some(pair) => Ok(pair),
        None => bail!(
            "-e #{position}: no `=` (the argument is not shown): expected NAME=VALUE or \
             NAME=SECRET:<secret-name>,<secret-key>"
        ),
    }
}

/// The workload `runai submit` would create in the project's namespace.
pub fn workload(args: &SubmitArgs, namespace: &str) -> Result<Document> {
    let mut items = Map::new();
    for (i, arg) in args.environment.iter().enumerate() {
        let (name, value) = split_env(arg, i + 1)?;
        // A repeated -e replaces the earlier one, as the CLI does.
        items.insert(name.to_string(), json!({ "value": value }));
    }
    let mut spec = Map::new();
    spec.insert("name".into(), json!({ "value": args.name }));
    if let Some(image) = &args.image {
        spec.insert("image".into(), json!({ "value": image }));
    }
    if let Some(gpu) = &args.gpu {
        spec.insert("gpu".into(), json!({ "value": gpu }));
    }
    spec.insert("environment".into(), json!({ "items": items }));
    let kind = if args.interactive {
        "InteractiveWorkload"
    } else {
        "TrainingWorkload"
    };
    Ok(Document {
        source: format!(
            "runai submit {} -p {}",
            crate::text::shown(&args.name),
            crate::text::shown(&args.project)
        ),
        value: json!({
            "apiVersion": "run.ai/v2alpha1",
            "kind": kind,
            "metadata": {
                "name": args.name,
                "namespace": namespace,
                "labels": { "project": args.project },
            },
            "spec": Value::Object(spec),
        }),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_on_the_first_equals_only() {
        assert_eq!(split_env("A=b=c", 1).unwrap(), ("A", "b=c"));
        assert_eq!(split_env("U=SECRET:s,k", 1).unwrap(), ("U", "SECRET:s,k"));
        assert_eq!(split_env("EMPTY=", 1).unwrap(), ("EMPTY", ""));
        assert!(
            split_env("hunter2", 2)
                .unwrap_err()
                .to_string()
                .starts_with("-e #2: no `=` (the argument is not shown)")
        );
        let empty_name = split_env("=hunter2", 1).unwrap_err().to_string();
        assert!(
            empty_name.contains("the name before `=` is empty") && !empty_name.contains("hunter2"),
            "{empty_name}"
        );
    }

    #[test]
    fn builds_a_training_workload_in_the_project_namespace() {
        let args = SubmitArgs {
            project: "team-a".into(),
            name: "job1".into(),
            image: Some("ubuntu".into()),
            gpu: Some("1".into()),
            interactive: false,
            environment: vec![
                "MYUSERNAME=SECRET:my-secret,username".into(),
                "URL=http://x/?a=b".into(),
            ],
        };
        let doc = workload(&args, "runai-team-a").unwrap();
        assert_eq!(doc.value["kind"], "TrainingWorkload");
        assert_eq!(doc.value["metadata"]["namespace"], "runai-team-a");
        assert_eq!(doc.value["metadata"]["labels"]["project"], "team-a");
        assert_eq!(
            doc.value["spec"]["environment"]["items"]["URL"]["value"],
            "http://x/?a=b"
        );
        let names: Vec<_> = doc.value["spec"]["environment"]["items"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["MYUSERNAME", "URL"], "in the order given");
    }
}
