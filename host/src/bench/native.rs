//! The benchmark's native scenario: the same submission for the plugin's logic compiled
//! into `host`, and the component's decision in the logic's own types, so that the two
//! can be compared field by field before anything is timed.

use crate::plugin::{
    ContainerEnv, ContainerStartup, Decision, EnvSource, EnvVar, InputError, KeyRef, SecretKeyRef,
    SecretReference, SecretUseKind, Startup, Submission, Violation, Warning, WorkloadForm,
    WorkloadId,
};
use guest::decision::ReferenceKind;

/// The same submission for the plugin's logic compiled natively.
pub fn submission(s: &Submission) -> guest::Submission {
    guest::Submission {
        workload: s.workload.clone(),
        namespace: s.namespace.clone(),
        project: s.project.as_ref().map(|p| guest::ProjectInfo {
            name: p.name.clone(),
            id: p.id.clone(),
            department: p.department.clone(),
        }),
        workload_type: s.workload_type.clone(),
        policies: s
            .policies
            .iter()
            .map(|p| guest::PolicyDocument {
                source: p.source.clone(),
                json: p.json.clone(),
            })
            .collect(),
        secrets: s
            .secrets
            .iter()
            .map(|m| guest::SecretMetadata {
                name: m.name.clone(),
                keys: m.keys.clone(),
                secret_type: m.secret_type.clone(),
                immutable: m.immutable,
                cluster_wide_copy: m.cluster_wide_copy,
                labels: m.labels.clone(),
            })
            .collect(),
        with_env: s.with_env,
        with_references: s.with_references,
    }
}

/// The first part of the decision in which `a` and `b` differ, named for an error
/// message that shows no values (a workload's literals may be credentials).
pub fn first_difference(a: &guest::Decision, b: &guest::Decision) -> Option<&'static str> {
    [
        ("workload", a.workload == b.workload),
        ("verdict", a.allowed == b.allowed),
        ("violations", a.violations == b.violations),
        ("warnings", a.warnings == b.warnings),
        ("patch", a.patch == b.patch),
        ("environment", a.env == b.env),
        ("startup", a.startup == b.startup),
        ("references", a.references == b.references),
    ]
    .into_iter()
    .find_map(|(part, same)| (!same).then_some(part))
}

/// The component's decision as the native logic would have written it.
pub fn decision(d: &Decision) -> guest::Decision {
    guest::Decision {
        workload: workload(&d.workload),
        allowed: d.allowed,
        violations: d.violations.iter().map(violation).collect(),
        warnings: d.warnings.iter().map(warning).collect(),
        patch: d.patch.clone(),
        env: d.env.iter().map(container_env).collect(),
        startup: startup(&d.startup),
        references: d.references.iter().map(reference).collect(),
    }
}

/// A reference in the logic's types.
pub fn reference(r: &SecretReference) -> guest::decision::SecretReference {
    guest::decision::SecretReference {
        secret: r.secret.clone(),
        key: r.key.clone(),
        kind: match r.kind {
            SecretUseKind::Env => ReferenceKind::Env,
            SecretUseKind::EnvFrom => ReferenceKind::EnvFrom,
            SecretUseKind::Volume => ReferenceKind::Volume,
            SecretUseKind::ImagePull => ReferenceKind::ImagePull,
        },
        container: r.container.clone(),
        field: r.field.clone(),
        optional: r.optional,
    }
}

/// A reference in the component's types.
pub fn from_reference(r: guest::decision::SecretReference) -> SecretReference {
    SecretReference {
        secret: r.secret,
        key: r.key,
        kind: match r.kind {
            ReferenceKind::Env => SecretUseKind::Env,
            ReferenceKind::EnvFrom => SecretUseKind::EnvFrom,
            ReferenceKind::Volume => SecretUseKind::Volume,
            ReferenceKind::ImagePull => SecretUseKind::ImagePull,
        },
        container: r.container,
        field: r.field,
        optional: r.optional,
    }
}

fn workload(w: &WorkloadId) -> guest::WorkloadId {
    guest::WorkloadId {
        form: match w.form {
            WorkloadForm::RunaiCrd => guest::decision::WorkloadForm::RunaiCrd,
            WorkloadForm::RunaiApi => guest::decision::WorkloadForm::RunaiApi,
            WorkloadForm::Kubernetes => guest::decision::WorkloadForm::Kubernetes,
        },
        kind: w.kind.clone(),
        name: w.name.clone(),
        namespace: w.namespace.clone(),
        project: w.project.clone(),
        workload_type: w.workload_type.clone(),
    }
}

fn violation(v: &Violation) -> guest::decision::Violation {
    guest::decision::Violation {
        code: v.code.clone(),
        field: v.field.clone(),
        message: v.message.clone(),
        policy: v.policy.clone(),
        secret: v.secret.clone(),
    }
}

fn warning(w: &Warning) -> guest::decision::Warning {
    guest::decision::Warning {
        code: w.code.clone(),
        field: w.field.clone(),
        message: w.message.clone(),
        secret: w.secret.clone(),
        policy: w.policy.clone(),
        audit: w.audit,
    }
}

fn container_env(c: &ContainerEnv) -> guest::decision::ContainerEnv {
    guest::decision::ContainerEnv {
        container: c.container.clone(),
        vars: c.vars.iter().map(env_var).collect(),
    }
}

fn env_var(v: &EnvVar) -> guest::decision::EnvVar {
    guest::decision::EnvVar {
        name: v.name.clone(),
        source: match &v.source {
            EnvSource::Literal(s) => guest::decision::EnvSource::Literal(s.clone()),
            EnvSource::Secret(r) => guest::decision::EnvSource::Secret {
                name: r.name.clone(),
                key: r.key.clone(),
                optional: r.optional,
            },
            EnvSource::ConfigMap(r) => guest::decision::EnvSource::ConfigMap {
                name: r.name.clone(),
                key: r.key.clone(),
            },
            EnvSource::FieldRef(s) => guest::decision::EnvSource::FieldRef(s.clone()),
            EnvSource::Expanded(s) => guest::decision::EnvSource::Expanded(s.clone()),
            EnvSource::UserCredential(r) => guest::decision::EnvSource::UserCredential {
                name: r.name.clone(),
                key: r.key.clone(),
            },
        },
        origin: v.origin.clone(),
    }
}

fn startup(s: &Startup) -> guest::decision::Startup {
    guest::decision::Startup {
        starts: s.starts,
        containers: s.containers.iter().map(container_startup).collect(),
    }
}

fn container_startup(c: &ContainerStartup) -> guest::decision::ContainerStartup {
    guest::decision::ContainerStartup {
        name: c.name.clone(),
        state: c.state.clone(),
        reason: c.reason.clone(),
        message: c.message.clone(),
        secret: c.secret.clone(),
    }
}

/// The plugin's logic compiled into `host`, behind the interface `simulate` and the
/// gateway evaluate through: for the benchmarks only (`host serve --evaluator native`
/// shows what the sandbox costs a gateway). It has no containment.
pub struct Native;

impl crate::simulate::Evaluator for Native {
    fn identify(&self, workload: &str) -> anyhow::Result<Result<WorkloadId, InputError>> {
        Ok(guest::identify(workload)
            .map(from_workload)
            .map_err(from_input_error))
    }

    fn evaluate(&self, s: &Submission) -> anyhow::Result<Result<Decision, InputError>> {
        Ok(guest::evaluate(&submission(s))
            .map(from_decision)
            .map_err(from_input_error))
    }
}

fn from_input_error(e: guest::InputError) -> InputError {
    InputError {
        field: e.field,
        message: e.message,
    }
}

fn from_workload(w: guest::WorkloadId) -> WorkloadId {
    WorkloadId {
        form: match w.form {
            guest::decision::WorkloadForm::RunaiCrd => WorkloadForm::RunaiCrd,
            guest::decision::WorkloadForm::RunaiApi => WorkloadForm::RunaiApi,
            guest::decision::WorkloadForm::Kubernetes => WorkloadForm::Kubernetes,
        },
        kind: w.kind,
        name: w.name,
        namespace: w.namespace,
        project: w.project,
        workload_type: w.workload_type,
    }
}

/// The native logic's decision in the component's types.
fn from_decision(d: guest::Decision) -> Decision {
    Decision {
        workload: from_workload(d.workload),
        allowed: d.allowed,
        violations: d
            .violations
            .into_iter()
            .map(|v| Violation {
                code: v.code,
                field: v.field,
                message: v.message,
                policy: v.policy,
                secret: v.secret,
            })
            .collect(),
        warnings: d
            .warnings
            .into_iter()
            .map(|w| Warning {
                code: w.code,
                field: w.field,
                message: w.message,
                secret: w.secret,
                policy: w.policy,
                audit: w.audit,
            })
            .collect(),
        patch: d.patch,
        env: d
            .env
            .into_iter()
            .map(|c| ContainerEnv {
                container: c.container,
                vars: c.vars.into_iter().map(from_env_var).collect(),
            })
            .collect(),
        startup: Startup {
            starts: d.startup.starts,
            containers: d
                .startup
                .containers
                .into_iter()
                .map(|c| ContainerStartup {
                    name: c.name,
                    state: c.state,
                    reason: c.reason,
                    message: c.message,
                    secret: c.secret,
                })
                .collect(),
        },
        references: d.references.into_iter().map(from_reference).collect(),
    }
}

fn from_env_var(v: guest::decision::EnvVar) -> EnvVar {
    use guest::decision::EnvSource as G;
    EnvVar {
        name: v.name,
        source: match v.source {
            G::Literal(s) => EnvSource::Literal(s),
            G::Secret {
                name,
                key,
                optional,
            } => EnvSource::Secret(SecretKeyRef {
                name,
                key,
                optional,
            }),
            G::ConfigMap { name, key } => EnvSource::ConfigMap(KeyRef { name, key }),
            G::FieldRef(s) => EnvSource::FieldRef(s),
            G::Expanded(s) => EnvSource::Expanded(s),
            G::UserCredential { name, key } => EnvSource::UserCredential(KeyRef { name, key }),
        },
        origin: v.origin,
    }
}

#[cfg(test)]
mod tests {
    use super::first_difference;
    use guest::decision::{ContainerEnv, Startup, Violation, Warning, WorkloadForm};

    fn decision() -> guest::Decision {
        guest::Decision {
            workload: guest::WorkloadId {
                form: WorkloadForm::RunaiCrd,
                kind: "TrainingWorkload".into(),
                name: "w".into(),
                namespace: None,
                project: None,
                workload_type: None,
            },
            allowed: true,
            violations: Vec::new(),
            warnings: Vec::new(),
            patch: "[]".into(),
            env: Vec::new(),
            startup: Startup::default(),
            references: Vec::new(),
        }
    }

    #[test]
    fn every_part_of_a_decision_is_compared() {
        let violation = Violation {
            code: "c".into(),
            field: "f".into(),
            message: "m".into(),
            policy: String::new(),
            secret: None,
        };
        let warning = Warning {
            code: "c".into(),
            field: "f".into(),
            message: "m".into(),
            ..Warning::default()
        };
        type Change = fn(&mut guest::Decision);
        let changes: [(&str, Change); 8] = [
            ("workload", |d| d.workload.name = "v".into()),
            ("verdict", |d| d.allowed = false),
            ("violations", |d| d.violations.clear()),
            ("warnings", |d| d.warnings.clear()),
            ("patch", |d| d.patch = "[{}]".into()),
            ("environment", |d| d.env.clear()),
            ("startup", |d| d.startup.starts = true),
            ("references", |d| {
                d.references.push(guest::decision::SecretReference {
                    secret: "s".into(),
                    key: None,
                    kind: guest::decision::ReferenceKind::ImagePull,
                    container: String::new(),
                    field: "f".into(),
                    optional: false,
                })
            }),
        ];
        let mut base = decision();
        base.violations.push(violation);
        base.warnings.push(warning);
        base.env.push(ContainerEnv {
            container: "main".into(),
            vars: Vec::new(),
        });
        assert_eq!(first_difference(&base, &base.clone()), None);
        for (part, change) in changes {
            let mut other = base.clone();
            change(&mut other);
            assert_eq!(first_difference(&base, &other), Some(part));
        }
    }
}
