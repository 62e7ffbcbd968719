//! Reading zone files (RFC 1035 §5) from the zones directory into `Zone`s.
//!
//! Owns: which files are zones, each file's origin, `$INCLUDE`, and turning every parse or content
//! error into a `file:line:col` diagnostic. hickory-proto's parser reads the text ($ORIGIN, $TTL,
//! relative names); it reports no positions, so on failure we find the first entry that breaks
//! it by parsing ever longer prefixes of the file (a binary search over entry boundaries).
//! `$INCLUDE` is expanded here rather than by hickory, which lets an `$ORIGIN` in the included
//! file leak into the including one and rejects the origin argument (RFC 1035 §5.1).
//! Must not: decide answers.

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::{Zone, ZoneProblem};
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
                            crate::wire::name::display(&z.origin),
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
    let mut ex = Expanded::default();
    if has_include(&text) {
        expand(path, &text, origin.as_ref(), 0, &mut ex).map_err(|d| vec![d])?;
    } else {
        // Nothing to expand: the text is the file's, line for line.
        ex.files.push(path.to_path_buf());
        ex.text = text;
        if !ex.text.is_empty() && !ex.text.ends_with('\n') {
            ex.text.push('\n');
        }
    }
    let text = ex.text.as_str();
    let parsed = Parser::new(text, Some(path.to_path_buf()), origin.clone()).parse();
    let records = match parsed {
        // Moved, not copied: each parsed set is freed as the zone takes its records.
        Ok((_, sets)) => sets.into_values().flat_map(|s| s.into_parts().records),
        Err(e) => {
            let entries = split_entries(text);
            let (file, line) = first_failing_entry(text, &entries, path, origin.as_ref())
                .map_or((path, 0), |i| ex.source(path, entries[i].line));
            return Err(vec![Diagnostic::new(file, line, 1, e.to_string())]);
        }
    };
    Zone::build(path.to_path_buf(), records).map_err(|problems| {
        problems
            .into_iter()
            .map(|p| locate_problem(path, &ex, origin.as_ref(), p))
            .collect()
    })
}

fn locate_problem(path: &Path, ex: &Expanded, origin: Option<&Name>, p: ZoneProblem) -> Diagnostic {
    let (file, line) = p
        .owner
        .as_deref()
        .and_then(|o| find_owner_line(&ex.text, origin, o))
        .map_or((path, 1), |l| ex.source(path, l));
    Diagnostic::new(file, line, 1, p.message)
}

/// Whether `text` may hold an `$INCLUDE` directive (case-insensitive; one in a comment or a
/// string counts too, which only costs the slower, exact expansion).
fn has_include(text: &str) -> bool {
    let b = text.as_bytes();
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == b'$') {
        let at = from + i + 1;
        if b.get(at..at + 7)
            .is_some_and(|w| w.eq_ignore_ascii_case(b"include"))
        {
            return true;
        }
        from = at;
    }
    false
}

/// Most nested `$INCLUDE`s (a file that includes itself would otherwise never end).
const MAX_INCLUDE_DEPTH: usize = 8;

/// Zone text with every `$INCLUDE` replaced by the text of the file it names, and the file and
/// line each of its lines came from, so diagnostics point into the right file.
#[derive(Debug, Default)]
struct Expanded {
    text: String,
    /// Every file read, the zone file first.
    files: Vec<PathBuf>,
    /// For line `n` (from 1) of `text`, entry `n - 1`: its file (index into `files`) and line.
    /// Empty when the zone file includes nothing: then `text` is that file, line for line.
    lines: Vec<(usize, usize)>,
}

impl Expanded {
    /// Appends `chunk` of file `file` (an index into `files`), whose first line is `first`.
    fn push(&mut self, chunk: &str, file: usize, first: usize) {
        for (i, l) in chunk.split_inclusive('\n').enumerate() {
            self.text.push_str(l);
            if !l.ends_with('\n') {
                self.text.push('\n');
            }
            self.lines.push((file, first + i));
        }
    }

    /// Where line `line` of the expanded text came from.
    fn source<'a>(&'a self, root: &'a Path, line: usize) -> (&'a Path, usize) {
        match line.checked_sub(1).and_then(|i| self.lines.get(i)) {
            Some(&(f, l)) => (&self.files[f], l),
            None => (root, line),
        }
    }
}

/// Expands the `$INCLUDE` entries of `text` (the content of `path`, read under `origin`) into
/// `out`. RFC 1035 §5.1: the included file is read under the origin given as the directive's
/// second argument, else the current one, and whatever `$ORIGIN` it sets does not change the
/// origin of the including file, which is restored after it. Relative file names are relative
/// to the including file's directory.
fn expand(
    path: &Path,
    text: &str,
    origin: Option<&Name>,
    depth: usize,
    out: &mut Expanded,
) -> Result<(), Diagnostic> {
    let me = out.files.len();
    out.files.push(path.to_path_buf());
    let mut cur = origin.cloned();
    let mut copied = 0;
    for e in split_entries(text) {
        let Some(first) = e.owner.as_deref() else {
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            // As hickory reads it; a bad name is reported by the parser.
            cur = e.arg.as_deref().and_then(|a| Name::parse(a, None).ok());
            continue;
        }
        if !first.eq_ignore_ascii_case("$INCLUDE") {
            continue;
        }
        out.push(&text[copied..e.start], me, line_at(text, copied));
        copied = e.end.min(text.len());
        let here = |m: String| Diagnostic::new(path, e.line, 1, m);
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(here(format!(
                "$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
            )));
        }
        let Some(file) = e.arg.as_deref() else {
            return Err(here("$INCLUDE needs a file name".into()));
        };
        let file = path.parent().unwrap_or(Path::new(".")).join(file);
        let included = fs::read_to_string(&file)
            .map_err(|err| here(format!("cannot read {}: {err}", file.display())))?;
        let inner = match e.arg2.as_deref() {
            None => cur.clone(),
            Some(o) => {
                let mut n = Name::parse(o, cur.as_ref())
                    .map_err(|err| here(format!("bad origin {o} for $INCLUDE: {err}")))?;
                n.set_fqdn(true);
                Some(n)
            }
        };
        if let Some(o) = &inner {
            out.push(&format!("$ORIGIN {}", o.to_ascii()), me, e.line);
        }
        expand(&file, &included, inner.as_ref(), depth + 1, out)?;
        if let Some(o) = &cur {
            out.push(&format!("$ORIGIN {}", o.to_ascii()), me, e.line);
        }
    }
    out.push(&text[copied..], me, line_at(text, copied));
    Ok(())
}

/// The line (from 1) that byte `offset` of `text` is on.
fn line_at(text: &str, offset: usize) -> usize {
    1 + text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

/// One entry of a zone file: a directive or a record, possibly spanning lines in parentheses.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    /// Line it starts on, from 1.
    line: usize,
    /// Byte offset of the start of that line.
    start: usize,
    /// Byte offset just past it (after its newline).
    end: usize,
    /// Its first token, when the line does not start with a blank.
    owner: Option<String>,
    /// Its second token (the argument of a `$` directive).
    arg: Option<String>,
    /// Its third token (the origin argument of `$INCLUDE`).
    arg2: Option<String>,
}

/// Splits zone text into entries, honouring comments, quotes, escapes and parentheses.
fn split_entries(text: &str) -> Vec<Entry> {
    let b = text.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < b.len() {
        let start_line = line;
        let start = i;
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

    fn has(z: &Zone, name: &str) -> bool {
        let key = crate::wire::name::key_of(&Name::from_str(name).unwrap());
        z.node(&key).is_some_and(|n| !n.rrsets.is_empty())
    }

    #[test]
    fn includes_keep_the_including_files_origin() {
        let d = tempfile::tempdir().unwrap();
        fs::create_dir(d.path().join("parts")).unwrap();
        write(
            d.path(),
            "parts/a.inc",
            "$ORIGIN a.example.\nx A 192.0.2.1\n",
        );
        write(d.path(), "parts/b.inc", "@ TXT \"b\"\ny A 192.0.2.2\n");
        write(d.path(), "parts/c.inc", "$INCLUDE a.inc\nz A 192.0.2.3\n");
        let p = write(
            d.path(),
            "example.zone",
            "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n$INCLUDE parts/a.inc\nns A 192.0.2.9\n\
             $INCLUDE parts/b.inc b\n$INCLUDE parts/c.inc c.example.\nafter A 192.0.2.4\n",
        );
        let z = load_file(&p).unwrap();
        for n in ["ns.example.", "after.example.", "x.a.example."] {
            assert!(has(&z, n), "{n}");
        }
        for n in ["b.example.", "y.b.example.", "z.c.example.", "x.a.example."] {
            assert!(has(&z, n), "{n}");
        }
        for leaked in [
            "ns.a.example.",
            "b.a.example.",
            "after.a.example.",
            "after.c.example.",
        ] {
            assert!(!has(&z, leaked), "{leaked}");
        }
    }

    #[test]
    fn errors_in_included_files_name_that_file() {
        let d = tempfile::tempdir().unwrap();
        let inc = write(d.path(), "hosts.inc", "ok A 192.0.2.1\nbad A 192.0.2.300\n");
        let p = write(
            d.path(),
            "example.zone",
            "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\n$INCLUDE hosts.inc\nns A 192.0.2.9\n",
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(
            (e[0].file.as_path(), e[0].line),
            (inc.as_path(), 2),
            "{}",
            e[0]
        );
        let p = write(
            d.path(),
            "example.zone",
            "$TTL 60\n\n$INCLUDE missing.inc\n",
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(
            (e[0].file.as_path(), e[0].line),
            (p.as_path(), 3),
            "{}",
            e[0]
        );
        write(d.path(), "self.inc", "$INCLUDE self.inc\n");
        let p = write(d.path(), "example.zone", "$INCLUDE self.inc\n");
        assert!(load_file(&p).unwrap_err()[0].message.contains("nested"));
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
