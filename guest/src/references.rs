//! The secrets a workload references, as a gateway indexes them: which workloads
//! break when a secret or one of its keys goes away. Read from the workload after the
//! policy defaults are in (the object the cluster runs has them).

use crate::decision::{ReferenceKind, SecretReference};
use crate::workload::{EnvValue, UseKind, Workload};

pub fn of(workload: &Workload) -> Vec<SecretReference> {
    let mut out = Vec::new();
    for container in &workload.containers {
        for from in &container.env_from {
            out.push(SecretReference {
                secret: from.secret.clone(),
                key: None,
                kind: ReferenceKind::EnvFrom,
                container: container.name.clone(),
                field: format!("{}.secretRef.name", from.field),
                optional: from.optional,
            });
        }
        for entry in container.env.iter().filter(|e| !e.excluded) {
            if let EnvValue::Secret(r) = &entry.value {
                out.push(SecretReference {
                    secret: r.name.clone(),
                    key: Some(r.key.clone()),
                    kind: ReferenceKind::Env,
                    container: container.name.clone(),
                    field: entry.secret_field("name"),
                    optional: r.optional,
                });
            }
        }
    }
    for u in &workload.secret_uses {
        let kind = match u.kind {
            UseKind::Volume(_) => ReferenceKind::Volume,
            UseKind::ImagePull => ReferenceKind::ImagePull,
        };
        let reference = |key: Option<&String>, field: &str| SecretReference {
            secret: u.secret.clone(),
            key: key.cloned(),
            kind,
            container: String::new(),
            field: field.to_string(),
            optional: u.optional,
        };
        if u.keys.is_empty() {
            out.push(reference(None, &u.field));
        } else {
            out.extend(
                u.keys
                    .iter()
                    .map(|(key, field)| reference(Some(key), field)),
            );
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_reference_of_a_pod_with_its_use_key_container_and_field() {
        let pod = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"runai-a"},
          "spec":{"imagePullSecrets":[{"name":"regcred"}],
            "volumes":[{"name":"certs","secret":{"secretName":"tls","items":[{"key":"ca.crt","path":"ca"}]}},
                       {"name":"all","secret":{"secretName":"bundle","optional":true}}],
            "containers":[{"name":"main","image":"x",
              "envFrom":[{"secretRef":{"name":"common"}}],
              "env":[{"name":"PW","valueFrom":{"secretKeyRef":{"name":"db","key":"password"}}},
                     {"name":"OPT","valueFrom":{"secretKeyRef":{"name":"db","key":"extra","optional":true}}},
                     {"name":"LIT","value":"x"}]}]}}"#;
        let workload = crate::workload::parse(pod).expect("a pod");
        let found: Vec<(String, Option<String>, ReferenceKind, String, bool)> = of(&workload)
            .into_iter()
            .map(|r| (r.secret, r.key, r.kind, r.container, r.optional))
            .collect();
        let expected = [
            ("common", None, ReferenceKind::EnvFrom, "main", false),
            ("db", Some("password"), ReferenceKind::Env, "main", false),
            ("db", Some("extra"), ReferenceKind::Env, "main", true),
        ];
        for (secret, key, kind, container, optional) in expected {
            assert!(
                found.contains(&(
                    secret.into(),
                    key.map(String::from),
                    kind,
                    container.into(),
                    optional
                )),
                "{secret} {key:?} in {found:?}"
            );
        }
        for (secret, key, kind) in [
            ("regcred", None, ReferenceKind::ImagePull),
            ("tls", Some("ca.crt"), ReferenceKind::Volume),
            ("bundle", None, ReferenceKind::Volume),
        ] {
            assert!(
                found.iter().any(|f| f.0 == secret
                    && f.1.as_deref() == key
                    && f.2 == kind
                    && f.3.is_empty()),
                "{secret} in {found:?}"
            );
        }
        assert_eq!(found.len(), 6, "{found:?}");
    }

    #[test]
    fn a_runai_workload_references_its_secret_values() {
        let crd = r#"{"apiVersion":"run.ai/v2alpha1","kind":"TrainingWorkload","metadata":{"name":"t","namespace":"runai-a"},
          "spec":{"environment":{"items":{"A":{"value":"SECRET:db,password"},"B":{"value":"plain"},
                                           "C":{"value":"SECRET:db,user","exclude":true}}}}}"#;
        let workload = crate::workload::parse(crd).expect("a workload");
        let refs = of(&workload);
        assert_eq!(refs.len(), 1, "{refs:?}");
        assert_eq!(refs[0].field, "spec.environment.items.A.value");
        assert_eq!(refs[0].key.as_deref(), Some("password"));
    }
}
