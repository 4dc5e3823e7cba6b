//! Applying Run:ai environment rules to a workload: inject the defaults it lacks (and
//! record each as an RFC 6902 operation on the submitted document), then check the
//! item and map rules against the effective environment.

use crate::by_name;
use crate::decision::Violation;
use crate::patch::Patch;
use crate::policy::env_rules::{DefaultValue, EnvRules};
use crate::workload::{EnvEntry, EnvLayout, EnvValue, SecretRef, Workload};

fn env_value(value: &DefaultValue) -> EnvValue {
    match value {
        DefaultValue::Literal(v) => EnvValue::Literal {
            value: v.clone(),
            secret_like_prefix: false,
        },
        DefaultValue::Secret { name, key } => EnvValue::Secret(SecretRef {
            name: name.clone(),
            key: key.clone(),
            optional: false,
        }),
        DefaultValue::ConfigMap { name, key } => EnvValue::ConfigMap {
            name: name.clone(),
            key: key.clone(),
        },
        DefaultValue::FieldRef(path) => EnvValue::FieldRef(path.clone()),
        DefaultValue::UserCredential { name, key } => EnvValue::UserCredential {
            name: name.clone(),
            key: key.clone(),
        },
    }
}

/// Whether the workload's own value is the policy's default.
fn same_value(entry: &EnvValue, default: &DefaultValue) -> bool {
    match (entry, default) {
        (EnvValue::Literal { value, .. }, DefaultValue::Literal(d)) => value == d,
        (EnvValue::Secret(r), DefaultValue::Secret { name, key }) => {
            r.name == *name && r.key == *key
        }
        (EnvValue::ConfigMap { name, key }, DefaultValue::ConfigMap { name: n, key: k }) => {
            name == n && key == k
        }
        (EnvValue::FieldRef(p), DefaultValue::FieldRef(d)) => p == d,
        (
            EnvValue::UserCredential { name, key },
            DefaultValue::UserCredential { name: n, key: k },
        ) => name == n && key == k,
        _ => false,
    }
}

fn violation(code: &str, field: String, message: String, policy: &str) -> Violation {
    Violation {
        code: code.to_string(),
        field,
        message,
        policy: policy.to_string(),
        secret: None,
    }
}

/// Name lookups in `apply`: a policy names a few variables and scanning is then
/// cheapest; past this many comparisons a map built once keeps the work linear, so a
/// legitimate large submission does not spend its instruction budget here.
const SCAN_LIMIT: usize = 4096;

/// The first of a policy's items by name: scanned while the lookups times the items
/// stay under [`SCAN_LIMIT`], from a map built once beyond that.
struct FirstByName<'a, T> {
    items: &'a [T],
    name: fn(&T) -> &str,
    map: Option<by_name::Map<&'a str, &'a T>>,
}

impl<'a, T> FirstByName<'a, T> {
    fn new(items: &'a [T], name: fn(&T) -> &str, lookups: usize) -> Self {
        let map = (lookups.saturating_mul(items.len()) > SCAN_LIMIT).then(|| {
            let mut map = by_name::map_with_capacity(items.len());
            for item in items {
                map.entry(name(item)).or_insert(item);
            }
            map
        });
        FirstByName { items, name, map }
    }

    fn get(&self, key: &str) -> Option<&'a T> {
        match &self.map {
            Some(map) => map.get(key).copied(),
            None => self.items.iter().find(|item| (self.name)(item) == key),
        }
    }
}

/// Where the workload's first entry of each name the rules ask about is.
enum FirstEntries<'r> {
    Scan,
    Mapped(by_name::Map<&'r str, Option<usize>>),
}

impl<'r> FirstEntries<'r> {
    fn new(env: &[EnvEntry], rules: &'r EnvRules) -> Self {
        let asked = rules.defaults.len() + rules.items.len();
        if asked.saturating_mul(env.len()) <= SCAN_LIMIT {
            return FirstEntries::Scan;
        }
        let mut first = by_name::map_with_capacity(asked);
        let names = rules.defaults.iter().map(|d| &d.name);
        for name in names.chain(rules.items.iter().map(|r| &r.name)) {
            first.insert(name.as_str(), None);
        }
        for (i, e) in env.iter().enumerate() {
            if let Some(slot @ None) = first.get_mut(e.name.as_str()) {
                *slot = Some(i);
            }
        }
        FirstEntries::Mapped(first)
    }

    fn get(&self, env: &[EnvEntry], name: &str) -> Option<usize> {
        match self {
            FirstEntries::Scan => env.iter().position(|e| e.name == name),
            FirstEntries::Mapped(first) => first.get(name).copied().flatten(),
        }
    }

    /// Records that `env[index]`, named `name`, was just added.
    fn added(&mut self, name: &'r str, index: usize) {
        if let FirstEntries::Mapped(first) = self {
            first.insert(name, Some(index));
        }
    }
}

/// Applies one set of rules to the workload's (single) Run:ai container.
pub fn apply(
    workload: &mut Workload,
    rules: &EnvRules,
    patch: &mut Patch,
    out: &mut Vec<Violation>,
) {
    let Some(container) = workload.containers.first_mut() else {
        return;
    };
    let env_field = match workload.layout {
        EnvLayout::RunaiApi { .. } => "spec.environmentVariables",
        _ => "spec.environment.items",
    };
    let mut first_entry = FirstEntries::new(&container.env, rules);
    let default_of = FirstByName::new(&rules.defaults, |d| &d.name, rules.items.len());
    for default in &rules.defaults {
        if first_entry.get(&container.env, &default.name).is_some() {
            continue;
        }
        first_entry.added(&default.name, container.env.len());
        let loc = patch.inject(&default.name, &default.value);
        container.env.push(EnvEntry {
            name: default.name.clone(),
            loc,
            value: env_value(&default.value),
            excluded: false,
            sources: Vec::new(),
            origin: Some(default.policy.clone()),
        });
    }
    for rule in &rules.items {
        let entry = first_entry
            .get(&container.env, &rule.name)
            .map(|i| &container.env[i]);
        let default = default_of.get(&rule.name);
        match entry {
            Some(e) if e.excluded && rule.cannot_remove => out.push(violation(
                "policy-cannot-remove",
                format!("{}.exclude", e.field()),
                format!(
                    "`{}` may not be excluded: {} requires it",
                    rule.name, rule.policy
                ),
                &rule.policy,
            )),
            Some(e) if !e.excluded && e.origin.is_none() && rule.locked => {
                let changed = default.is_none_or(|d| !same_value(&e.value, &d.value));
                if changed {
                    let field = match workload.layout {
                        EnvLayout::RunaiCrd { .. } => e.value_field(),
                        _ => e.field(),
                    };
                    out.push(violation(
                        "policy-locked",
                        field,
                        format!(
                            "`{}` is locked by {}: the workload may not set {}",
                            rule.name,
                            rule.policy,
                            if default.is_some() {
                                "a value other than the policy's"
                            } else {
                                "it"
                            }
                        ),
                        &rule.policy,
                    ));
                }
            }
            _ => {}
        }
        let present = entry.is_some_and(|e| !e.excluded && e.value != EnvValue::Unset);
        if rule.required && !present {
            out.push(violation(
                "policy-required",
                entry.map_or_else(|| env_field.to_string(), EnvEntry::field),
                format!(
                    "`{}` is required by {} but the workload does not set it",
                    rule.name, rule.policy
                ),
                &rule.policy,
            ));
        }
    }
    if let Some(can_add) = rules.can_add.as_ref().filter(|c| !c.allowed) {
        let listed = FirstByName::new(&can_add.listed, String::as_str, container.env.len());
        for e in container
            .env
            .iter()
            .filter(|e| e.origin.is_none() && !e.excluded)
        {
            if listed.get(&e.name).is_none() {
                out.push(violation(
                    "policy-cannot-add",
                    e.name_field(),
                    format!(
                        "`{}` is not among the variables {} lists [{}], and it does not allow adding others",
                        e.name,
                        can_add.policy,
                        can_add.listed.join(", ")
                    ),
                    &can_add.policy,
                ));
            }
        }
    }
    if let Some(policy) = &rules.env_required
        && !container
            .env
            .iter()
            .any(|e| !e.excluded && e.value != EnvValue::Unset)
    {
        out.push(violation(
            "policy-required",
            env_field.to_string(),
            format!("{policy} requires at least one environment variable"),
            policy,
        ));
    }
}
