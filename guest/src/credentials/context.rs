//! Where a value stands: the name it is given (an env var, the `--flag` an argument
//! follows, a `NAME=` inside a command line) and whether it is the key of a
//! `wandb login`. A value without a shape of its own (a W&B key is 40 hex digits, like
//! a commit) is a credential by its context; a random-looking value is an identifier
//! when it is named as one (`GIT_SHA`, `S3_VERSION_ID`).

/// What is known of a value besides its text.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Context<'a> {
    /// The env var's name, or the `--flag` a command-line item follows.
    pub name: Option<&'a str>,
    /// The command line before the value says `wandb login` (whose positional
    /// argument is the key).
    pub wandb_login: bool,
}

impl<'a> Context<'a> {
    pub fn named(name: &'a str) -> Self {
        Context {
            name: Some(name),
            wandb_login: false,
        }
    }
}

/// What a name says of its value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Named {
    /// `WANDB_API_KEY`, `--hf-token`, `DB_PASSWORD`: a credential.
    Credential,
    /// `GIT_SHA`, `HF_REVISION`, `RUN_ID`: an identifier or a digest.
    Identifier,
    Other,
}

/// Words that make a name a credential's wherever they stand.
const CREDENTIAL_WORDS: &[&str] = &[
    "token",
    "secret",
    "password",
    "passwd",
    "pwd",
    "passphrase",
    "credential",
    "credentials",
    "creds",
    "apikey",
    "authtoken",
    "accesskey",
    "secretkey",
    "privatekey",
    "bearer",
    "auth",
    "authorization",
];

/// `KEY` is a credential after these words (`API_KEY`, `WANDB_KEY`), not after
/// others (`CACHE_KEY`, `PARTITION_KEY`, `S3_KEY`).
const KEY_OWNERS: &[&str] = &[
    "api",
    "access",
    "secret",
    "private",
    "client",
    "license",
    "wandb",
    "account",
    "master",
    "encryption",
    "signing",
    "session",
    "service",
    "app",
    "admin",
    "ingest",
    "auth",
    "sas",
    "storage",
    "subscription",
    "deploy",
    "write",
    "hmac",
    "jwt",
    "fernet",
];

/// Authentication schemes, between a header's name and its credential.
const AUTH_SCHEMES: &[&str] = &["bearer", "basic", "token", "digest"];

/// `TOKEN` after these is a language model's special token (`PAD_TOKEN=<pad>`).
const MODEL_TOKENS: &[&str] = &[
    "pad", "eos", "bos", "sep", "cls", "mask", "unk", "special", "start", "end", "stop", "max",
    "min", "num", "new",
];

/// A last word that makes the name one *about* a credential: its file, its name,
/// its length (`HF_TOKEN_PATH`, `SECRET_NAME`, `API_KEY_ID`).
const META_WORDS: &[&str] = &[
    "name",
    "names",
    "file",
    "files",
    "path",
    "dir",
    "url",
    "uri",
    "endpoint",
    "host",
    "type",
    "kind",
    "mode",
    "env",
    "var",
    "header",
    "prefix",
    "suffix",
    "length",
    "len",
    "size",
    "count",
    "limit",
    "ttl",
    "expiry",
    "expires",
    "enabled",
    "disabled",
    "required",
    "source",
    "ref",
    "id",
    "ids",
    "key",
    "keys",
    "provider",
    "method",
    "strategy",
    "scheme",
    "backend",
    "plugin",
    "server",
    "realm",
    "scope",
    "scopes",
    "issuer",
    "audience",
    "user",
    "username",
    "login",
    "email",
    "role",
    "domain",
    "version",
    "format",
    "algorithm",
    "policy",
];

/// Words of identifiers and digests.
const IDENTIFIER_WORDS: &[&str] = &[
    "sha", "sha1", "sha256", "sha512", "hash", "digest", "checksum", "revision", "rev", "commit",
    "etag", "uuid", "guid", "md5", "crc", "crc32c", "id", "ids", "version", "run",
];

fn is_in(word: &[u8], list: &[&str]) -> bool {
    list.iter().any(|w| w.as_bytes().eq_ignore_ascii_case(word))
}

/// The words of a name: split at anything not an ASCII letter or digit and where a
/// lower-case letter meets an upper-case one (`wandbApiKey`). Bytes, so that a name
/// of any characters splits without cutting one.
fn words(name: &str) -> impl Iterator<Item = &[u8]> {
    let b = name.as_bytes();
    let mut start = 0;
    let mut i = 0;
    std::iter::from_fn(move || {
        while i <= b.len() {
            let at = i;
            i += 1;
            let boundary = at == b.len()
                || !b[at].is_ascii_alphanumeric()
                || (at > start && b[at].is_ascii_uppercase() && b[at - 1].is_ascii_lowercase());
            if !boundary {
                continue;
            }
            let word = &b[start..at];
            start = if at < b.len() && b[at].is_ascii_alphanumeric() {
                at
            } else {
                at + 1
            };
            if !word.is_empty() {
                return Some(word);
            }
        }
        None
    })
}

/// What `name` says of its value. Looked at only when a value could use it.
pub fn classify(name: &str) -> Named {
    let (mut credential, mut identifier) = (false, false);
    let (mut prev, mut last): (&[u8], &[u8]) = (b"", b"");
    for word in words(name) {
        let named_key = word.eq_ignore_ascii_case(b"key") && is_in(prev, KEY_OWNERS);
        let model_token = word.eq_ignore_ascii_case(b"token") && is_in(prev, MODEL_TOKENS);
        if named_key || (is_in(word, CREDENTIAL_WORDS) && !model_token) {
            credential = true;
        }
        if is_in(word, IDENTIFIER_WORDS) {
            identifier = true;
        }
        prev = word;
        last = word;
    }
    // `API_KEY` ends with `key` and is a credential; `API_KEY_FILE` is not.
    let about = is_in(last, META_WORDS) && !(last.eq_ignore_ascii_case(b"key") && credential);
    match (credential, identifier) {
        (true, false) if !about => Named::Credential,
        (false, true) => Named::Identifier,
        _ => Named::Other,
    }
}

/// A command line read item by item (a container's `command` and `args`): the
/// context each item stands in. An item may itself be a command line
/// (`bash -c "wandb login KEY && ..."`, a Run:ai workload's `command`).
#[derive(Debug, Default)]
pub struct CommandLine<'a> {
    /// The `--flag` (or `NAME=`) the next word is the value of.
    flag: Option<&'a str>,
    wandb: bool,
    login: bool,
}

impl<'a> CommandLine<'a> {
    /// The context of `item`, which then becomes part of the line.
    pub fn next(&mut self, item: &'a str) -> Context<'a> {
        let context = self.context();
        self.read(item, |_, _| false);
        context
    }

    fn context(&self) -> Context<'a> {
        Context {
            name: self.flag,
            wandb_login: self.wandb && self.login,
        }
    }

    /// Reads `text` word by word; `found(word, context)` is asked about each value
    /// that stands in a context (after a flag or `NAME=`, after `wandb login`), and
    /// whether it is a credential: the first yes ends the reading.
    fn read(&mut self, text: &'a str, mut found: impl FnMut(&'a str, Context<'a>) -> bool) -> bool {
        let mut prev = None;
        for word in shell_words(text) {
            let Word::Text(word) = word else {
                *self = CommandLine::default();
                prev = None;
                continue;
            };
            let context = self.context();
            if (context.name.is_some() || context.wandb_login) && found(word, context) {
                return true;
            }
            let before = prev.replace(word);
            // `Authorization: Bearer TOKEN`: the scheme stands between name and value.
            if context.name.is_some() && is_in(word.as_bytes(), AUTH_SCHEMES) {
                continue;
            }
            self.flag = None;
            // A JSON or YAML key: `"api_key": "..."` (the quotes split it from its
            // colon), `api_key: ...`.
            if word == ":" || word == "=" {
                self.flag = before.map(|n| n.trim_start_matches('-'));
                continue;
            }
            if let Some(name) = word.strip_suffix(':').filter(|n| !n.is_empty()) {
                self.flag = Some(name.trim_start_matches('-'));
                continue;
            }
            if let Some((name, value)) = word.split_once('=') {
                let name = name.trim_start_matches('-');
                if value.is_empty() {
                    self.flag = Some(name);
                } else if !name.is_empty() && found(value, Context::named(name)) {
                    return true;
                }
                continue;
            }
            let command = word.rsplit('/').next().unwrap_or(word);
            if command == "wandb" {
                self.wandb = true;
            } else if command == "wandb.login" || (self.wandb && command == "login") {
                self.wandb = true;
                self.login = true;
            } else if word.len() > 1 && word.starts_with('-') {
                self.flag = Some(word.trim_start_matches('-'));
            } else if word == "password" {
                // A `.netrc` line: `machine api.wandb.ai login user password KEY`.
                self.flag = Some(word);
            }
        }
        false
    }
}

/// Whether a value of `text` stands in a context (`NAME=VALUE`, `--flag VALUE`,
/// `wandb login KEY`) where `found` says it is a credential. Only a text with a byte
/// its words split at, `=` or `:` can have one (the caller's `Shape` tells).
pub fn in_text<'a>(text: &'a str, found: impl FnMut(&'a str, Context<'a>) -> bool) -> bool {
    CommandLine::default().read(text, found)
}

enum Word<'a> {
    Text(&'a str),
    /// `;`, `&&`, `|`, a new line: a new command starts.
    Separator,
}

/// Where a command line's words split: white space, quotes, brackets, commas and the
/// bytes that separate commands. `Shape` reads the same bytes, so that a text is read
/// for words exactly when it has some.
pub const fn splits_words(c: u8) -> bool {
    c.is_ascii_whitespace()
        || matches!(
            c,
            b'"' | b'\'' | b'`' | b'(' | b')' | b'[' | b']' | b',' | b';' | b'&' | b'|'
        )
}

/// Words split at white space, quotes, parentheses and commas; `;`, `&` and `|` and
/// new lines separate commands.
fn shell_words(text: &str) -> impl Iterator<Item = Word<'_>> {
    let b = text.as_bytes();
    let mut i = 0;
    std::iter::from_fn(move || {
        while i < b.len() {
            let c = b[i];
            if matches!(c, b';' | b'&' | b'|' | b'\n') {
                i += 1;
                return Some(Word::Separator);
            }
            if splits_words(c) {
                i += 1;
                continue;
            }
            let start = i;
            while i < b.len() && !splits_words(b[i]) {
                i += 1;
            }
            return Some(Word::Text(&text[start..i]));
        }
        None
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_say_what_their_values_are() {
        let cases = [
            ("WANDB_API_KEY", Named::Credential),
            ("wandbApiKey", Named::Credential),
            ("WANDB_KEY", Named::Credential),
            ("api-key", Named::Credential),
            ("HF_TOKEN", Named::Credential),
            ("hf-token", Named::Credential),
            ("DB_PASSWORD", Named::Credential),
            ("SECRET_KEY", Named::Credential),
            ("REGISTRY_AUTH", Named::Credential),
            ("HF_TOKEN_PATH", Named::Other),
            ("SECRET_NAME", Named::Other),
            ("API_KEY_ID", Named::Other),
            ("PAD_TOKEN", Named::Other),
            ("MAX_NEW_TOKENS", Named::Other),
            ("TOKENIZER", Named::Other),
            ("CACHE_KEY", Named::Other),
            ("KEY", Named::Other),
            ("GIT_SHA", Named::Identifier),
            ("HF_REVISION", Named::Identifier),
            ("WANDB_RUN_ID", Named::Identifier),
            ("commitSha", Named::Identifier),
            ("MODEL_NAME", Named::Other),
            ("AUTH_PROVIDER", Named::Other),
            // Any characters: split without cutting one.
            ("ключ_API_KEY", Named::Credential),
            ("clé\u{e9}API", Named::Other),
            ("Ä", Named::Other),
        ];
        for (name, want) in cases {
            assert_eq!(classify(name), want, "{name}");
        }
    }

    #[test]
    fn command_lines_give_their_items_a_context() {
        let mut line = CommandLine::default();
        let items = [
            "wandb",
            "login",
            "--relogin",
            "KEY",
            "&&",
            "python",
            "--api-key",
            "K2",
        ];
        let contexts: Vec<Context> = items.iter().map(|i| line.next(i)).collect();
        assert!(contexts[3].wandb_login);
        assert_eq!(contexts[3].name, Some("relogin"));
        assert!(!contexts[5].wandb_login, "`&&` starts a new command");
        assert_eq!(contexts[7].name, Some("api-key"));

        let mut seen = Vec::new();
        in_text(
            "run --hf-token D -- bash -c 'WANDB_API_KEY=A python t.py --token=B; wandb login C'",
            |v, c| {
                seen.push((v, c.name, c.wandb_login));
                false
            },
        );
        assert!(seen.contains(&("A", Some("WANDB_API_KEY"), false)));
        assert!(seen.contains(&("B", Some("token"), false)));
        assert!(seen.contains(&("C", None, true)));
        assert!(seen.contains(&("D", Some("hf-token"), false)));

        let mut seen = Vec::new();
        in_text(
            r#"{"api_key": "A"} wandb_key: B Authorization: Bearer C"#,
            |v, c| {
                seen.push((v, c.name));
                false
            },
        );
        assert!(seen.contains(&("A", Some("api_key"))), "{seen:?}");
        assert!(seen.contains(&("B", Some("wandb_key"))), "{seen:?}");
        assert!(seen.contains(&("C", Some("Authorization"))), "{seen:?}");
    }
}
