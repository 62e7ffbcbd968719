//! Reading zone files (RFC 1035 §5) from the zones directory into `Zone`s.
//!
//! Owns: which files are zones, each file's origin, `$INCLUDE`, and turning every parse or content
//! error into a `file:line:col` diagnostic in the file the line came from. hickory-proto's parser
//! reads the text ($ORIGIN, $TTL, relative names); it reports no positions, so `locate` finds
//! the line in the expanded text and this file maps it back to its file. `$INCLUDE` is expanded
//! here rather than by hickory, which lets an `$ORIGIN` in the included file leak into the
//! including one and rejects the origin argument (RFC 1035 §5.1).
//! Must not: decide answers, or search the text for where an error is (that is `locate`).

use std::fs;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::Zone;
use super::locate::{failing_line, line_at, locate_problem, split_entries};
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
    let mut expanded = Expanded::default();
    if has_include(&text) {
        expand(path, &text, origin.as_ref(), 0, &mut expanded).map_err(|d| vec![d])?;
    } else {
        // Nothing to expand: the text is the file's, line for line.
        expanded.files.push(path.to_path_buf());
        expanded.text = text;
        if !expanded.text.is_empty() && !expanded.text.ends_with('\n') {
            expanded.text.push('\n');
        }
    }
    let text = expanded.text.as_str();
    let parsed = Parser::new(text, Some(path.to_path_buf()), origin.clone()).parse();
    let records = match parsed {
        // Moved, not copied: each parsed set is freed as the zone takes its records.
        Ok((_, sets)) => sets.into_values().flat_map(|s| s.into_parts().records),
        Err(e) => {
            let (file, line) = failing_line(text, path, origin.as_ref())
                .map_or((path, 0), |l| expanded.source(path, l));
            return Err(vec![Diagnostic::new(file, line, 1, e.to_string())]);
        }
    };
    Zone::build(path.to_path_buf(), records).map_err(|problems| {
        problems
            .into_iter()
            .map(|problem| {
                let (file, line) = locate_problem(&expanded.text, origin.as_ref(), &problem)
                    .map_or((path, 1), |l| expanded.source(path, l));
                Diagnostic::new(file, line, 1, problem.message)
            })
            .collect()
    })
}

/// Whether `text` may hold an `$INCLUDE` directive (case-insensitive; one in a comment or a
/// string counts too, which only costs the slower, exact expansion).
fn has_include(text: &str) -> bool {
    let bytes = text.as_bytes();
    let mut from = 0;
    while let Some(i) = bytes[from..].iter().position(|&c| c == b'$') {
        let at = from + i + 1;
        if bytes
            .get(at..at + 7)
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
    let mut current_origin = origin.cloned();
    let mut copied = 0;
    for entry in split_entries(text) {
        let Some(first) = entry.owner.as_deref() else {
            continue;
        };
        if first.eq_ignore_ascii_case("$ORIGIN") {
            // As hickory reads it; a bad name is reported by the parser.
            current_origin = entry.arg.as_deref().and_then(|a| Name::parse(a, None).ok());
            continue;
        }
        if !first.eq_ignore_ascii_case("$INCLUDE") {
            continue;
        }
        out.push(&text[copied..entry.start], me, line_at(text, copied));
        copied = entry.end.min(text.len());
        let here = |m: String| Diagnostic::new(path, entry.line, 1, m);
        if depth >= MAX_INCLUDE_DEPTH {
            return Err(here(format!(
                "$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
            )));
        }
        let Some(file) = entry.arg.as_deref() else {
            return Err(here("$INCLUDE needs a file name".into()));
        };
        let file = path.parent().unwrap_or(Path::new(".")).join(file);
        let included = fs::read_to_string(&file)
            .map_err(|err| here(format!("cannot read {}: {err}", file.display())))?;
        let inner = match entry.arg2.as_deref() {
            None => current_origin.clone(),
            Some(o) => {
                let mut n = Name::parse(o, current_origin.as_ref())
                    .map_err(|err| here(format!("bad origin {o} for $INCLUDE: {err}")))?;
                n.set_fqdn(true);
                Some(n)
            }
        };
        if let Some(o) = &inner {
            out.push(&format!("$ORIGIN {}", o.to_ascii()), me, entry.line);
        }
        expand(&file, &included, inner.as_ref(), depth + 1, out)?;
        if let Some(o) = &current_origin {
            out.push(&format!("$ORIGIN {}", o.to_ascii()), me, entry.line);
        }
    }
    out.push(&text[copied..], me, line_at(text, copied));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

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
