//! The workloads that exist (SPEC §11): what the audit and the secret removal guard
//! need of each, and nothing more. A record holds the workload's identity, its owner
//! (a Pod owned by a controller is reported once, on its owner, as Kyverno does), each
//! reference to a secret and the last decision's findings: never an env value, never
//! the object. The index answers "who references this secret (or key)" without a
//! scan, for a Secret DELETE review and for re-auditing only what a change touches.

pub mod name;
pub mod record;

pub use name::Name;
pub use record::{Finding, Key, Outcome, Record, Reference};

use crate::plugin::SecretUser;
use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};

/// Every recorded workload, and who references which secret.
#[derive(Debug, Default, Clone)]
pub struct Index {
    records: BTreeMap<Key, Record>,
    /// (namespace, secret) -> the workloads that reference it.
    users: HashMap<(Name, Name), BTreeSet<Key>>,
    /// Every name the records hold, once (see `Name`).
    names: HashSet<Name>,
    /// The interner's size after its last sweep of names no record holds.
    swept_at: usize,
}

impl Index {
    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    fn intern(&mut self, name: &mut Name) {
        match self.names.get(name.as_str()) {
            Some(held) => *name = held.clone(),
            None => {
                self.names.insert(name.clone());
            }
        }
    }

    fn intern_key(&mut self, key: &mut Key) {
        self.intern(&mut key.namespace);
        self.intern(&mut key.kind);
    }

    /// Adds or replaces a workload's record.
    pub fn upsert(&mut self, mut record: Record) {
        self.remove(&record.key.clone());
        self.intern_key(&mut record.key);
        if let Some(owner) = &mut record.owner {
            self.intern_key(owner);
            self.intern(&mut owner.name);
        }
        for r in &mut record.references {
            self.intern(&mut r.secret);
            if let Some(key) = &mut r.key {
                self.intern(key);
            }
            self.intern(&mut r.container);
            self.intern(&mut r.field);
        }
        for secret in record.secrets() {
            self.users
                .entry((record.key.namespace.clone(), secret.clone()))
                .or_default()
                .insert(record.key.clone());
        }
        self.records.insert(record.key.clone(), record);
        // Names no record holds any more go when the interner has doubled.
        if self.names.len() > 2 * self.swept_at.max(1024) {
            self.names.retain(|n| !n.unused());
            self.swept_at = self.names.len();
        }
    }

    pub fn remove(&mut self, key: &Key) -> Option<Record> {
        let old = self.records.remove(key)?;
        for secret in old.secrets() {
            let slot = (key.namespace.clone(), secret.clone());
            if let Some(set) = self.users.get_mut(&slot) {
                set.remove(key);
                if set.is_empty() {
                    self.users.remove(&slot);
                }
            }
        }
        Some(old)
    }

    pub fn get(&self, key: &Key) -> Option<&Record> {
        self.records.get(key)
    }

    pub fn records(&self) -> impl Iterator<Item = &Record> {
        self.records.values()
    }

    pub fn in_namespace<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        // Keys sort by namespace first: a namespace's records are one range.
        let from = Key::new("", namespace, "");
        self.records
            .range(from..)
            .map(|(_, r)| r)
            .take_while(move |r| r.key.namespace == namespace)
    }

    /// Whether `record` is reported, counted and named as itself: a controller's pod is
    /// its controller's (as Kyverno reports it), unless that controller is not read (a
    /// kind the audit does not list), when the pod stands for itself. One rule for the
    /// reports, the findings metrics and the removal guard.
    pub fn reported_itself(&self, record: &Record) -> bool {
        record
            .owner
            .as_ref()
            .is_none_or(|o| !self.records.contains_key(o))
    }

    /// The records of `namespace` reported as themselves (`reported_itself`).
    pub fn reported_in<'a>(&'a self, namespace: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.in_namespace(namespace)
            .filter(|r| self.reported_itself(r))
    }

    /// The workloads of `namespace` that reference `secret`.
    pub fn users_of<'a>(
        &'a self,
        namespace: &str,
        secret: &str,
    ) -> impl Iterator<Item = &'a Record> + 'a {
        self.users
            .get(&(Name::from(namespace), Name::from(secret)))
            .into_iter()
            .flatten()
            .filter_map(|k| self.records.get(k))
    }

    /// Every reference to `secret` in `namespaces`, as the plugin's `check-removal`
    /// takes them: one per reference, the workload as `Kind name`.
    pub fn secret_users<'a>(
        &self,
        namespaces: impl IntoIterator<Item = &'a str>,
        secret: &str,
    ) -> Vec<SecretUser> {
        let mut out = Vec::new();
        for namespace in namespaces {
            for record in self.users_of(namespace, secret) {
                if !self.reported_itself(record) {
                    continue;
                }
                for r in record.references.iter().filter(|r| r.secret == secret) {
                    out.push(SecretUser {
                        namespace: record.key.namespace.to_string(),
                        workload: record.key.shown(),
                        reference: r.to_wit(),
                    });
                }
            }
        }
        out
    }

    /// The workloads of a namespace that reference any of `secrets` (after a change
    /// of those secrets, only these need evaluating again).
    pub fn touched_by<'a>(
        &self,
        namespace: &str,
        secrets: impl IntoIterator<Item = &'a str>,
    ) -> BTreeSet<Key> {
        secrets
            .into_iter()
            .flat_map(|s| {
                self.users
                    .get(&(Name::from(namespace), Name::from(s)))
                    .into_iter()
                    .flatten()
                    .cloned()
            })
            .collect()
    }

    /// Records by namespace, for one report per namespace.
    /// The records reported as themselves (`reported_itself`), by namespace.
    pub fn by_namespace(&self) -> BTreeMap<&str, Vec<&Record>> {
        let mut out: BTreeMap<&str, Vec<&Record>> = BTreeMap::new();
        for r in self.records.values().filter(|r| self.reported_itself(r)) {
            out.entry(r.key.namespace.as_str()).or_default().push(r);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use record::Use;

    fn record(ns: &str, name: &str, refs: &[(&str, Option<&str>)]) -> Record {
        Record {
            key: Key::new("Pod", ns, name),
            owner: None,
            references: refs
                .iter()
                .map(|(secret, key)| Reference {
                    secret: Name::from(*secret),
                    key: key.map(Name::from),
                    kind: if key.is_some() {
                        Use::Env
                    } else {
                        Use::EnvFrom
                    },
                    container: "c".into(),
                    field: "f".into(),
                    optional: false,
                })
                .collect(),
            findings: Vec::new(),
        }
    }

    #[test]
    fn the_index_follows_upserts_and_removals() {
        let mut index = Index::default();
        index.upsert(record(
            "a",
            "p1",
            &[("db", Some("password")), ("db", Some("user"))],
        ));
        index.upsert(record("a", "p2", &[("db", None), ("hf", Some("token"))]));
        index.upsert(record("b", "p3", &[("db", Some("password"))]));
        let users = |index: &Index, ns: &str, s: &str| -> Vec<String> {
            index
                .users_of(ns, s)
                .map(|r| r.key.name.to_string())
                .collect()
        };
        assert_eq!(users(&index, "a", "db"), ["p1", "p2"]);
        assert_eq!(users(&index, "b", "db"), ["p3"]);
        assert_eq!(index.secret_users(["a"], "db").len(), 3);
        // Replaced without the old references; removed without a trace.
        index.upsert(record("a", "p1", &[("hf", Some("token"))]));
        assert_eq!(users(&index, "a", "db"), ["p2"]);
        assert_eq!(users(&index, "a", "hf"), ["p1", "p2"]);
        index.remove(&Key::new("Pod", "a", "p2"));
        assert_eq!(users(&index, "a", "db"), Vec::<String>::new());
        assert_eq!(index.touched_by("a", ["hf", "db"]).len(), 1);
        assert!(
            !index
                .users
                .contains_key(&(Name::from("a"), Name::from("db")))
        );
        assert_eq!(index.len(), 2);
    }

    #[test]
    fn names_are_held_once_and_go_with_their_records() {
        let mut index = Index::default();
        // A window of 10 workloads, each reading a secret of its own, sliding over 5,000.
        for i in 0..5000 {
            index.upsert(record(
                "team-a",
                &format!("w{i}"),
                &[(&format!("s{i}"), Some("k"))],
            ));
            if i >= 10 {
                index.remove(&Key::new("Pod", "team-a", &format!("w{}", i - 10)));
            }
        }
        assert_eq!(index.len(), 10);
        // Never more than twice the names in use since the last sweep, not 5,000.
        assert!(index.names.len() <= 2 * 1024 + 1, "{}", index.names.len());
        // One namespace string, shared by every record and the map of users.
        let shared: Vec<*const u8> = index.records().map(|r| r.key.namespace.as_ptr()).collect();
        assert!(shared.windows(2).all(|w| w[0] == w[1]));
        assert_eq!(index.in_namespace("team-a").count(), 10);
        assert_eq!(index.in_namespace("team").count(), 0);
    }
}
