//! Finding where in a zone file's text an error is. hickory-proto's parser reports no positions,
//! so a syntax error is located by parsing ever longer prefixes of the text (a binary search over
//! entry boundaries), and a content problem by the first record its owner name has.
//!
//! Owns: splitting zone text into entries (RFC 1035 §5.1: comments, quotes, escapes and
//! parentheses that continue an entry over lines) and those two searches, over one expanded
//! text. Must not: read files, expand `$INCLUDE`, or map a line of the expanded text back to the
//! file it came from (all in `file`).

use std::path::Path;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::ZoneProblem;

/// The line (from 1) that byte `offset` of `text` is on.
pub(super) fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// One entry of a zone file: a directive or a record, possibly spanning lines in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Entry {
    /// Line it starts on, from 1.
    pub(super) line: usize,
    /// Byte offset of the start of that line.
    pub(super) start: usize,
    /// Byte offset just past it (after its newline).
    pub(super) end: usize,
    /// Its first token, when the line does not start with a blank.
    pub(super) owner: Option<String>,
    /// Its second token (the argument of a `$` directive).
    pub(super) arg: Option<String>,
    /// Its third token (the origin argument of `$INCLUDE`).
    pub(super) arg2: Option<String>,
}

/// Splits zone text into entries, honouring comments, quotes, escapes and parentheses.
pub(super) fn split_entries(text: &str) -> Vec<Entry> {
    let bytes = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        let start_line = line;
        let start = i;
        // An entry starting with a blank has no owner of its own (RFC 1035 §5.1: the previous
        // owner continues).
        let blank_start = bytes[i] == b' ' || bytes[i] == b'\t';
        let mut depth = 0usize;
        let mut tokens: Vec<String> = Vec::new();
        let mut token = String::new();
        let mut in_quote = false;
        let mut has_content = false;
        while i < bytes.len() {
            let c = bytes[i];
            if in_quote {
                if c == b'\\' && i + 1 < bytes.len() {
                    i += 1;
                } else if c == b'"' {
                    in_quote = false;
                }
                if bytes[i] == b'\n' {
                    line += 1;
                }
                i += 1;
                continue;
            }
            match c {
                b';' => {
                    while i < bytes.len() && bytes[i] != b'\n' {
                        i += 1;
                    }
                    continue;
                }
                b'"' => {
                    in_quote = true;
                    has_content = true;
                }
                b'(' => depth += 1,
                b')' => depth = depth.saturating_sub(1),
                b'\\' => {
                    token.push(c as char);
                    if let Some(&next) = bytes.get(i + 1) {
                        token.push(next as char);
                    }
                    i += 2;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    if !token.is_empty() {
                        tokens.push(std::mem::take(&mut token));
                    }
                }
                b'\n' => {
                    line += 1;
                    if !token.is_empty() {
                        tokens.push(std::mem::take(&mut token));
                    }
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                _ => {
                    token.push(c as char);
                    has_content = true;
                }
            }
            i += 1;
        }
        if !token.is_empty() {
            tokens.push(token);
        }
        if has_content || !tokens.is_empty() {
            let mut it = tokens.into_iter();
            let (owner, arg, arg2) = if blank_start {
                (None, None, None)
            } else {
                (it.next(), it.next(), it.next())
            };
            out.push(Entry {
                line: start_line,
                start,
                end: i,
                owner,
                arg,
                arg2,
            });
        }
    }
    out
}

/// The line of the entry of `text` (read as `path`, under `origin`) whose inclusion first makes
/// the parser fail, when one does.
pub(super) fn failing_line(text: &str, path: &Path, origin: Option<&Name>) -> Option<usize> {
    let entries = split_entries(text);
    first_failing_entry(text, &entries, path, origin).map(|i| entries[i].line)
}

/// The index of the first entry whose inclusion makes the parser fail.
fn first_failing_entry(
    text: &str,
    entries: &[Entry],
    path: &Path,
    origin: Option<&Name>,
) -> Option<usize> {
    let fails = |k: usize| {
        let end = entries[k].end.min(text.len());
        Parser::new(&text[..end], Some(path.to_path_buf()), origin.cloned())
            .parse()
            .is_err()
    };
    // Even the prefix through the last entry parses: the failure lies past every entry (in how
    // the text ends), so the last entry is the nearest place to point at.
    if entries.is_empty() || !fails(entries.len() - 1) {
        return entries.len().checked_sub(1);
    }
    // Invariant: the prefix ending at entry `hi` fails, every prefix ending before `lo` parses.
    let (mut lo, mut hi) = (0, entries.len() - 1);
    while lo < hi {
        let mid = (lo + hi) / 2;
        if fails(mid) {
            hi = mid;
        } else {
            lo = mid + 1;
        }
    }
    Some(lo)
}

/// The line of `text` (read under `origin`) that a content problem is about: the first record
/// of its owner. None when the problem has no owner or the owner is not written in `text`.
pub(super) fn locate_problem(
    text: &str,
    origin: Option<&Name>,
    problem: &ZoneProblem,
) -> Option<usize> {
    find_owner_line(text, origin, problem.owner.as_deref()?)
}

/// The line of the first record owned by `owner` (presentation form, fully qualified).
fn find_owner_line(text: &str, origin: Option<&Name>, owner: &str) -> Option<usize> {
    let mut current_origin = origin.map(|o| o.to_ascii().to_ascii_lowercase());
    let want = owner.to_ascii_lowercase();
    for entry in split_entries(text) {
        let Some(first) = entry.owner.as_deref() else {
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            current_origin = entry.arg.map(|a| a.to_ascii_lowercase());
            continue;
        }
        if first.starts_with('$') {
            continue;
        }
        let o = current_origin.as_deref().unwrap_or(".");
        let full = if first == "@" {
            o.to_string()
        } else if first.ends_with('.') {
            first.to_ascii_lowercase()
        } else if o == "." {
            format!("{}.", first.to_ascii_lowercase())
        } else {
            format!("{}.{}", first.to_ascii_lowercase(), o)
        };
        if full == want {
            return Some(entry.line);
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_span_parentheses_and_skip_comments() {
        let t =
            "; c\n$ORIGIN a.\n@ SOA ns h ( 1 2\n 3 4 5 ) ; x\nwww A 1.2.3.4\n\n  TXT \"a;(b\"\n";
        let e = split_entries(t);
        let lines: Vec<usize> = e.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 5, 7]);
        assert_eq!(e[0].owner.as_deref(), Some("$ORIGIN"));
        assert_eq!(e[0].arg.as_deref(), Some("a."));
        assert_eq!(e[3].owner, None);
    }

    #[test]
    fn owner_lines_resolve_relative_names() {
        let t = "$ORIGIN example.\n@ SOA a b 1 2 3 4 5\nwww A 1.2.3.4\n$ORIGIN sub.example.\nx A 1.2.3.4\n";
        assert_eq!(find_owner_line(t, None, "example."), Some(2));
        assert_eq!(find_owner_line(t, None, "www.example."), Some(3));
        assert_eq!(find_owner_line(t, None, "x.sub.example."), Some(5));
        assert_eq!(find_owner_line(t, None, "nope.example."), None);
    }

    #[test]
    fn the_first_failing_entry_is_found() {
        let t = "$ORIGIN example.\n$TTL 60\n@ SOA a b ( 1 2\n 3 4 5 )\nok A 192.0.2.1\n\
                 bad A 192.0.2.300\nlater A 192.0.2.2\n";
        assert_eq!(failing_line(t, Path::new("t"), None), Some(6));
    }
}
