//! Reading zone files (RFC 1035 §5) from the zones directory into `Zone`s.
//!
//! Owns: which files are zones, each file's origin, and turning every parse or content error into
//! a `file:line:col` diagnostic. hickory-proto's parser reads the text ($ORIGIN, $TTL, $INCLUDE,
//! relative names); it reports no positions, so on failure we find the first entry that breaks
//! it by parsing ever longer prefixes of the file (a binary search over entry boundaries).
//! Must not: decide answers.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::zone::{Zone, ZoneProblem};
use crate::diag::Diagnostic;

/// Loads every zone file in `dir`: regular files not starting with `.` and not ending in `~`.
/// Subdirectories are not read (a place for `$INCLUDE`d pieces).
pub fn load_dir(dir: &Path) -> Result<Vec<Zone>, Vec<Diagnostic>> {
    let entries = fs::read_dir(dir).map_err(|e| {
        vec![Diagnostic::new(
            dir,
            0,
            0,
            format!("cannot read the zones directory: {e}"),
        )]
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_type()
                .map(|t| t.is_file() || t.is_symlink())
                .unwrap_or(false)
        })
        .map(|e| e.path())
        .filter(|p| {
            let n = p.file_name().and_then(|n| n.to_str()).unwrap_or(".");
            !n.starts_with('.') && !n.ends_with('~') && p.is_file()
        })
        .collect();
    files.sort();
    let mut zones = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match load_file(&f) {
            Ok(z) => {
                if let Some(other) = zones.iter().find(|o: &&Zone| o.origin == z.origin) {
                    errors.push(Diagnostic::new(
                        &f,
                        1,
                        1,
                        format!(
                            "zone {} is already loaded from {}",
                            super::name::display(&z.origin),
                            other.file.display()
                        ),
                    ));
                } else {
                    zones.push(z);
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    if errors.is_empty() {
        Ok(zones)
    } else {
        Err(errors)
    }
}

/// The origin a file's relative names start from before any `$ORIGIN`: its file name without a
/// `.zone` or `.db` ending (`example.com.zone` → `example.com.`).
fn origin_from_file_name(path: &Path) -> Option<Name> {
    let name = path.file_name()?.to_str()?;
    let base = name
        .strip_suffix(".zone")
        .or_else(|| name.strip_suffix(".db"))
        .unwrap_or(name);
    let mut n = Name::from_str(base).ok()?;
    n.set_fqdn(true);
    Some(n)
}

/// Loads and validates one zone file.
pub fn load_file(path: &Path) -> Result<Zone, Vec<Diagnostic>> {
    let text = fs::read_to_string(path).map_err(|e| {
        vec![Diagnostic::new(
            path,
            0,
            0,
            format!("cannot read zone file: {e}"),
        )]
    })?;
    let origin = origin_from_file_name(path);
    let parsed = Parser::new(text.as_str(), Some(path.to_path_buf()), origin.clone()).parse();
    let records = match parsed {
        Ok((_, sets)) => sets
            .into_values()
            .flat_map(|s| s.records_without_rrsigs().cloned().collect::<Vec<_>>())
            .collect::<Vec<_>>(),
        Err(e) => {
            let entries = split_entries(&text);
            let line = first_failing_entry(&text, &entries, path, origin.as_ref())
                .map_or(0, |i| entries[i].line);
            return Err(vec![Diagnostic::new(path, line, 1, e.to_string())]);
        }
    };
    Zone::build(path.to_path_buf(), records).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| locate_problem(path, &text, origin.as_ref(), p))
            .collect()
    })
}

fn locate_problem(path: &Path, text: &str, origin: Option<&Name>, p: ZoneProblem) -> Diagnostic {
    let line = p
        .owner
        .as_deref()
        .and_then(|o| find_owner_line(text, origin, o))
        .unwrap_or(1);
    Diagnostic::new(path, line, 1, p.message)
}

/// One entry of a zone file: a directive or a record, possibly spanning lines in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Line it starts on, from 1.
    line: usize,
    /// Byte offset just past it (after its newline).
    end: usize,
    /// Its first token, when the line does not start with a blank.
    owner: Option<String>,
    /// Its second token (the argument of a `$` directive).
    arg: Option<String>,
}

/// Splits zone text into entries, honouring comments, quotes, escapes and parentheses.
fn split_entries(text: &str) -> Vec<Entry> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let start_line = line;
        let blank_start = b[i] == b' ' || b[i] == b'\t';
        let mut depth = 0usize;
        let mut tokens: Vec<String> = Vec::new();
        let mut tok = String::new();
        let mut in_quote = false;
        let mut has_content = false;
        while i < b.len() {
            let c = b[i];
            if in_quote {
                if c == b'\\' && i + 1 < b.len() {
                    i += 1;
                } else if c == b'"' {
                    in_quote = false;
                }
                if b[i] == b'\n' {
                    line += 1;
                }
                i += 1;
                continue;
            }
            match c {
                b';' => {
                    while i < b.len() && b[i] != b'\n' {
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
                    tok.push(c as char);
                    if let Some(&n) = b.get(i + 1) {
                        tok.push(n as char);
                    }
                    i += 2;
                    continue;
                }
                b' ' | b'\t' | b'\r' => {
                    if !tok.is_empty() {
                        tokens.push(std::mem::take(&mut tok));
                    }
                }
                b'\n' => {
                    line += 1;
                    if !tok.is_empty() {
                        tokens.push(std::mem::take(&mut tok));
                    }
                    if depth == 0 {
                        i += 1;
                        break;
                    }
                }
                _ => {
                    tok.push(c as char);
                    has_content = true;
                }
            }
            i += 1;
        }
        if !tok.is_empty() {
            tokens.push(tok);
        }
        if has_content || !tokens.is_empty() {
            let mut it = tokens.into_iter();
            let (owner, arg) = if blank_start {
                (None, None)
            } else {
                (it.next(), it.next())
            };
            out.push(Entry {
                line: start_line,
                end: i,
                owner,
                arg,
            });
        }
    }
    out
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
    if entries.is_empty() || !fails(entries.len() - 1) {
        return entries.len().checked_sub(1);
    }
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

/// The line of the first record owned by `owner` (presentation form, fully qualified).
fn find_owner_line(text: &str, origin: Option<&Name>, owner: &str) -> Option<usize> {
    let mut cur_origin = origin.map(|o| o.to_ascii().to_ascii_lowercase());
    let want = owner.to_ascii_lowercase();
    for e in split_entries(text) {
        let Some(first) = e.owner.as_deref() else {
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            cur_origin = e.arg.map(|a| a.to_ascii_lowercase());
            continue;
        }
        if first.starts_with('$') {
            continue;
        }
        let o = cur_origin.as_deref().unwrap_or(".");
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
            return Some(e.line);
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
    fn file_name_gives_the_default_origin() {
        let n = origin_from_file_name(Path::new("/z/example.com.zone")).unwrap();
        assert_eq!(n.to_ascii(), "example.com.");
        let n = origin_from_file_name(Path::new("example.org")).unwrap();
        assert_eq!(n.to_ascii(), "example.org.");
    }

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let p = dir.join(name);
        fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn syntax_errors_name_their_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "example.zone",
            "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww A 192.0.2.300\nok A 192.0.2.2\n",
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 5, "{}", e[0]);
    }

    #[test]
    fn content_errors_name_their_line() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "example.zone",
            "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\nwww CNAME ns\nwww A 192.0.2.2\n",
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(e.len(), 1);
        assert_eq!(e[0].line, 5);
        assert!(e[0].message.contains("CNAME and other data"), "{}", e[0]);
    }

    #[test]
    fn missing_soa_and_ns_are_errors() {
        let d = tempfile::tempdir().unwrap();
        let p = write(d.path(), "example.zone", "$TTL 60\nwww A 192.0.2.1\n");
        assert!(load_file(&p).unwrap_err()[0].message.contains("no SOA"));
        let p = write(d.path(), "example.zone", "$TTL 60\n@ SOA ns h 1 2 3 4 5\n");
        assert!(load_file(&p).unwrap_err()[0].message.contains("no NS"));
    }

    #[test]
    fn directory_loads_every_zone_and_rejects_duplicates() {
        let d = tempfile::tempdir().unwrap();
        let z = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";
        write(d.path(), "a.example.zone", z);
        write(d.path(), "b.example.zone", z);
        write(d.path(), ".hidden", "garbage");
        let zones = load_dir(d.path()).unwrap();
        assert_eq!(zones.len(), 2);
        write(d.path(), "dup.zone", &format!("$ORIGIN a.example.\n{z}"));
        let e = load_dir(d.path()).unwrap_err();
        assert!(e[0].message.contains("already loaded"), "{}", e[0]);
    }
}
