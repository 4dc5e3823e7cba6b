//! The component's export glue: WIT records in, the plain-Rust logic, WIT records out.

wit_bindgen::generate!({
    path: "../wit",
    world: "secrets-policy",
});

use crate::decision as d;
use crate::request as r;
use exports::runai::secrets_policy::evaluator as wit;

struct Plugin;

export!(Plugin);

impl wit::Guest for Plugin {
    fn check_policies(
        policies: Vec<wit::PolicyDocument>,
        projects: Vec<wit::ProjectInfo>,
    ) -> Vec<wit::Diagnostic> {
        let policies: Vec<_> = policies.into_iter().map(policy_document).collect();
        let projects: Vec<_> = projects.into_iter().map(project_info).collect();
        crate::check_policies(&policies, &projects)
            .into_iter()
            .map(|x| wit::Diagnostic {
                source: x.source,
                field: x.field,
                code: x.code,
                message: x.message,
            })
            .collect()
    }

    fn identify(workload: String) -> Result<wit::WorkloadId, wit::InputError> {
        crate::identify(&workload)
            .map(workload_id)
            .map_err(input_error)
    }

    fn evaluate(request: wit::Submission) -> Result<wit::Decision, wit::InputError> {
        let submission = r::Submission {
            workload: request.workload,
            namespace: request.namespace,
            project: request.project.map(project_info),
            workload_type: request.workload_type,
            policies: request.policies.into_iter().map(policy_document).collect(),
            secrets: request
                .secrets
                .into_iter()
                .map(|s| r::SecretMetadata {
                    name: s.name,
                    keys: s.keys,
                    secret_type: s.secret_type,
                    immutable: s.immutable,
                    cluster_wide_copy: s.cluster_wide_copy,
                    labels: s.labels,
                })
                .collect(),
            with_env: request.with_env,
            with_references: request.with_references,
        };
        crate::evaluate(&submission)
            .map(decision)
            .map_err(input_error)
    }

    fn check_removal(
        removal: wit::Removal,
        policies: Vec<wit::PolicyDocument>,
        users: Vec<wit::SecretUser>,
    ) -> Result<wit::RemovalDecision, wit::InputError> {
        let removal = crate::removal::Removal {
            namespace: removal.namespace,
            secret: removal.secret,
            keys: removal.keys,
            action: removal.action,
        };
        let policies: Vec<_> = policies.into_iter().map(policy_document).collect();
        let users: Vec<_> = users
            .into_iter()
            .map(|u| crate::removal::SecretUser {
                namespace: u.namespace,
                workload: u.workload,
                reference: reference_in(u.reference),
            })
            .collect();
        crate::removal::check(&removal, &policies, &users)
            .map(|d| wit::RemovalDecision {
                allowed: d.allowed,
                mode: d.mode.name().to_string(),
                policy: d.policy,
                breaks: d.breaks,
                message: d.message,
            })
            .map_err(input_error)
    }
}

fn reference_in(r: wit::SecretReference) -> d::SecretReference {
    d::SecretReference {
        secret: r.secret,
        key: r.key,
        kind: match r.kind {
            wit::SecretUseKind::Env => d::ReferenceKind::Env,
            wit::SecretUseKind::EnvFrom => d::ReferenceKind::EnvFrom,
            wit::SecretUseKind::Volume => d::ReferenceKind::Volume,
            wit::SecretUseKind::ImagePull => d::ReferenceKind::ImagePull,
        },
        container: r.container,
        field: r.field,
        optional: r.optional,
    }
}

fn reference_out(r: d::SecretReference) -> wit::SecretReference {
    wit::SecretReference {
        secret: r.secret,
        key: r.key,
        kind: match r.kind {
            d::ReferenceKind::Env => wit::SecretUseKind::Env,
            d::ReferenceKind::EnvFrom => wit::SecretUseKind::EnvFrom,
            d::ReferenceKind::Volume => wit::SecretUseKind::Volume,
            d::ReferenceKind::ImagePull => wit::SecretUseKind::ImagePull,
        },
        container: r.container,
        field: r.field,
        optional: r.optional,
    }
}

fn project_info(p: wit::ProjectInfo) -> r::ProjectInfo {
    r::ProjectInfo {
        name: p.name,
        id: p.id,
        department: p.department,
    }
}

fn policy_document(p: wit::PolicyDocument) -> r::PolicyDocument {
    r::PolicyDocument {
        source: p.source,
        json: p.json,
    }
}

fn input_error(e: d::InputError) -> wit::InputError {
    wit::InputError {
        field: e.field,
        message: e.message,
    }
}

fn workload_id(id: d::WorkloadId) -> wit::WorkloadId {
    wit::WorkloadId {
        form: match id.form {
            d::WorkloadForm::RunaiCrd => wit::WorkloadForm::RunaiCrd,
            d::WorkloadForm::RunaiApi => wit::WorkloadForm::RunaiApi,
            d::WorkloadForm::Kubernetes => wit::WorkloadForm::Kubernetes,
        },
        kind: id.kind,
        name: id.name,
        namespace: id.namespace,
        project: id.project,
        workload_type: id.workload_type,
    }
}

fn decision(x: d::Decision) -> wit::Decision {
    wit::Decision {
        workload: workload_id(x.workload),
        allowed: x.allowed,
        violations: x
            .violations
            .into_iter()
            .map(|v| wit::Violation {
                code: v.code,
                field: v.field,
                message: v.message,
                policy: v.policy,
                secret: v.secret,
            })
            .collect(),
        warnings: x
            .warnings
            .into_iter()
            .map(|w| wit::Warning {
                code: w.code,
                field: w.field,
                message: w.message,
                secret: w.secret,
                policy: w.policy,
                audit: w.audit,
            })
            .collect(),
        patch: x.patch,
        env: x
            .env
            .into_iter()
            .map(|c| wit::ContainerEnv {
                container: c.container,
                vars: c
                    .vars
                    .into_iter()
                    .map(|e| wit::EnvVar {
                        name: e.name,
                        source: env_source(e.source),
                        origin: e.origin,
                    })
                    .collect(),
            })
            .collect(),
        startup: wit::Startup {
            starts: x.startup.starts,
            containers: x
                .startup
                .containers
                .into_iter()
                .map(|c| wit::ContainerStartup {
                    name: c.name,
                    state: c.state,
                    reason: c.reason,
                    message: c.message,
                    secret: c.secret,
                })
                .collect(),
        },
        references: x.references.into_iter().map(reference_out).collect(),
    }
}

fn env_source(s: d::EnvSource) -> wit::EnvSource {
    match s {
        d::EnvSource::Literal(v) => wit::EnvSource::Literal(v),
        d::EnvSource::Secret {
            name,
            key,
            optional,
        } => wit::EnvSource::Secret(wit::SecretKeyRef {
            name,
            key,
            optional,
        }),
        d::EnvSource::ConfigMap { name, key } => {
            wit::EnvSource::ConfigMap(wit::KeyRef { name, key })
        }
        d::EnvSource::FieldRef(path) => wit::EnvSource::FieldRef(path),
        d::EnvSource::UserCredential { name, key } => {
            wit::EnvSource::UserCredential(wit::KeyRef { name, key })
        }
        d::EnvSource::Expanded(text) => wit::EnvSource::Expanded(text),
    }
}
