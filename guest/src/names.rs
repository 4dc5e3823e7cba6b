//! Kubernetes name rules for secret names, secret keys and env var names (SPEC §2.2).

/// A DNS-1123 subdomain: lower-case alphanumeric labels joined by `.`, inner `-`, at most 253.
pub fn is_dns1123_subdomain(name: &str) -> bool {
    name.len() <= 253 && !name.is_empty() && name.split('.').all(is_dns_label_body)
}

/// A DNS-1123 label (project names): like a subdomain label, at most 63.
pub fn is_dns1123_label(name: &str) -> bool {
    name.len() <= 63 && is_dns_label_body(name)
}

fn is_dns_label_body(label: &str) -> bool {
    let bytes = label.as_bytes();
    let alnum = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    match (bytes.first(), bytes.last()) {
        (Some(first), Some(last)) => {
            alnum(first) && alnum(last) && bytes.iter().all(|b| alnum(b) || *b == b'-')
        }
        _ => false,
    }
}

/// A key of a Secret's `data`: `[-._a-zA-Z0-9]+`, at most 253, not `.`, `..` or `..*`.
pub fn is_secret_key(key: &str) -> bool {
    !key.is_empty()
        && key.len() <= 253
        && key != "."
        && !key.starts_with("..")
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
}

/// Whether a name holds a template placeholder (`rayjob-${JOB_ID}`, `{{ .Release.Name }}`):
/// the file is an envsubst or Helm template, filled in before it is applied. Such a name
/// is a finding (`invalid-name`) rather than an input error, so the rest of the template
/// is still checked.
pub fn has_placeholder(name: &str) -> bool {
    let closed = |open: &str, close: &str| {
        name.find(open)
            .is_some_and(|at| name[at + open.len()..].contains(close))
    };
    closed("${", "}") || closed("{{", "}}")
}

/// Why the API server would refuse `name` for an object of `kind`, if it would. Run:ai
/// workloads name the pods, services and labels made for them, so their names are
/// DNS-1123 labels; a Job's name becomes a label value (63); a CronJob's gets an
/// 11-character suffix for its Jobs (52); other objects take a DNS-1123 subdomain.
pub fn object_name_problem(kind: &str, name: &str) -> Option<String> {
    let (max, label) = match kind {
        "TrainingWorkload"
        | "InteractiveWorkload"
        | "DistributedWorkload"
        | "InferenceWorkload"
        | "TrainingCreationRequest" => (63, true),
        "CronJob" => (52, false),
        "Job" => (63, false),
        _ => (253, false),
    };
    let valid = name.len() <= max
        && if label {
            is_dns1123_label(name)
        } else {
            is_dns1123_subdomain(name)
        };
    let rule = if label {
        "a DNS-1123 label (lower-case letters, digits and '-', starting and ending with a letter or digit)"
    } else {
        "a DNS-1123 subdomain (lower-case letters, digits, '-' and '.', starting and ending with a letter or digit)"
    };
    (!valid).then(|| {
        format!(
            "`{}` is not a valid {kind} name: expected {rule}, at most {max} characters",
            crate::shown::Shown(name)
        )
    })
}

/// How env var names are validated: Kubernetes 1.34+ relaxed by default.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum EnvNameValidation {
    Strict,
    #[default]
    Relaxed,
}

impl EnvNameValidation {
    pub fn is_valid(self, name: &str) -> bool {
        match self {
            EnvNameValidation::Strict => {
                let mut bytes = name.bytes();
                bytes
                    .next()
                    .is_some_and(|b| b.is_ascii_alphabetic() || matches!(b, b'-' | b'.' | b'_'))
                    && bytes.all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_'))
            }
            EnvNameValidation::Relaxed => {
                !name.is_empty()
                    && name
                        .bytes()
                        .all(|b| (b' '..=b'~').contains(&b) && b != b'=')
            }
        }
    }

    pub fn expected(self) -> &'static str {
        match self {
            EnvNameValidation::Strict => {
                "a C identifier-like name: letters, digits, '-', '.', '_', not starting with a digit"
            }
            EnvNameValidation::Relaxed => "printable ASCII characters other than '='",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subdomains() {
        for ok in ["a", "my-secret", "db.prod", "a1", "0abc", &"a".repeat(253)] {
            assert!(is_dns1123_subdomain(ok), "{ok}");
        }
        for bad in ["", "My", "-a", "a-", "a..b", "a_b", ".a", &"a".repeat(254)] {
            assert!(!is_dns1123_subdomain(bad), "{bad}");
        }
    }

    #[test]
    fn template_placeholders() {
        for name in [
            "rayjob-${JOB_ID}",
            "${NAME:-vllm}",
            "{{ .Release.Name }}-worker",
            "a-{{x}}",
        ] {
            assert!(has_placeholder(name), "{name}");
        }
        for name in ["Bad_Name!", "train-$JOB_ID", "a-${open", "x}}{{y", "web-1"] {
            assert!(!has_placeholder(name), "{name}");
        }
    }

    #[test]
    fn object_names_per_kind() {
        // (kind, name, accepted)
        let cases = [
            ("Pod", "web-1.a", true),
            ("Pod", "Bad_Name!", false),
            ("Pod", "", false),
            ("TrainingWorkload", "train1", true),
            ("TrainingWorkload", "train.1", false),
            ("CronJob", &"c".repeat(52), true),
            ("CronJob", &"c".repeat(53), false),
            ("Job", &"j".repeat(64), false),
            ("Deployment", &"d".repeat(253), true),
        ];
        for (kind, name, ok) in cases {
            assert_eq!(
                object_name_problem(kind, name).is_none(),
                ok,
                "{kind} {name}"
            );
        }
        let long = object_name_problem("Pod", &"a".repeat(100_000)).unwrap();
        assert!(long.len() < 400, "bounded: {}", long.len());
    }

    #[test]
    fn keys() {
        for ok in ["username", ".dockerconfigjson", "a.b", "A_B-c", "tls.crt"] {
            assert!(is_secret_key(ok), "{ok}");
        }
        for bad in ["", ".", "..", "..a", "a/b", "a b", &"k".repeat(254)] {
            assert!(!is_secret_key(bad), "{bad}");
        }
    }

    #[test]
    fn env_names() {
        use EnvNameValidation::*;
        assert!(Strict.is_valid("MY_VAR.x-1"));
        assert!(!Strict.is_valid("1VAR"));
        assert!(!Strict.is_valid("MY VAR"));
        assert!(Relaxed.is_valid("1VAR"));
        assert!(Relaxed.is_valid("MY VAR:x"));
        assert!(!Relaxed.is_valid("A=B"));
        assert!(!Relaxed.is_valid(""));
        assert!(!Relaxed.is_valid("A\tB"));
        assert!(!Relaxed.is_valid("Ä"));
    }
}
