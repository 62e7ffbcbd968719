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
use std::io::Read;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use hickory_proto::rr::Name;
use hickory_proto::serialize::txt::Parser;

use super::Zone;
use super::locate::{entries, failing_line, line_at, locate_problem, repeated_cnames};
use crate::diag::Diagnostic;
use crate::wire::name::display;

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

/// Most nested `$INCLUDE`s (a file that includes itself would otherwise never end).
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Most `$INCLUDE` directives one zone may expand, in all its files together. Depth alone does
/// not bound the work: eight levels of files that each include the next eight times are 8⁸
/// (16.7 million) expansions, and one line of text each.
pub const MAX_INCLUDES: usize = 64;

/// Largest zone: its file, and its text with everything it includes. Checked before a byte is
/// read (from the file's size) and while reading (a file that grows, or a device, stops here),
/// so a reload never commits more memory to text than this; the parsed zone costs a few times
/// more. Room for about 2.5 million short records (a million A records are about 25 MB).
pub const MAX_ZONE_BYTES: u64 = 64 * 1024 * 1024;

/// Longest line of a zone file. The longest legitimate record fits many times over (64 KiB of
/// RDATA is about 130 KiB as hex, but it is written over several lines in parentheses); one
/// long line is held whole by the parser, in several copies.
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Why a zone file's text could not be had.
enum ReadError {
    /// Reading failed (absent, unreadable, not UTF-8).
    Io(std::io::Error),
    /// Larger than allowed: the file's size, when its metadata told it.
    TooBig(Option<u64>),
}

/// Reads `path` as text, at most `limit` bytes: its size is checked first and the read is
/// bounded, so neither a large file nor one that grows while read takes more memory.
fn read_bounded(path: &Path, limit: u64) -> Result<String, ReadError> {
    let file = fs::File::open(path).map_err(ReadError::Io)?;
    let size = file.metadata().map_err(ReadError::Io)?.len();
    if size > limit {
        return Err(ReadError::TooBig(Some(size)));
    }
    let mut bytes = Vec::with_capacity(size as usize);
    file.take(limit + 1)
        .read_to_end(&mut bytes)
        .map_err(ReadError::Io)?;
    if bytes.len() as u64 > limit {
        return Err(ReadError::TooBig(None));
    }
    String::from_utf8(bytes)
        .map_err(|e| ReadError::Io(std::io::Error::new(std::io::ErrorKind::InvalidData, e)))
}

/// The first line of `text` (the content of `path`) longer than `MAX_LINE_BYTES`, as an error.
fn check_line_lengths(path: &Path, text: &str) -> Result<(), Diagnostic> {
    match text
        .split('\n')
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
    {
        None => Ok(()),
        Some((i, l)) => Err(Diagnostic::new(
            path,
            i + 1,
            1,
            format!(
                "line is {} bytes long; a zone file line may be at most {MAX_LINE_BYTES} bytes (64 KiB): split the record over lines in parentheses",
                l.len()
            ),
        )),
    }
}

/// Whether `text` holds `word`, in any case.
fn mentions(text: &str, word: &str) -> bool {
    let (b, w) = (text.as_bytes(), word.as_bytes());
    let Some(&first) = w.first() else {
        return true;
    };
    let (lo, up) = (first.to_ascii_lowercase(), first.to_ascii_uppercase());
    let mut from = 0;
    while let Some(i) = b[from..].iter().position(|&c| c == lo || c == up) {
        let at = from + i;
        if b.get(at..at + w.len())
            .is_some_and(|x| x.eq_ignore_ascii_case(w))
        {
            return true;
        }
        from = at + 1;
    }
    false
}

/// Loads and validates one zone file.
pub fn load_file(path: &Path) -> Result<Zone, Vec<Diagnostic>> {
    let text = read_bounded(path, MAX_ZONE_BYTES).map_err(|e| {
        let message = match e {
            ReadError::Io(e) => format!("cannot read zone file: {e}"),
            ReadError::TooBig(size) => format!(
                "zone file is {}; a zone may be at most {MAX_ZONE_BYTES} bytes (64 MiB)",
                size.map_or("larger than that".into(), |s| format!("{s} bytes"))
            ),
        };
        vec![Diagnostic::new(path, 0, 0, message)]
    })?;
    check_line_lengths(path, &text).map_err(|d| vec![d])?;
    let origin = origin_from_file_name(path);
    let mut expanded = Expanded::default();
    if has_include(&text) {
        expanded.read = text.len() as u64;
        expanded.digests.push(super::digest(text.as_bytes()));
        expand(path, &text, origin.as_ref(), 0, &mut expanded).map_err(|d| vec![d])?;
        drop(text);
    } else {
        // Nothing to expand: the text is the file's, line for line.
        expanded.files.push(path.to_path_buf());
        expanded.digests.push(super::digest(text.as_bytes()));
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
    // The parser keeps the last of two CNAMEs at a name: found in the text, before it is gone.
    let mut errors = Vec::new();
    if mentions(text, "cname") {
        for (owner, first, again) in repeated_cnames(text, origin.as_ref()) {
            let (f1, l1) = expanded.source(path, first);
            let message = format!(
                "{} has a second CNAME record (the first is at {}:{l1}); a name has at most one CNAME (RFC 2181 §10.1)",
                display(&owner),
                f1.display()
            );
            let (file, line) = expanded.source(path, again);
            errors.push(Diagnostic::new(file, line, 1, message));
        }
    }
    match Zone::build(path.to_path_buf(), records) {
        Ok(mut zone) if errors.is_empty() => {
            zone.sources = expanded
                .files
                .iter()
                .zip(&expanded.digests)
                .map(|(path, &digest)| super::Source {
                    path: path.clone(),
                    digest,
                })
                .collect();
            Ok(zone)
        }
        Ok(_) => Err(errors),
        Err(problems) => {
            errors.extend(problems.into_iter().map(|problem| {
                let (file, line) = locate_problem(&expanded.text, origin.as_ref(), &problem)
                    .map_or((path, 1), |l| expanded.source(path, l));
                Diagnostic::new(file, line, 1, problem.message)
            }));
            errors.sort_by(|a, b| (&a.file, a.line).cmp(&(&b.file, b.line)));
            Err(errors)
        }
    }
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

/// Zone text with every `$INCLUDE` replaced by the text of the file it names, and the file and
/// line each of its lines came from, so diagnostics point into the right file.
#[derive(Debug, Default)]
struct Expanded {
    text: String,
    /// Every file read, the zone file first.
    files: Vec<PathBuf>,
    /// The digest of each of `files`' bytes, in the same order.
    digests: Vec<u64>,
    /// For line `n` (from 1) of `text`, entry `n - 1`: its file (index into `files`) and line.
    /// Empty when the zone file includes nothing: then `text` is that file, line for line.
    lines: Vec<(usize, usize)>,
    /// `$INCLUDE`s expanded so far, in all files (at most `MAX_INCLUDES`).
    includes: usize,
    /// Bytes of every file read so far (at most `MAX_ZONE_BYTES`).
    read: u64,
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
    for entry in entries(text) {
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
        out.includes += 1;
        if out.includes > MAX_INCLUDES {
            return Err(here(format!(
                "more than {MAX_INCLUDES} $INCLUDEs in this zone (counted over all its files)"
            )));
        }
        let file = path.parent().unwrap_or(Path::new(".")).join(file);
        let budget = MAX_ZONE_BYTES.saturating_sub(out.read);
        let included = read_bounded(&file, budget).map_err(|e| {
            here(match e {
                ReadError::Io(err) => format!("cannot read {}: {err}", file.display()),
                ReadError::TooBig(Some(size)) if size > MAX_ZONE_BYTES => format!(
                    "{} is {size} bytes; a zone may be at most {MAX_ZONE_BYTES} bytes (64 MiB)",
                    file.display()
                ),
                ReadError::TooBig(_) => format!(
                    "{} takes the zone with what it includes past {MAX_ZONE_BYTES} bytes (64 MiB)",
                    file.display()
                ),
            })
        })?;
        out.read += included.len() as u64;
        out.digests.push(super::digest(included.as_bytes()));
        check_line_lengths(&file, &included)?;
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
        assert_eq!(e[0].line, 6, "the A record that joins the CNAME: {}", e[0]);
        assert!(e[0].message.contains("CNAME and other data"), "{}", e[0]);
    }

    const APEX: &str = "$TTL 60\n@ SOA ns h 1 2 3 4 5\n@ NS ns\nns A 192.0.2.1\n";

    fn lines(e: &[Diagnostic]) -> Vec<(PathBuf, usize)> {
        e.iter().map(|d| (d.file.clone(), d.line)).collect()
    }

    #[test]
    fn a_cname_with_other_data_names_the_record_that_joins_it() {
        let d = tempfile::tempdir().unwrap();
        // Other data first: the CNAME is the offender, whatever comes after it.
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}www A 192.0.2.2\nx A 192.0.2.3\nwww CNAME ns\nwww TXT \"t\"\n"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 7)], "{e:?}");
        assert!(e[0].message.contains("RFC 2181"), "{}", e[0]);
        // The CNAME first, the other data in an included file under another spelling.
        write(
            d.path(),
            "more.inc",
            "; more\nWWW.example. 30 IN AAAA 2001:db8::1\n",
        );
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}www CNAME ns\n$INCLUDE more.inc\n"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(d.path().join("more.inc"), 2)], "{e:?}");
    }

    #[test]
    fn a_second_cname_at_a_name_is_an_error_naming_both() {
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "example.zone",
            &format!(
                "{APEX}alias CNAME ns\nother CNAME ns\nALIAS.example. 300 IN CNAME www.elsewhere.\n"
            ),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 7)], "{e:?}");
        let want = format!("the first is at {}:5", p.display());
        assert!(e[0].message.contains(&want), "{}", e[0]);
        assert!(
            e[0].message
                .starts_with("alias.example. has a second CNAME"),
            "{}",
            e[0]
        );
        // A blank start continues the owner; an $ORIGIN changes what a relative owner means.
        let p = write(
            d.path(),
            "example.zone",
            &format!(
                "{APEX}a CNAME ns\n  CNAME x\n$ORIGIN sub.example.\nb CNAME ns\n$ORIGIN example.\nb CNAME ns\n"
            ),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 6)], "only a.example. twice: {e:?}");
        // One CNAME per name is fine, in any number of names.
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}a CNAME ns\nb CNAME ns\nc IN 60 CNAME a\n"),
        );
        load_file(&p).unwrap();
    }

    #[test]
    fn more_than_64_includes_in_all_is_an_error_at_the_include() {
        let d = tempfile::tempdir().unwrap();
        write(d.path(), "one.inc", "ns A 192.0.2.1\n");
        let includes = |n: usize| "$INCLUDE one.inc\n".repeat(n);
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}{}", includes(MAX_INCLUDES)),
        );
        load_file(&p).unwrap();
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}{}", includes(MAX_INCLUDES + 1)),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 4 + MAX_INCLUDES + 1)], "{e:?}");
        assert!(e[0].message.contains("more than 64 $INCLUDEs"), "{}", e[0]);
        // Counted over every file, not per file: 2 + 2 × 40 > 64, each file well under it.
        write(d.path(), "forty.inc", &includes(40));
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}$INCLUDE forty.inc\n$INCLUDE forty.inc\n"),
        );
        let e = load_file(&p).unwrap_err();
        // The 65th: the 2nd include of the zone file, then 40 + 22 in forty.inc.
        assert_eq!(lines(&e), [(d.path().join("forty.inc"), 23)], "{e:?}");
    }

    #[test]
    fn files_over_64_mib_are_refused_before_they_are_read() {
        let d = tempfile::tempdir().unwrap();
        // Sparse: its size says 64 MiB + 1 without writing it, and nothing reads it.
        let big = d.path().join("big.inc");
        fs::File::create(&big)
            .unwrap()
            .set_len(MAX_ZONE_BYTES + 1)
            .unwrap();
        let p = d.path().join("example.zone");
        fs::File::create(&p)
            .unwrap()
            .set_len(MAX_ZONE_BYTES + 1)
            .unwrap();
        let e = load_file(&p).unwrap_err();
        assert_eq!(e[0].file, p);
        assert!(e[0].message.contains("67108865 bytes"), "{}", e[0]);
        assert!(e[0].message.contains("64 MiB"), "{}", e[0]);
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}$INCLUDE big.inc\n"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 5)], "{e:?}");
        assert!(
            e[0].message.contains("big.inc is 67108865 bytes"),
            "{}",
            e[0]
        );
    }

    #[test]
    fn a_file_larger_than_its_size_says_is_cut_off_at_the_limit() {
        // A device reports size 0 and never ends: only the bounded read stops it.
        let zero = Path::new("/dev/zero");
        if !zero.exists() {
            return;
        }
        let d = tempfile::tempdir().unwrap();
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}$INCLUDE /dev/zero\n"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 5)], "{e:?}");
        assert!(e[0].message.contains("past 67108864 bytes"), "{}", e[0]);
    }

    #[test]
    fn lines_over_64_kib_are_errors_naming_their_line() {
        let d = tempfile::tempdir().unwrap();
        let at_limit = format!(";{}\n", "x".repeat(MAX_LINE_BYTES - 1));
        let p = write(d.path(), "example.zone", &format!("{APEX}{at_limit}"));
        load_file(&p).unwrap();
        let long = format!("www TXT \"{}\"\n", "x".repeat(65 * 1024));
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}ok A 192.0.2.2\n{long}"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(p.clone(), 6)], "{e:?}");
        assert!(e[0].message.contains("64 KiB"), "{}", e[0]);
        // In an included file: that file and its line.
        let inc = write(d.path(), "long.inc", &format!("\n{long}"));
        let p = write(
            d.path(),
            "example.zone",
            &format!("{APEX}$INCLUDE long.inc\n"),
        );
        let e = load_file(&p).unwrap_err();
        assert_eq!(lines(&e), [(inc, 2)], "{e:?}");
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
