//! Finding where in a zone file's text an error is. hickory-proto's parser reports no positions,
//! so a syntax error is located by parsing ever longer prefixes of the text (a binary search over
//! entry boundaries), and a content problem by the first record its owner name has.
//!
//! Owns: splitting zone text into entries (RFC 1035 §5.1: comments, quotes, escapes and
//! parentheses that continue an entry over lines) and those two searches, over one expanded
//! text. Must not: read files, expand `$INCLUDE`, or map a line of the expanded text back to the
//! file it came from (all in `file`).

use std::collections::HashMap;
use std::path::Path;
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::{ProblemAt, ZoneProblem};
use crate::wire::name::key_of;

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
    /// Its record type as written, for a record (None for a `$` directive).
    pub(super) rtype: Option<String>,
}

/// Splits zone text into entries, honouring comments, quotes, escapes and parentheses.
pub(super) fn split_entries(text: &str) -> Vec<Entry> {
    entries(text).collect()
}

/// The entries of zone text one by one, so a scan over a large zone holds one at a time.
pub(super) fn entries(text: &str) -> impl Iterator<Item = Entry> + '_ {
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut line = 1;
    std::iter::from_fn(move || {
        while i < bytes.len() {
            if let Some(e) = next_entry(bytes, &mut i, &mut line) {
                return Some(e);
            }
        }
        None
    })
}

/// Reads the entry starting at `*i` (on line `*line`), moving both past it; None when it holds
/// nothing but blanks and comments.
fn next_entry(bytes: &[u8], i: &mut usize, line: &mut usize) -> Option<Entry> {
    let start_line = *line;
    let start = *i;
    // An entry starting with a blank has no owner of its own (RFC 1035 §5.1: the previous
    // owner continues).
    let blank_start = bytes[*i] == b' ' || bytes[*i] == b'\t';
    let mut depth = 0usize;
    let mut tokens: Vec<String> = Vec::new();
    let mut token = String::new();
    let mut in_quote = false;
    let mut has_content = false;
    while *i < bytes.len() {
        let c = bytes[*i];
        if in_quote {
            if c == b'\\' && *i + 1 < bytes.len() {
                *i += 1;
            } else if c == b'"' {
                in_quote = false;
            }
            if bytes[*i] == b'\n' {
                *line += 1;
            }
            *i += 1;
            continue;
        }
        match c {
            b';' => {
                while *i < bytes.len() && bytes[*i] != b'\n' {
                    *i += 1;
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
                if let Some(&next) = bytes.get(*i + 1) {
                    token.push(next as char);
                }
                *i += 2;
                continue;
            }
            b' ' | b'\t' | b'\r' => {
                if !token.is_empty() {
                    tokens.push(std::mem::take(&mut token));
                }
            }
            b'\n' => {
                *line += 1;
                if !token.is_empty() {
                    tokens.push(std::mem::take(&mut token));
                }
                if depth == 0 {
                    *i += 1;
                    break;
                }
            }
            _ => {
                token.push(c as char);
                has_content = true;
            }
        }
        *i += 1;
    }
    if !token.is_empty() {
        tokens.push(token);
    }
    if !has_content && tokens.is_empty() {
        return None;
    }
    let mut it = tokens.into_iter();
    let (owner, arg, arg2) = if blank_start {
        (None, None, None)
    } else {
        (it.next(), it.next(), it.next())
    };
    // The type is the first token after the owner that is neither a TTL nor a class, as
    // hickory reads it ([<TTL>] [<class>] <type>, in either order).
    let rtype = if owner.as_deref().is_some_and(|o| o.starts_with('$')) {
        None
    } else {
        [arg.as_ref(), arg2.as_ref()]
            .into_iter()
            .flatten()
            .cloned()
            .chain(it)
            .find(|t| !is_ttl_or_class(t))
    };
    Some(Entry {
        line: start_line,
        start,
        end: *i,
        owner,
        arg,
        arg2,
        rtype,
    })
}

/// Whether a token before a record's type is its TTL or its class.
fn is_ttl_or_class(t: &str) -> bool {
    hickory_proto::serialize::txt::parse_ttl(t).is_ok()
        || ["IN", "CH", "HS", "NONE", "ANY", "*"]
            .iter()
            .any(|c| t.eq_ignore_ascii_case(c))
}

/// Walks the record entries of `text` (read under `origin`) with the owner each has, as
/// hickory resolves it: a relative owner under the `$ORIGIN` in force on its line, a blank
/// start continuing the previous owner. `f` gets the owner, the entry's type token and its
/// line, and stops the walk by returning true.
fn walk_records(
    text: &str,
    origin: Option<&Name>,
    mut f: impl FnMut(&mut Owner, &str, usize) -> bool,
) {
    let mut current_origin = origin.cloned();
    let mut owner = Owner::default();
    for entry in entries(text) {
        if let Some(first) = entry.owner.as_deref() {
            if first.eq_ignore_ascii_case("$ORIGIN") {
                current_origin = entry.arg.as_deref().and_then(|a| Name::parse(a, None).ok());
                continue;
            }
            if first.starts_with('$') {
                continue;
            }
            owner = Owner {
                token: entry.owner.clone(),
                origin: current_origin.clone(),
                key: None,
            };
        }
        if let Some(t) = entry.rtype.as_deref()
            && f(&mut owner, t, entry.line)
        {
            return;
        }
    }
}

/// The owner of a record entry, resolved to its key only when asked.
#[derive(Default)]
struct Owner {
    token: Option<String>,
    origin: Option<Name>,
    key: Option<Option<Box<[u8]>>>,
}

impl Owner {
    /// The owner's lower-cased wire key, None when it does not parse (the parser says why).
    fn key(&mut self) -> Option<&[u8]> {
        let (token, origin) = (&self.token, &self.origin);
        self.key
            .get_or_insert_with(|| {
                let t = token.as_deref()?;
                let name = if t == "@" {
                    origin.clone()?
                } else {
                    Name::parse(t, origin.as_ref()).ok()?
                };
                Some(key_of(&name))
            })
            .as_deref()
    }
}

/// Every CNAME record after the first at its name: `(owner, line of that first one, line of
/// this one)`, in the order they are written. hickory keeps only the last CNAME of a name
/// (RFC 2136 §1.1.5 replacement, right for an UPDATE, wrong for a zone file), so this is
/// found in the text before the parser forgets it.
pub(super) fn repeated_cnames(text: &str, origin: Option<&Name>) -> Vec<(Box<[u8]>, usize, usize)> {
    let mut first: HashMap<Box<[u8]>, usize> = HashMap::new();
    let mut repeated = Vec::new();
    walk_records(text, origin, |owner, t, line| {
        if t.eq_ignore_ascii_case("CNAME")
            && let Some(key) = owner.key()
        {
            match first.get(key) {
                Some(&at) => repeated.push((Box::from(key), at, line)),
                None => {
                    first.insert(key.into(), line);
                }
            }
        }
        false
    });
    repeated
}

/// The line of the record at `owner` that makes a CNAME share its name with other data: the
/// first other record after the name's first CNAME, or its first CNAME after other data.
fn cname_conflict_line(text: &str, origin: Option<&Name>, owner: &[u8]) -> Option<usize> {
    let (mut cname, mut other) = (false, false);
    let mut found = None;
    walk_records(text, origin, |o, t, line| {
        if o.key() != Some(owner) {
            return false;
        }
        let is_cname = t.eq_ignore_ascii_case("CNAME");
        let shares = is_cname
            || hickory_proto::rr::RecordType::from_str(&t.to_ascii_uppercase())
                .is_ok_and(|r| super::build::may_share_with_cname(u16::from(r)));
        cname |= is_cname;
        other |= !shares;
        if cname && other {
            found = Some(line);
        }
        found.is_some()
    });
    found
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
    let owner = problem.owner.as_deref()?;
    match problem.at {
        ProblemAt::First => find_owner_line(text, origin, owner),
        ProblemAt::CnameConflict => {
            let key = key_of(&Name::from_str(owner).ok()?);
            cname_conflict_line(text, origin, &key).or_else(|| find_owner_line(text, origin, owner))
        }
    }
}

/// The line of the first record owned by `owner` (presentation form, fully qualified).
fn find_owner_line(text: &str, origin: Option<&Name>, owner: &str) -> Option<usize> {
    let mut current_origin = origin.map(|o| o.to_ascii().to_ascii_lowercase());
    let want = owner.to_ascii_lowercase();
    for entry in entries(text) {
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
    fn the_type_follows_an_optional_ttl_and_class() {
        let t = "$TTL 60\nwww 300 IN CNAME x\nwww in 1h cname x\n  TXT \"a b\"\n@ A 1.2.3.4\n";
        let types: Vec<Option<String>> = entries(t).map(|e| e.rtype).collect();
        let want = [None, Some("CNAME"), Some("cname"), Some("TXT"), Some("A")];
        assert_eq!(types, want.map(|t| t.map(String::from)));
    }

    #[test]
    fn repeated_cnames_are_found_under_any_spelling_of_the_owner() {
        let origin = Name::from_str("example.").unwrap();
        let t = "a CNAME x\nb CNAME x\n\tCNAME y\nA.EXAMPLE. 60 CNAME z\n$ORIGIN b.example.\n@ CNAME w\n";
        let found: Vec<(String, usize, usize)> = repeated_cnames(t, Some(&origin))
            .into_iter()
            .map(|(k, first, again)| (crate::wire::name::display(&k), first, again))
            .collect();
        assert_eq!(
            found,
            [
                ("b.example.".to_string(), 2, 3),
                ("a.example.".to_string(), 1, 4),
                // `@` under `$ORIGIN b.example.` is b.example. again.
                ("b.example.".to_string(), 2, 6),
            ]
        );
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
