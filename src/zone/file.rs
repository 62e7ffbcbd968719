//! Which files of the zones directory are zones, each file's default origin, and turning what
//! the reader and the build found into `file:line:col` diagnostics in the file they are in.
//!
//! Owns: the directory listing (what is skipped), the origin from a file name, and gluing
//! `reader` to `build` (the sources a zone was read from). Must not: read zone text (see
//! `reader`) or decide answers.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::Zone;
use super::reader::{read_zone, text_name};
use crate::diag::Diagnostic;

pub use super::reader::{
    MAX_ERRORS, MAX_FILE_BYTES, MAX_GENERATED, MAX_INCLUDE_DEPTH, MAX_INCLUDES, MAX_LINE_BYTES,
};

/// Endings of files in the zones directory that are not zones: editors' backups and swap
/// files, patch leftovers, notes.
const SKIPPED_ENDINGS: [&str; 7] = ["~", ".swp", ".bak", ".orig", ".rej", ".md", ".txt"];

/// Whether a file in the zones directory is read as a zone: not hidden (`.` first) and not one
/// of `SKIPPED_ENDINGS`.
pub fn is_zone_file_name(name: &str) -> bool {
    !name.starts_with('.') && !SKIPPED_ENDINGS.iter().any(|e| name.ends_with(e))
}

/// Loads every zone file in `dir`: regular files (or symlinks to one) whose name
/// `is_zone_file_name`. Subdirectories are not read (a place for `$INCLUDE`d pieces).
pub fn load_dir(dir: &Path) -> Result<Vec<Arc<Zone>>, Vec<Diagnostic>> {
    load_dir_reusing(dir, &|_| None)
}

/// `load_dir`, except that a zone file for which `reuse` gives a zone is not read: that zone
/// stands for it (a reload's running copy of a file that has not changed).
pub fn load_dir_reusing(
    dir: &Path,
    reuse: &dyn Fn(&Path) -> Option<Arc<Zone>>,
) -> Result<Vec<Arc<Zone>>, Vec<Diagnostic>> {
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
            is_zone_file_name(n) && p.is_file()
        })
        .collect();
    files.sort();
    let mut zones = Vec::new();
    let mut errors = Vec::new();
    for f in files {
        match reuse(&f).map_or_else(|| load_file(&f).map(Arc::new), Ok) {
            Ok(z) => {
                if let Some(other) = zones.iter().find(|o: &&Arc<Zone>| o.origin == z.origin) {
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

/// The origin a file's relative names start from before any `$ORIGIN`, as a wire name: its file
/// name without a `.zone` or `.db` ending (`example.com.zone` → `example.com.`).
fn origin_from_file_name(path: &Path) -> Option<Vec<u8>> {
    let name = path.file_name()?.to_str()?;
    let base = name
        .strip_suffix(".zone")
        .or_else(|| name.strip_suffix(".db"))
        .unwrap_or(name);
    let base = base.strip_suffix('.').unwrap_or(base);
    let mut out = Vec::new();
    text_name(format!("{base}.").as_bytes(), None, &mut out).ok()?;
    Some(out)
}

/// Loads and validates one zone file: every error of it and of the files it includes, each in
/// the file it is in (capped at `MAX_ERRORS`).
pub fn load_file(path: &Path) -> Result<Zone, Vec<Diagnostic>> {
    let origin = origin_from_file_name(path);
    let read = read_zone(path, origin.as_deref());
    let mut errors = read.errors;
    if errors.len() >= MAX_ERRORS || (!errors.is_empty() && read.staged.len() == 0) {
        return Err(errors);
    }
    let files = read.files;
    match Zone::build(path.to_path_buf(), read.staged, &files) {
        Ok(mut zone) if errors.is_empty() => {
            zone.sources = files
                .into_iter()
                .zip(read.digests)
                .map(|(path, digest)| super::Source { path, digest })
                .collect();
            Ok(zone)
        }
        Ok(_) => Err(errors),
        Err(mut problems) => {
            if !errors.is_empty() {
                // "No SOA" when the reader already said what was wrong with it.
                problems.retain(|p| p.pos.is_some());
            }
            let room = MAX_ERRORS.saturating_sub(errors.len());
            let more = problems.len().saturating_sub(room);
            let shown = problems.len() - more;
            errors.extend(problems.into_iter().take(shown).map(|p| match p.pos {
                Some(pos) => Diagnostic::new(
                    &files[pos.file as usize],
                    pos.line as usize,
                    pos.col as usize,
                    p.message,
                ),
                None => Diagnostic::new(path, 0, 0, p.message),
            }));
            errors.sort_by(|a, b| (&a.file, a.line, a.col).cmp(&(&b.file, b.line, b.col)));
            if more > 0 {
                let summary = format!("… and {more} more errors");
                errors.push(Diagnostic::new(path, 0, 0, summary));
            }
            Err(errors)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_name_gives_the_default_origin() {
        let n = origin_from_file_name(Path::new("/z/example.com.zone")).unwrap();
        assert_eq!(n, b"\x07example\x03com\x00");
        let n = origin_from_file_name(Path::new("example.org")).unwrap();
        assert_eq!(n, b"\x07example\x03org\x00");
        let n = origin_from_file_name(Path::new("example.net.db")).unwrap();
        assert_eq!(n, b"\x07example\x03net\x00");
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
            .set_len(MAX_FILE_BYTES + 1)
            .unwrap();
        let p = d.path().join("example.zone");
        fs::File::create(&p)
            .unwrap()
            .set_len(MAX_FILE_BYTES + 1)
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
        let key = crate::wire::name::key_of(&hickory_proto::rr::Name::from_ascii(name).unwrap());
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
