//! The directives (`$ORIGIN`, `$TTL`, `$INCLUDE`; `$GENERATE` is `generate`'s) and the input
//! bounds of a zone's files: each file read with its size bounded, one at a time, at most 64
//! KiB a line, at most 64 `$INCLUDE`s in a zone and 8 deep.
//!
//! `$INCLUDE file [origin]` (RFC 1035 §5.1): the file, relative to the including file's
//! directory, is read under the given origin or else the current one; when it ends, the origin
//! and the previous owner are again what they were before it (its `$ORIGIN` does not leak back).
//! Must not: read records (see `mod`).

use std::fs;
use std::io::Read;
use std::path::Path;

use super::Reader;
use super::text::{self, show};
use super::token::Tok;

/// Most nested `$INCLUDE`s (a file that includes itself would otherwise never end).
pub const MAX_INCLUDE_DEPTH: usize = 8;

/// Most `$INCLUDE` directives one zone may expand, in all its files together. Depth alone does
/// not bound the work: eight levels of files that each include the next eight times are 8⁸
/// (16.7 million) expansions, and one line of text each.
pub const MAX_INCLUDES: usize = 64;

/// Largest zone file, and largest file a zone includes: checked before a byte is read (from
/// the file's size) and while reading (a file that grows, or a device, stops here). One file's
/// text is held at a time (with the files that include it), so a reload commits at most a few
/// times this to text; a zone may be larger through `$INCLUDE`.
pub const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Longest line of a zone file. The longest legitimate record fits many times over (64 KiB of
/// RDATA is about 130 KiB as hex, but it is written over several lines in parentheses).
pub const MAX_LINE_BYTES: usize = 64 * 1024;

/// Why a file's bytes could not be had.
pub(crate) enum ReadError {
    /// Reading failed (absent, unreadable).
    Io(std::io::Error),
    /// Larger than allowed: the file's size, when its metadata told it.
    TooBig(Option<u64>),
}

impl ReadError {
    /// The words for it, about `path` (`zone`: the zone file itself, not an included one).
    pub(crate) fn message(&self, path: &Path, zone: bool) -> String {
        match (self, zone) {
            (ReadError::Io(e), true) => format!("cannot read zone file: {e}"),
            (ReadError::Io(e), false) => format!("cannot read {}: {e}", path.display()),
            (ReadError::TooBig(Some(size)), true) => format!(
                "zone file is {size} bytes; a zone file may be at most {MAX_FILE_BYTES} bytes (64 MiB)"
            ),
            (ReadError::TooBig(Some(size)), false) => format!(
                "{} is {size} bytes; a zone file may be at most {MAX_FILE_BYTES} bytes (64 MiB)",
                path.display()
            ),
            (ReadError::TooBig(None), _) => format!(
                "{} grew past {MAX_FILE_BYTES} bytes while it was read; a zone file may be at most 64 MiB",
                path.display()
            ),
        }
    }
}

/// Reads `path`, at most `limit` bytes: its size is checked first and the read is bounded, so
/// neither a large file nor one that grows while read takes more memory.
pub(crate) fn read_bounded(path: &Path, limit: u64) -> Result<Vec<u8>, ReadError> {
    let file = fs::File::open(path).map_err(ReadError::Io)?;
    let meta = file.metadata().map_err(ReadError::Io)?;
    if meta.is_dir() {
        return Err(ReadError::Io(std::io::Error::other("it is a directory")));
    }
    let size = meta.len();
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
    Ok(bytes)
}

/// The first line (from 1) longer than `MAX_LINE_BYTES`, and its length.
pub(crate) fn long_line(text: &[u8]) -> Option<(u32, usize)> {
    if text.len() <= MAX_LINE_BYTES {
        return None;
    }
    text.split(|&b| b == b'\n')
        .enumerate()
        .find(|(_, l)| l.len() > MAX_LINE_BYTES)
        .map(|(i, l)| (i as u32 + 1, l.len()))
}

impl Reader {
    /// Reads a `$` entry of file `file`.
    pub(super) fn directive(
        &mut self,
        file: u16,
        text: &[u8],
        toks: &[Tok],
        origin: &mut Option<Vec<u8>>,
        depth: usize,
    ) {
        let word = toks[0].bytes(text);
        let is = |w: &[u8]| word.eq_ignore_ascii_case(w);
        if is(b"$GENERATE") {
            self.generate(file, text, toks, origin.as_deref());
            return;
        }
        let (args, most, shape) = if is(b"$ORIGIN") {
            (1, 1, "$ORIGIN needs one domain name")
        } else if is(b"$TTL") {
            (1, 1, "$TTL needs one TTL")
        } else if is(b"$INCLUDE") {
            (
                1,
                2,
                "$INCLUDE needs a file name, and may have an origin after it",
            )
        } else {
            let m = format!(
                "unknown directive {} (there are $ORIGIN, $TTL, $INCLUDE and $GENERATE)",
                show(word)
            );
            self.error_at(file, &toks[0], m);
            return;
        };
        let given = toks.len() - 1;
        if given < args {
            self.error_at(file, &toks[0], shape);
            return;
        }
        if given > most {
            let m = format!(
                "{shape}; {} is one too many",
                show(toks[most + 1].bytes(text))
            );
            self.error_at(file, &toks[most + 1], m);
            return;
        }
        let arg = &toks[1];
        if is(b"$ORIGIN") {
            // Absolute, as NSD and Knot require (BIND would append the current origin).
            let b = arg.bytes(text);
            let escaped = b.iter().rev().skip(1).take_while(|&&c| c == b'\\').count() % 2 == 1;
            if b.last() != Some(&b'.') || escaped {
                let m = format!(
                    "$ORIGIN needs an absolute name, ending in a dot: {}.",
                    show(b)
                );
                self.error_at(file, arg, m);
                return;
            }
            match text::name(b, None, &mut self.scratch) {
                Ok(()) => *origin = Some(self.scratch.clone()),
                Err(m) => self.error_at(file, arg, m),
            }
        } else if is(b"$TTL") {
            match text::ttl(arg.bytes(text)) {
                Ok(v) => self.default_ttl = Some(v),
                Err(m) => self.error_at(file, arg, m),
            }
        } else {
            self.include(file, text, toks, origin.as_deref(), depth);
        }
    }

    fn include(
        &mut self,
        file: u16,
        text: &[u8],
        toks: &[Tok],
        origin: Option<&[u8]>,
        depth: usize,
    ) {
        let here = toks[0];
        // What the file would have held is unknown, an SOA perhaps.
        self.saw_soa = true;
        if depth >= MAX_INCLUDE_DEPTH {
            self.error_at(
                file,
                &here,
                format!(
                    "$INCLUDE nested more than {MAX_INCLUDE_DEPTH} deep (does a file include itself?)"
                ),
            );
            return;
        }
        self.includes += 1;
        if self.includes > MAX_INCLUDES + 1 {
            // Said once, at the first one too many.
            return;
        }
        if self.includes > MAX_INCLUDES {
            self.error_at(
                file,
                &here,
                format!(
                    "more than {MAX_INCLUDES} $INCLUDEs in this zone (counted over all its files)"
                ),
            );
            return;
        }
        let mut name = Vec::new();
        if let Err(m) = text::unescape(toks[1].bytes(text), &mut name) {
            self.error_at(file, &toks[1], m);
            return;
        }
        let inner = match toks.get(2) {
            None => origin.map(<[u8]>::to_vec),
            Some(t) => match text::name(t.bytes(text), origin, &mut self.scratch) {
                Ok(()) => Some(self.scratch.clone()),
                Err(m) => {
                    self.error_at(file, t, format!("bad origin for $INCLUDE: {m}"));
                    return;
                }
            },
        };
        let name = String::from_utf8_lossy(&name).into_owned();
        let including = &self.files[file as usize];
        let path = including.parent().unwrap_or(Path::new(".")).join(name);
        let bytes = match read_bounded(&path, MAX_FILE_BYTES) {
            Ok(b) => b,
            Err(e) => {
                let m = e.message(&path, false);
                // A file that cannot be read is the file name's fault; a bound, the directive's.
                let at = match e {
                    ReadError::Io(_) => toks[1],
                    ReadError::TooBig(_) => here,
                };
                self.error_at(file, &at, m);
                return;
            }
        };
        let index = self.files.len() as u16;
        self.files.push(path);
        self.digests.push(crate::zone::digest(&bytes));
        let saved = (self.owner.clone(), self.has_owner);
        let mut inner = inner;
        self.read_file(index, &bytes, &mut inner, depth + 1);
        (self.owner, self.has_owner) = saved;
    }
}
