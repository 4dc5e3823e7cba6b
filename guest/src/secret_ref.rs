//! The `SECRET:<secret-name>,<secret-key>` grammar (SPEC §2.1).

pub const PREFIX: &str = "SECRET:";
pub const EXPECTED_FORM: &str = "SECRET:<secret-name>,<secret-key>";

/// What a string env value means.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Parsed<'a> {
    /// A plain value.
    Literal,
    /// Starts with `secret:` in another case: still a literal, worth a warning.
    LiteralWithSecretLikePrefix,
    Reference {
        name: &'a str,
        key: &'a str,
    },
    /// Starts with `SECRET:` but is not of the expected form; says what is wrong.
    Malformed(&'static str),
}

pub fn parse(value: &str) -> Parsed<'_> {
    let Some(rest) = value.strip_prefix(PREFIX) else {
        let looks_like = value
            .get(..PREFIX.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(PREFIX));
        return if looks_like {
            Parsed::LiteralWithSecretLikePrefix
        } else {
            Parsed::Literal
        };
    };
    let mut parts = rest.split(',');
    let (Some(name), Some(key)) = (parts.next(), parts.next()) else {
        return Parsed::Malformed("missing ',' between the secret name and the key");
    };
    if parts.next().is_some() {
        return Parsed::Malformed("more than one ','");
    }
    if name.is_empty() {
        return Parsed::Malformed("the secret name is empty");
    }
    if key.is_empty() {
        return Parsed::Malformed("the secret key is empty");
    }
    if name.trim() != name || key.trim() != key {
        return Parsed::Malformed("whitespace around the secret name or key");
    }
    Parsed::Reference { name, key }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grammar() {
        let cases: &[(&str, Parsed)] = &[
            (
                "SECRET:my-secret,username",
                Parsed::Reference {
                    name: "my-secret",
                    key: "username",
                },
            ),
            ("plain", Parsed::Literal),
            ("", Parsed::Literal),
            ("SECRE", Parsed::Literal),
            ("secret:a,b", Parsed::LiteralWithSecretLikePrefix),
            ("Secret:a,b", Parsed::LiteralWithSecretLikePrefix),
            (
                "SECRET:a",
                Parsed::Malformed("missing ',' between the secret name and the key"),
            ),
            (
                "SECRET:",
                Parsed::Malformed("missing ',' between the secret name and the key"),
            ),
            ("SECRET:a,b,c", Parsed::Malformed("more than one ','")),
            ("SECRET:,k", Parsed::Malformed("the secret name is empty")),
            ("SECRET:a,", Parsed::Malformed("the secret key is empty")),
            (
                "SECRET: a, b",
                Parsed::Malformed("whitespace around the secret name or key"),
            ),
            (
                "SECRET:a ,b",
                Parsed::Malformed("whitespace around the secret name or key"),
            ),
        ];
        for (input, want) in cases {
            assert_eq!(&parse(input), want, "{input:?}");
        }
    }
}
