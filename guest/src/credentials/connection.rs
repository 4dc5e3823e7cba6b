//! Passwords written into addresses: `scheme://user:password@host`, and the
//! password parameters of JDBC URLs and connection strings
//! (`jdbc:postgresql://db/x?user=app&password=...`, `jdbc:sqlserver://db;password=...`,
//! `jdbc:oracle:thin:app/...@db:1521/x`, ODBC's `Pwd=...`, libpq's `password=...`).
//! A password that is a `$(VAR)` reference (expanded from a secret by the kubelet: the
//! right way), a shell or template variable or a placeholder is not one.

/// `scheme://user:password@host` with a password that is not a reference or a
/// placeholder.
pub fn url_password(s: &str) -> bool {
    let mut from = 0;
    while let Some(at) = s[from..].find("://") {
        let start = from + at + 3;
        let authority_end = s[start..]
            .find(['/', '?', '#', ' '])
            .map_or(s.len(), |e| start + e);
        let authority = &s[start..authority_end];
        if let Some(userinfo_end) = authority.rfind('@') {
            let userinfo = &authority[..userinfo_end];
            if let Some((_, password)) = userinfo.split_once(':')
                && !placeholder(password)
            {
                return true;
            }
        }
        from = start;
    }
    false
}

/// Parameter names that hold a password, compared case-insensitively.
const PASSWORD_KEYS: &[&[u8]] = &[b"password=", b"passwd=", b"pwd="];

/// A password parameter (`password=`, `passwd=`, `pwd=`, any case) that starts the
/// text or follows `?`, `&`, `;`, `:`, `(`, white space or the rest of a name (`.`,
/// `_`, `-`: `spring.datasource.password=`, `DB_PASSWORD=`), with a value that is not a
/// reference, a placeholder or a switch's; or an Oracle thin URL's `user/password@`.
pub fn connection_password(s: &str) -> bool {
    let b = s.as_bytes();
    let parameter = (0..b.len()).any(|i| {
        matches!(b[i], b'p' | b'P')
            && (i == 0
                || matches!(
                    b[i - 1],
                    b'?' | b'&'
                        | b';'
                        | b':'
                        | b'('
                        | b' '
                        | b'\t'
                        | b'\n'
                        | b'\r'
                        // The last word of a name (`spring.datasource.password=`,
                        // `DB_PASSWORD=` on a command line).
                        | b'.'
                        | b'_'
                        | b'-'
                ))
            && PASSWORD_KEYS.iter().any(|key| {
                b.len() > i + key.len() && b[i..i + key.len()].eq_ignore_ascii_case(key) && {
                    let value = value_at(&s[i + key.len()..]);
                    !placeholder(value) && !setting(value)
                }
            })
    });
    parameter || oracle_thin(s)
}

/// How much of a value is looked at: whether it is a placeholder shows at its start,
/// and a bound keeps a value of many parameters (`(pwd=(pwd=...`) linear.
const LOOKED_AT: usize = 256;

/// `s` cut to at most `LOOKED_AT` bytes, at a character boundary.
fn head(s: &str) -> &str {
    let mut end = s.len().min(LOOKED_AT);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// A parameter's value: up to `&`, `;`, white space, a quote or `)`; an ODBC value in
/// braces (`{p;w}`) whole; a quoted one (libpq's `password='p w'`) without its quotes.
fn value_at(rest: &str) -> &str {
    let rest = head(rest);
    if rest.starts_with('{')
        && let Some(end) = rest.find('}')
    {
        return &rest[..=end];
    }
    if let Some(quote) = rest.chars().next().filter(|c| matches!(c, '\'' | '"'))
        && let Some(end) = rest[1..].find(quote)
    {
        return &rest[1..=end];
    }
    let end = rest
        .find(|c: char| matches!(c, '&' | ';' | '"' | '\'' | ')') || c.is_whitespace())
        .unwrap_or(rest.len());
    &rest[..end]
}

/// `jdbc:oracle:thin:user/password@host...`.
fn oracle_thin(s: &str) -> bool {
    s.match_indices("oracle:thin:").any(|(at, m)| {
        let rest = head(&s[at + m.len()..]);
        let end = rest.find(['@', ' ']).unwrap_or(rest.len());
        rest[end..].starts_with('@')
            && rest[..end]
                .split_once('/')
                .is_some_and(|(user, password)| !user.is_empty() && !placeholder(password))
    })
}

/// Empty, a reference the kubelet or a shell expands (`$(VAR)`, `${VAR}`, `$VAR`),
/// a template (`<password>`, `{password}`, `%(password)s`, `{{ .pw }}`) or a mask
/// (`***`, `xxxx`).
fn placeholder(password: &str) -> bool {
    let template_word = password.len() >= 2
        && password.starts_with('{')
        && password.ends_with('}')
        && template_name(&password[1..password.len() - 1]);
    let variable = password.strip_prefix('$').is_some_and(|name| {
        name.starts_with(['(', '{'])
            || (name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.bytes().all(|c| c.is_ascii_alphanumeric() || c == b'_'))
    });
    password.is_empty()
        || variable
        || password.starts_with('<')
        || password.starts_with("%(")
        || template_word
        || password.chars().all(|c| matches!(c, '*' | 'x' | 'X'))
}

/// A switch's value (`ALLOW_EMPTY_PASSWORD=yes`, `--require-password=false`): a name
/// ending in `password` may be a setting about one.
fn setting(value: &str) -> bool {
    const WORDS: &[&str] = &[
        "yes", "no", "true", "false", "on", "off", "none", "null", "0", "1", "y", "n",
    ];
    WORDS.iter().any(|w| w.eq_ignore_ascii_case(value))
}

/// What stands between braces in a template (`{password}`, `{DB_PASSWORD}`,
/// `{{ .Values.db.password }}`): a name in one case, or words without digits. An ODBC
/// password in braces mixes cases and digits (`{Xq7pL2vN9k}`).
fn template_name(inner: &str) -> bool {
    let b = inner.as_bytes();
    let name = |c: &u8| c.is_ascii_alphanumeric() || matches!(c, b'_' | b'.' | b' ' | b'{' | b'}');
    let has = |f: fn(&u8) -> bool| b.iter().any(f);
    b.iter().all(name)
        && (inner.starts_with('{')
            || !has(u8::is_ascii_digit)
            || !(has(u8::is_ascii_uppercase) && has(u8::is_ascii_lowercase)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn passwords_in_connection_strings() {
        let cases = [
            ("jdbc:postgresql://db:5432/x?user=app&password=s3cret", true),
            (
                "jdbc:mysql://db/x?user=app&Password=s3cret&useSSL=true",
                true,
            ),
            (
                "jdbc:sqlserver://db:1433;databaseName=x;user=sa;password=s3cret;",
                true,
            ),
            ("jdbc:oracle:thin:app/s3cret@db:1521/ORCL", true),
            // A password on a line of its own (an ini file, libpq's service file).
            ("host=db\npassword=s3cret", true),
            ("[db]\r\npassword=s3cret", true),
            ("spring.datasource.password=s3cret", true),
            ("export DB_PASSWORD=hunter22 && python train.py", true),
            ("--db-password-file=/run/secrets/db", false),
            (
                "env ALLOW_EMPTY_PASSWORD=yes REQUIRE_PASSWORD=false ./run.sh",
                false,
            ),
            ("DB_PASSWORD=$(DB_PASSWORD) python train.py", false),
            ("jdbc:db2://db:50000/x:user=app;password=s3cret;", true),
            (
                "Driver={ODBC Driver 18};Server=db;Uid=app;Pwd={p;w0rd};",
                true,
            ),
            ("host=db user=app password=s3cret dbname=x", true),
            // Found by an independent corpus: a quoted libpq value, a random ODBC
            // password in braces (not a `{template}`).
            ("dbname=x user=app password='a1g wfo9!' host=db", true),
            ("Driver={PostgreSQL};Uid=app;Pwd={CDJjt8JHUn};", true),
            ("Driver={PostgreSQL};Uid=app;Pwd={DB_PASSWORD_2};", false),
            (
                "Driver={PostgreSQL};Uid=app;Pwd={{ .Values.db.Pw1 }};",
                false,
            ),
            ("dbname=x user=app password='' host=db", false),
            ("dbname=x password='$(DB_PASSWORD)'", false),
            (
                "jdbc:postgresql://db:5432/x?user=app&password=$(DB_PASSWORD)",
                false,
            ),
            (
                "jdbc:postgresql://db:5432/x?user=app&password=${DB_PASSWORD}",
                false,
            ),
            ("jdbc:postgresql://db:5432/x?user=app&password=", false),
            (
                "jdbc:postgresql://db:5432/x?user=app&password={password}",
                false,
            ),
            ("jdbc:oracle:thin:@db:1521/ORCL", false),
            ("jdbc:postgresql://db:5432/x?user=app", false),
            ("--password-file=/run/secrets/pw", false),
        ];
        for (value, want) in cases {
            assert_eq!(connection_password(value), want, "{value}");
        }
    }
}
