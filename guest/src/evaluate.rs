//! One submission in, one decision out: the reference checks of SPEC §2.2 and the
//! SecretPolicy rules of §4.3, then the kubelet's view (§6).

use crate::by_name::{self, FirstSeen};
use crate::credentials::{CommandLine, Context};
use crate::decision::{Decision, EnvSource, InputError, Violation, Warning};
use crate::defaults;
use crate::kubelet;
use crate::listed;
use crate::names::{self, EnvNameValidation};
use crate::patch::Patch;
use crate::policy::PolicySet;
use crate::policy::secret_policy::{CredentialLiterals, Enforcement, SecretPolicy, SecretUseKind};
use crate::request::{Catalog, Submission};
use crate::secret_ref::EXPECTED_FORM;
use crate::shown::Shown;
use crate::workload::{self, EnvEntry, EnvFrom, EnvValue, SecretRef, SecretUse, UseKind, Workload};

pub fn evaluate(submission: &Submission) -> Result<Decision, InputError> {
    let mut workload = workload::parse(&submission.workload)?;
    if let Some(t) = &submission.workload_type {
        workload.id.workload_type = Some(t.clone());
    }
    let policies = PolicySet::load_input(&submission.policies, &submission.namespace)?;
    let catalog = Catalog::new(&submission.namespace, &submission.secrets);
    let rules = Rules::new(&policies.secret_policies);
    let mut findings = Findings::default();
    let mut patch = Patch::new(&workload);
    if let Some(workload_type) = workload.id.workload_type.clone() {
        let project = submission.project.as_ref();
        for env_rules in policies.env_rules(&workload_type, &submission.namespace, project) {
            defaults::apply(
                &mut workload,
                &env_rules,
                &mut patch,
                &mut findings.violations,
            );
        }
    }
    check_workload(&workload, &catalog, &rules, &mut findings);
    let references = if submission.with_references {
        crate::references::of(&workload)
    } else {
        Vec::new()
    };

    // Sensitivity was decided once per literal during the checks.
    let sensitive = std::mem::take(&mut findings.sensitive_literals);
    let is_sensitive = |name: &str| sensitive.contains(name);
    let scan_expansions = !rules.credentials.is_empty();
    let mut resolution = kubelet::resolve(
        std::mem::take(&mut workload.containers),
        &findings.repeats_a_name,
        &workload.secret_uses,
        &catalog,
        rules.env_names,
        &is_sensitive,
        scan_expansions,
    );
    findings
        .warnings
        .extend(std::mem::take(&mut resolution.warnings));
    for expanded in std::mem::take(&mut resolution.expanded) {
        check_expanded(expanded, &rules, &mut findings, &mut resolution.env);
    }
    for in_args in std::mem::take(&mut resolution.secrets_in_args) {
        secret_in_args(in_args, &rules, &mut findings);
    }
    let allowed = findings.violations.is_empty();
    listed::bound_violations(&mut findings.violations);
    listed::bound_warnings(&mut findings.warnings);
    if !allowed {
        // A rejected submission is never patched: its patch is for reading, so
        // sensitive literals injected by a policy are not shown.
        patch.redact(&is_sensitive, kubelet::REDACTED);
    }
    Ok(Decision {
        allowed,
        workload: workload.id,
        violations: findings.violations,
        warnings: findings.warnings,
        patch: patch.to_json(),
        env: if submission.with_env {
            resolution.env
        } else {
            Vec::new()
        },
        startup: resolution.startup,
        references,
    })
}

/// The SecretPolicy rules in scope, with the built-in defaults where none speaks.
struct Rules<'a> {
    policies: &'a [SecretPolicy],
    /// The policies that look for credential-shaped literals.
    credentials: Vec<&'a SecretPolicy>,
    env_names: EnvNameValidation,
    /// Who asks for references to exist: `None` when no one does, `Some(None)` for the
    /// built-in default, `Some(Some(p))` for a policy.
    require_existing: Option<Option<&'a SecretPolicy>>,
}

impl<'a> Rules<'a> {
    fn new(policies: &'a [SecretPolicy]) -> Self {
        let strict = policies
            .iter()
            .any(|p| p.env_name_validation == Some(EnvNameValidation::Strict));
        let requiring = policies
            .iter()
            .find(|p| p.require_existing_references == Some(true));
        let waived = policies
            .iter()
            .any(|p| p.require_existing_references == Some(false));
        Rules {
            policies,
            credentials: policies
                .iter()
                .filter(|p| p.credential_literals.is_some())
                .collect(),
            env_names: if strict {
                EnvNameValidation::Strict
            } else {
                EnvNameValidation::Relaxed
            },
            require_existing: match (requiring, waived) {
                (Some(p), _) => Some(Some(p)),
                (None, true) => None,
                (None, false) => Some(None),
            },
        }
    }

    fn is_sensitive(&self, env_name: &str) -> bool {
        self.policies.iter().any(|p| p.is_sensitive(env_name))
    }
}

#[derive(Default)]
struct Findings {
    violations: Vec<Violation>,
    warnings: Vec<Warning>,
    /// Env names whose literal values some policy calls sensitive.
    sensitive_literals: by_name::Set<String>,
    /// Per container: whether it sets an env name more than once.
    repeats_a_name: Vec<bool>,
}

impl Findings {
    fn violation(&mut self, policy: String, f: Finding) {
        self.violations.push(Violation {
            code: f.code.to_string(),
            field: f.field,
            message: f.message,
            policy,
            secret: f.secret.map(str::to_string),
        });
    }

    fn builtin(&mut self, f: Finding) {
        self.violation(String::new(), f);
    }

    fn warn(&mut self, f: Finding) {
        self.policy_warning(f, String::new(), false);
    }

    fn policy_warning(&mut self, f: Finding, policy: String, audit: bool) {
        self.warnings.push(Warning {
            code: f.code.to_string(),
            field: f.field,
            message: f.message,
            secret: f.secret.map(str::to_string),
            policy,
            audit,
        });
    }

    /// A policy's finding, as its enforcement mode says.
    fn by_policy(&mut self, policy: &SecretPolicy, mut f: Finding) {
        match policy.enforcement {
            Enforcement::Enforce => self.violation(policy.id(), f),
            Enforcement::Warn => {
                f.message = format!("{} ({})", f.message, policy.id());
                self.policy_warning(f, policy.id(), false)
            }
            Enforcement::Audit => {
                f.message = format!("audit: {} ({})", f.message, policy.id());
                self.policy_warning(f, policy.id(), true)
            }
        }
    }

    /// A missing secret or key: a violation when references must exist, a warning
    /// when the reference is optional, else only the start-up prediction shows it.
    fn missing(&mut self, rules: &Rules, optional: bool, mut f: Finding) {
        if optional {
            f.message = format!("{}; optional, so the variable is left unset", f.message);
            self.warn(f);
            return;
        }
        match rules.require_existing {
            Some(Some(policy)) => self.by_policy(policy, f),
            Some(None) => self.builtin(f),
            None => {}
        }
    }
}

/// One finding before it is filed as a violation or a warning.
struct Finding<'a> {
    code: &'static str,
    field: String,
    message: String,
    secret: Option<&'a str>,
}

fn finding<'a>(code: &'static str, field: impl Into<String>, message: String) -> Finding<'a> {
    Finding {
        code,
        field: field.into(),
        message,
        secret: None,
    }
}

impl<'a> Finding<'a> {
    fn about(mut self, secret: &'a str) -> Self {
        self.secret = Some(secret);
        self
    }
}

fn check_workload(workload: &Workload, catalog: &Catalog, rules: &Rules, out: &mut Findings) {
    if let Some((field, why)) = &workload.name_problem {
        out.builtin(finding("invalid-name", field.as_str(), why.clone()));
    }
    for secret_use in &workload.secret_uses {
        check_secret_use(secret_use, catalog, rules, out);
    }
    out.repeats_a_name = vec![false; workload.containers.len()];
    for (c, container) in workload.containers.iter().enumerate() {
        for from in &container.env_from {
            check_env_from(from, catalog, rules, out);
        }
        if !rules.credentials.is_empty() {
            // `command` and `args` are one command line: an item's context is what
            // comes before it (`--api-key KEY`, `wandb login KEY`).
            let mut line = CommandLine::default();
            for arg in &container.args {
                let context = line.next(&arg.value);
                let what = || format!("`{}`", Shown(&arg.field));
                check_credentials(
                    &arg.value,
                    context,
                    &what,
                    &|| arg.field.clone(),
                    rules,
                    out,
                );
            }
        }
        let mut seen = FirstSeen::with_capacity(container.env.len());
        for (i, entry) in container.env.iter().enumerate() {
            if !rules.env_names.is_valid(&entry.name) {
                out.builtin(finding(
                    "invalid-env-name",
                    entry.name_field(),
                    format!(
                        "env name `{}` is not valid: expected {}",
                        Shown(&entry.name),
                        rules.env_names.expected()
                    ),
                ));
            }
            if seen.first(&entry.name, i) != i {
                out.repeats_a_name[c] = true;
                out.warn(finding(
                    "duplicate-env",
                    entry.name_field(),
                    format!(
                        "`{}` is set more than once in container {}; the last one wins",
                        Shown(&entry.name),
                        Shown(&container.name)
                    ),
                ));
            }
            if entry.sources.len() > 1 {
                out.builtin(finding(
                    "value-and-secret",
                    entry.field(),
                    format!(
                        "`{}` sets {}: expected exactly one source",
                        Shown(&entry.name),
                        entry.sources.join(" and ")
                    ),
                ));
            }
            if !entry.excluded {
                check_value(entry, catalog, rules, out);
            }
        }
    }
}

fn check_value(entry: &EnvEntry, catalog: &Catalog, rules: &Rules, out: &mut Findings) {
    let env_name = entry.name.as_str();
    let shown_name = Shown(env_name);
    match &entry.value {
        EnvValue::Literal {
            value,
            secret_like_prefix,
        } => {
            if *secret_like_prefix {
                out.warn(finding(
                    "secret-ref-case",
                    entry.value_field(),
                    format!(
                        "`{shown_name}` starts like a secret reference but the prefix is case-sensitive, \
                         so it is taken as a literal; to reference a secret write {EXPECTED_FORM}"
                    ),
                ));
            }
            let sensitive = !value.is_empty() && rules.is_sensitive(env_name);
            if !sensitive && !rules.credentials.is_empty() {
                // A sensitive name's literal is rejected as such already. A credential
                // found is never shown, whatever the name.
                let found = check_credentials(
                    value,
                    Context::named(env_name),
                    &|| format!("`{shown_name}`"),
                    &|| entry.value_field(),
                    rules,
                    out,
                );
                if found {
                    out.sensitive_literals.insert(env_name.to_string());
                }
            }
            if sensitive {
                out.sensitive_literals.insert(env_name.to_string());
                for policy in rules.policies.iter().filter(|p| p.is_sensitive(env_name)) {
                    out.by_policy(
                        policy,
                        finding(
                            "sensitive-literal",
                            entry.value_field(),
                            format!(
                                "`{shown_name}` is a sensitive name and must come from a secret, \
                                 not a literal value: use {EXPECTED_FORM}"
                            ),
                        ),
                    );
                }
            }
        }
        EnvValue::Malformed { problem } => out.builtin(finding(
            "secret-ref-syntax",
            entry.value_field(),
            format!(
                "malformed secret reference for `{shown_name}` ({problem}): expected {EXPECTED_FORM}"
            ),
        )),
        EnvValue::Secret(r) => check_secret_ref(entry, r, catalog, rules, out),
        EnvValue::ConfigMap { .. }
        | EnvValue::FieldRef(_)
        | EnvValue::UserCredential { .. }
        | EnvValue::Unset => {}
    }
}

/// `secret-in-args`: a secret's value reaches `command`/`args` through `$(VAR)`. A
/// warning, or the finding of each policy that sets `allowSecretsInArgs: false`.
fn secret_in_args(found: kubelet::SecretInArg, rules: &Rules, out: &mut Findings) {
    let secrets: Vec<String> = found
        .secrets
        .iter()
        .map(|s| format!("`{}`", Shown(s)))
        .collect();
    let message = format!(
        "`{}` expands secret {} into the command line, where the value ends up in the process \
         table (ps, /proc/PID/cmdline) and in anything that logs the command; let the program \
         read the environment variable instead",
        Shown(&found.field),
        secrets.join(", ")
    );
    let about = found.secrets.first().map(String::as_str);
    let f = || Finding {
        code: "secret-in-args",
        field: found.field.clone(),
        message: message.clone(),
        secret: about,
    };
    let denying: Vec<&SecretPolicy> = rules
        .policies
        .iter()
        .filter(|p| p.allow_secrets_in_args == Some(false))
        .collect();
    if denying.is_empty() {
        out.warn(f());
    }
    for policy in denying {
        out.by_policy(policy, f());
    }
}

/// `credential-literal` for what `$(VAR)` expansion assembles from literals: a token
/// split over variables, a URL whose password is another literal. The parts between
/// secrets' placeholders are checked; a variable found so is shown redacted.
fn check_expanded(
    expanded: kubelet::ExpandedText,
    rules: &Rules,
    out: &mut Findings,
    env: &mut [crate::decision::ContainerEnv],
) {
    let parts = crate::expansion::literal_parts(&expanded.text);
    let context = expanded
        .var
        .as_ref()
        .map_or(Context::default(), |(_, name)| Context::named(name));
    let detect = |c: &CredentialLiterals| parts.iter().find_map(|p| c.detect(p, context));
    let named = expanded
        .var
        .as_ref()
        .map_or(expanded.field.as_str(), |(_, name)| name.as_str());
    let what = || format!("`{}` (after $(VAR) expansion)", Shown(named));
    let found = check_credentials_with(&detect, &what, &|| expanded.field.clone(), rules, out);
    if found
        && let Some((container, name)) = &expanded.var
        && let Some(c) = env.get_mut(*container)
    {
        for var in c.vars.iter_mut().filter(|v| v.name == *name) {
            if matches!(var.source, EnvSource::Expanded(_)) {
                var.source = EnvSource::Expanded(kubelet::REDACTED.to_string());
            }
        }
    }
}

/// `credential-literal`: a literal that looks like a credential, for each policy
/// that looks for them (with its detectors and allowed values). Whether any found one.
fn check_credentials(
    value: &str,
    context: Context,
    what: &dyn Fn() -> String,
    field: &dyn Fn() -> String,
    rules: &Rules,
    out: &mut Findings,
) -> bool {
    check_credentials_with(
        &|c: &CredentialLiterals| c.detect(value, context),
        what,
        field,
        rules,
        out,
    )
}

fn check_credentials_with(
    detect: &dyn Fn(&CredentialLiterals) -> Option<crate::credentials::Detector>,
    what: &dyn Fn() -> String,
    field: &dyn Fn() -> String,
    rules: &Rules,
    out: &mut Findings,
) -> bool {
    let mut found_any = false;
    for policy in &rules.credentials {
        let Some(found) = policy.credential_literals.as_ref().and_then(detect) else {
            continue;
        };
        found_any = true;
        out.by_policy(
            policy,
            finding(
                "credential-literal",
                field(),
                format!(
                    "{} holds what looks like {} (detector {}); credentials belong in a secret \
                     ({EXPECTED_FORM}, or valueFrom.secretKeyRef); a known test value can be \
                     allowed by its SHA-256 in credentialLiterals.allowedValues",
                    what(),
                    found.what(),
                    found.name()
                ),
            ),
        );
    }
    found_any
}

const SECRET_NAME_RULE: &str = "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', \
     starting and ending with a letter or digit, at most 253 characters)";

fn check_secret_ref(
    entry: &EnvEntry,
    r: &SecretRef,
    catalog: &Catalog,
    rules: &Rules,
    out: &mut Findings,
) {
    let shown_name = Shown(entry.name.as_str());
    let name_field = || entry.secret_field("name");
    let name_ok = names::is_dns1123_subdomain(&r.name);
    if !name_ok {
        out.builtin(finding(
            "invalid-secret-name",
            name_field(),
            format!(
                "`{}` is not a valid secret name: expected {SECRET_NAME_RULE}",
                Shown(&r.name)
            ),
        ));
    }
    let key_ok = names::is_secret_key(&r.key);
    if !key_ok {
        out.builtin(finding(
            "invalid-secret-key",
            entry.secret_field("key"),
            format!(
                "`{}` is not a valid secret key: expected letters, digits, '-', '_' and '.', \
                 at most 253 characters, not `.` or `..` or starting with `..`",
                Shown(&r.key)
            ),
        ));
    }
    if !name_ok {
        return;
    }
    let reference = Reference {
        secret: &r.name,
        optional: r.optional,
        kind: SecretUseKind::Env,
    };
    check_policy_on_reference(reference, &name_field, catalog, rules, out);
    match catalog.get(&r.name) {
        None => out.missing(
            rules,
            r.optional,
            finding(
                "secret-not-found",
                name_field(),
                format!(
                    "`{shown_name}` references secret `{}`, which does not exist in namespace {}",
                    r.name, catalog.namespace
                ),
            )
            .about(&r.name),
        ),
        Some(secret) if key_ok && !secret.has_key(&r.key) => out.missing(
            rules,
            r.optional,
            finding(
                "secret-key-not-found",
                entry.secret_field("key"),
                format!(
                    "`{shown_name}` references key `{}` of secret {}/{}, which has keys [{}]",
                    r.key,
                    catalog.namespace,
                    r.name,
                    secret.keys.join(", ")
                ),
            )
            .about(&r.name),
        ),
        Some(_) => {}
    }
}

fn check_env_from(from: &EnvFrom, catalog: &Catalog, rules: &Rules, out: &mut Findings) {
    let name_field = format!("{}.secretRef.name", from.field);
    if !names::is_dns1123_subdomain(&from.secret) {
        out.builtin(finding(
            "invalid-secret-name",
            &name_field,
            format!(
                "`{}` is not a valid secret name: expected {SECRET_NAME_RULE}",
                Shown(&from.secret)
            ),
        ));
        return;
    }
    for policy in rules.policies.iter().filter(|p| !p.allow_env_from) {
        out.by_policy(
            policy,
            finding(
                "env-from-not-allowed",
                &from.field,
                format!(
                    "envFrom imports every key of secret `{}`; this policy requires each variable \
                     to name its key (env[].valueFrom.secretKeyRef)",
                    from.secret
                ),
            )
            .about(&from.secret),
        );
    }
    let reference = Reference {
        secret: &from.secret,
        optional: from.optional,
        kind: SecretUseKind::EnvFrom,
    };
    check_policy_on_reference(reference, &|| name_field.clone(), catalog, rules, out);
    if catalog.get(&from.secret).is_none() {
        out.missing(
            rules,
            from.optional,
            finding(
                "secret-not-found",
                &name_field,
                format!(
                    "envFrom references secret `{}`, which does not exist in namespace {}",
                    from.secret, catalog.namespace
                ),
            )
            .about(&from.secret),
        );
    }
}

/// allowedSecrets / deniedSecrets / allowedSecretSelector, allowedSecretUses and
/// allowOptionalReferences, for one reference. `field` is called only when there is
/// something to report.
fn check_policy_on_reference(
    reference: Reference,
    field: &dyn Fn() -> String,
    catalog: &Catalog,
    rules: &Rules,
    out: &mut Findings,
) {
    let Reference {
        secret,
        optional,
        kind,
    } = reference;
    let labels = catalog.get(secret).map(|s| s.labels.as_slice());
    for policy in rules.policies {
        if let Some(why) = policy.forbids_secret(secret, labels) {
            out.by_policy(
                policy,
                finding("secret-not-allowed", field(), why).about(secret),
            );
        }
        if !policy.allows_use(kind) {
            let allowed: Vec<&str> = policy
                .allowed_uses
                .iter()
                .flatten()
                .map(|k| k.name())
                .collect();
            out.by_policy(
                policy,
                finding(
                    "secret-use-denied",
                    field(),
                    format!(
                        "secret `{secret}` is used as {}; this policy allows secrets only as [{}]",
                        kind.name(),
                        allowed.join(", ")
                    ),
                )
                .about(secret),
            );
        }
        if optional && !policy.allow_optional_references {
            out.by_policy(
                policy,
                finding(
                    "optional-not-allowed",
                    field(),
                    format!(
                        "the reference to secret `{secret}` is optional; this policy requires \
                         references that must resolve"
                    ),
                )
                .about(secret),
            );
        }
    }
}

/// A reference to a secret, as the policy rules see it.
struct Reference<'a> {
    secret: &'a str,
    optional: bool,
    kind: SecretUseKind,
}

/// Secret volumes, projected secrets and imagePullSecrets: names, policy, existence.
fn check_secret_use(u: &SecretUse, catalog: &Catalog, rules: &Rules, out: &mut Findings) {
    if !names::is_dns1123_subdomain(&u.secret) {
        out.builtin(finding(
            "invalid-secret-name",
            &u.field,
            format!(
                "`{}` is not a valid secret name: expected {SECRET_NAME_RULE}",
                Shown(&u.secret)
            ),
        ));
        return;
    }
    for (key, field) in u.keys.iter().filter(|(k, _)| !names::is_secret_key(k)) {
        out.builtin(finding(
            "invalid-secret-key",
            field,
            format!("`{}` is not a valid secret key", Shown(key)),
        ));
    }
    let reference = Reference {
        secret: &u.secret,
        optional: u.optional,
        kind: match u.kind {
            UseKind::Volume(_) => SecretUseKind::Volume,
            UseKind::ImagePull => SecretUseKind::ImagePull,
        },
    };
    check_policy_on_reference(reference, &|| u.field.clone(), catalog, rules, out);
    let what = match &u.kind {
        UseKind::Volume(volume) => format!("volume `{}`", Shown(volume)),
        UseKind::ImagePull => "imagePullSecrets".to_string(),
    };
    let Some(secret) = catalog.get(&u.secret) else {
        let f = finding(
            "secret-not-found",
            &u.field,
            format!(
                "{what} references secret `{}`, which does not exist in namespace {}",
                u.secret, catalog.namespace
            ),
        )
        .about(&u.secret);
        match u.kind {
            // The kubelet pulls without the credentials: only a private image fails.
            UseKind::ImagePull => out.warn(Finding {
                message: format!("{}; images are pulled without these credentials", f.message),
                ..f
            }),
            UseKind::Volume(_) => out.missing(rules, u.optional, f),
        }
        return;
    };
    for (key, field) in u
        .keys
        .iter()
        .filter(|(k, _)| names::is_secret_key(k) && !secret.has_key(k))
    {
        out.missing(
            rules,
            u.optional,
            finding(
                "secret-key-not-found",
                field,
                format!(
                    "{what} projects key `{key}` of secret {}/{}, which has keys [{}]",
                    catalog.namespace,
                    u.secret,
                    secret.keys.join(", ")
                ),
            )
            .about(&u.secret),
        );
    }
}
