//! Whether a running zone can serve on after a reload without being read again: every file it
//! was built from still holds the bytes it was built from.
//!
//! Owns: that comparison (each source re-read and digested, the zone file first). Must not:
//! parse zone text or decide which zones a reload keeps (that is `load`).

use std::io::Read;

use super::Zone;
use super::file::MAX_FILE_BYTES;

/// Whether every file `zone` was read from still has the digest it had when the zone was
/// built. The zone file comes first in `sources`: when its bytes are unchanged, its
/// `$INCLUDE`s name the same files, so comparing the listed files is the whole check. A file
/// that cannot be read, or is larger than a zone may be, is a change (the reload then reads the
/// zone afresh and reports what is wrong).
pub fn unchanged(zone: &Zone) -> bool {
    !zone.sources.is_empty()
        && zone.sources.iter().all(|s| {
            let Ok(file) = std::fs::File::open(&s.path) else {
                return false;
            };
            let mut bytes = Vec::new();
            match file.take(MAX_FILE_BYTES + 1).read_to_end(&mut bytes) {
                Ok(n) if n as u64 <= MAX_FILE_BYTES => super::digest(&bytes) == s.digest,
                _ => false,
            }
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zone_is_unchanged_until_one_of_its_files_is() {
        let dir = tempfile::tempdir().unwrap();
        let main = dir.path().join("example.zone");
        let piece = dir.path().join("piece.inc");
        std::fs::write(
            &main,
            "$ORIGIN example.\n@ 300 SOA ns h 1 2 3 4 60\n@ 300 NS ns\n$INCLUDE piece.inc\n",
        )
        .unwrap();
        std::fs::write(&piece, "ns 300 A 192.0.2.1\n").unwrap();
        let zone = super::super::file::load_file(&main).unwrap();
        assert_eq!(zone.sources.len(), 2, "{:?}", zone.sources);
        assert!(unchanged(&zone));
        // Rewritten with the same bytes: still the same zone.
        std::fs::write(&piece, "ns 300 A 192.0.2.1\n").unwrap();
        assert!(unchanged(&zone));
        std::fs::write(&piece, "ns 300 A 192.0.2.2\n").unwrap();
        assert!(!unchanged(&zone), "an included file changed");
        std::fs::write(&piece, "ns 300 A 192.0.2.1\n").unwrap();
        std::fs::remove_file(&main).unwrap();
        assert!(!unchanged(&zone), "the zone file is gone");
    }
}
