//! A linear pre-scan of YAML text for its nesting depth. The YAML parser takes time
//! quadratic in the depth of flow collections (100,000 nested `[` took 24 s) before
//! the decoder's own recursion limit is reached, so documents nested deeper than
//! `MAX_DEPTH` are refused here, with the line, before parsing. The scan is lexical
//! (quotes, comments, block scalars, flow brackets, indentation) and may be off by a
//! level here and there (a sequence indented like its key counts once): its job is
//! to bound the parser's work, which it does (a document within the limit parses in
//! milliseconds); the decoder itself refuses more than 128 real levels.

/// Deeper than this is refused (no Kubernetes or Run:ai manifest comes close: a pod
/// template in a CronJob is ~15 levels).
pub const MAX_DEPTH: usize = 150;

/// The first line (1-based) where the nesting goes past `max`, if any.
pub fn too_deep(text: &str, max: usize) -> Option<usize> {
    let mut flow = 0usize;
    let mut quote: Option<u8> = None;
    // Indentation of the open block levels.
    let mut blocks: Vec<usize> = Vec::new();
    // Inside a block scalar (`|`, `>`): lines indented more than this are text.
    let mut block_scalar: Option<usize> = None;
    for (n, line) in text.lines().enumerate() {
        let bytes = line.as_bytes();
        let indent = bytes.iter().take_while(|b| **b == b' ').count();
        let rest = &bytes[indent..];
        if let Some(parent) = block_scalar {
            if rest.is_empty() || indent > parent {
                continue;
            }
            block_scalar = None;
        }
        let mut start = indent;
        if quote.is_none() && flow == 0 {
            if rest.is_empty() || rest[0] == b'#' {
                continue;
            }
            if rest.starts_with(b"---") || rest.starts_with(b"...") {
                blocks.clear();
                start = indent + 3;
            } else {
                while blocks.last().is_some_and(|&top| top >= indent) {
                    blocks.pop();
                }
                blocks.push(indent);
                // `- - - x`: each compact sequence entry opens a level on one line.
                let mut i = indent;
                while bytes.get(i) == Some(&b'-') && bytes.get(i + 1) == Some(&b' ') {
                    blocks.push(i + 2);
                    i += 2;
                    while bytes.get(i) == Some(&b' ') {
                        i += 1;
                    }
                }
            }
        }
        let mut last_token: Option<u8> = None;
        let mut i = start;
        while i < bytes.len() {
            let c = bytes[i];
            let prev = if i == 0 { b' ' } else { bytes[i - 1] };
            // Where a token may begin: after blanks, and in flow context after `[{,`.
            let token_start = i == start
                || matches!(prev, b' ' | b'\t')
                || (flow > 0 && matches!(prev, b'[' | b'{' | b','));
            match quote {
                Some(b'"') => {
                    if c == b'\\' {
                        i += 1;
                    } else if c == b'"' {
                        quote = None;
                    }
                }
                Some(_) => {
                    if c == b'\'' {
                        if bytes.get(i + 1) == Some(&b'\'') {
                            i += 1;
                        } else {
                            quote = None;
                        }
                    }
                }
                None => match c {
                    b'#' if matches!(prev, b' ' | b'\t') || i == 0 => break,
                    b'"' | b'\'' if token_start => quote = Some(c),
                    b'[' | b'{' if token_start || flow > 0 => {
                        flow += 1;
                        if flow + blocks.len() > max {
                            return Some(n + 1);
                        }
                    }
                    b']' | b'}' if flow > 0 => flow -= 1,
                    _ => {}
                },
            }
            if !matches!(c, b' ' | b'\t') {
                last_token = Some(c);
            }
            i += 1;
        }
        if blocks.len() + flow > max {
            return Some(n + 1);
        }
        if quote.is_none() && flow == 0 && opens_block_scalar(bytes, last_token) {
            block_scalar = Some(indent);
        }
    }
    None
}

/// The line ends with a block scalar indicator: `key: |`, `- >-`, `key: |2+`.
fn opens_block_scalar(line: &[u8], last: Option<u8>) -> bool {
    let Some(last) = last else { return false };
    if !(last == b'|' || last == b'>' || last.is_ascii_digit() || last == b'-' || last == b'+') {
        return false;
    }
    let trimmed = line.trim_ascii_end();
    // Strip a trailing comment-free indicator group, then expect `: ` or `- ` before it.
    let at = trimmed
        .iter()
        .rposition(|b| *b == b'|' || *b == b'>')
        .unwrap_or(usize::MAX);
    if at == usize::MAX {
        return false;
    }
    let indicator_ok = trimmed[at + 1..]
        .iter()
        .all(|b| b.is_ascii_digit() || *b == b'-' || *b == b'+');
    let before = trimmed[..at].trim_ascii_end();
    indicator_ok && (before.is_empty() || before.ends_with(b":") || before.ends_with(b"-"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_line_where_nesting_goes_too_deep() {
        // (text, max, the line reported)
        let deep_flow = format!("a: {}{}\n", "[".repeat(200), "]".repeat(200));
        let deep_block: String = (0..200)
            .map(|i| format!("{}a:\n", "  ".repeat(i)))
            .collect();
        let cases: Vec<(String, usize, Option<usize>)> = vec![
            ("a: [1, [2, {b: c}]]\n".into(), 4, None),
            ("a: [1, [2, {b: [c]}]]\n".into(), 4, Some(1)),
            (deep_flow, 150, Some(1)),
            (deep_block, 150, Some(151)),
            // Brackets inside quotes, plain scalars, comments and block scalars do not count.
            (
                format!("a: \"{}\"\nb: '{}'\n", "[".repeat(300), "{".repeat(300)),
                5,
                None,
            ),
            (
                format!("a: x{}\n# {}\n", "[".repeat(300), "[".repeat(300)),
                5,
                None,
            ),
            (
                format!("script: |\n  {}\n  echo\nb: 1\n", "[".repeat(300)),
                5,
                None,
            ),
            ("- - - - - x\n".into(), 3, Some(1)),
        ];
        for (text, max, want) in cases {
            assert_eq!(
                too_deep(&text, max),
                want,
                "{}",
                &text[..text.len().min(60)]
            );
        }
    }

    #[test]
    fn is_linear_on_pathological_input() {
        let text = format!("a: {}\n", "[".repeat(1_000_000));
        assert_eq!(too_deep(&text, MAX_DEPTH), Some(1));
    }
}
