//! gslb's own zone-file reader (RFC 1035 §5, RFC 3597, BIND's `$GENERATE`): one file at a time,
//! straight into the build's staged buffer, every error at the `file:line:col` of the token it
//! is about.
//!
//! Owns: the meaning of an entry (owner, TTL, class, type, RDATA; an omitted owner, TTL or
//! class), the TTL rules, and the zone's state across entries and files. The pieces: `token`
//! (entries and tokens), `text` (names, strings, numbers, TTLs), `rdata` (types and their
//! RDATA), `directive` (`$ORIGIN`, `$TTL`, `$INCLUDE`, the input bounds), `generate`
//! (`$GENERATE`), `errors` (the collected errors and their cap). Must not: check zone-wide
//! rules (CNAME, SOA, NS, out-of-zone data: `zone::build`) or decide which files are zones
//! (`zone::file`).
//!
//! TTLs: a record's own TTL; else the last `$TTL`; else the last TTL written on a record (RFC
//! 1035 §5.1); else, for the SOA, its MINIMUM field, which later records then inherit (what
//! BIND does for a zone without `$TTL`). A record with none of these is an error.

mod directive;
mod errors;
mod generate;
mod rdata;
mod text;
mod token;

use std::path::{Path, PathBuf};

pub use directive::{MAX_FILE_BYTES, MAX_INCLUDE_DEPTH, MAX_INCLUDES, MAX_LINE_BYTES};
pub use errors::MAX_ERRORS;
pub use generate::MAX_GENERATED;
pub(crate) use rdata::type_name;
pub(crate) use text::name as text_name;

use super::build::{Pos, Staged};
use crate::diag::Diagnostic;
use crate::wire::rtype;
use errors::Errors;
use token::{Lexer, Tok};

/// What reading a zone's files produced.
pub(crate) struct Read {
    /// Every record read, in order, with its position.
    pub(crate) staged: Staged,
    /// Every file read, the zone file first; a record's `Pos::file` indexes it.
    pub(crate) files: Vec<PathBuf>,
    /// The digest of each file's bytes, in the same order.
    pub(crate) digests: Vec<u64>,
    /// Every error (capped).
    pub(crate) errors: Vec<Diagnostic>,
}

/// Reads the zone file `path` and everything it includes, with `origin` (a wire name) as the
/// origin before any `$ORIGIN`. When no entry of any file is an SOA record, the one error is
/// that the file is not a zone file.
pub(crate) fn read_zone(path: &Path, origin: Option<&[u8]>) -> Read {
    let mut r = Reader {
        staged: Staged::default(),
        files: vec![path.to_path_buf()],
        digests: Vec::new(),
        errors: Errors::default(),
        saw_soa: false,
        includes: 0,
        generated: 0,
        default_ttl: None,
        last_ttl: None,
        owner: Vec::new(),
        has_owner: false,
        name: Vec::with_capacity(256),
        rdata: Vec::with_capacity(512),
        scratch: Vec::with_capacity(256),
    };
    let mut origin = origin.map(<[u8]>::to_vec);
    match directive::read_bounded(path, MAX_FILE_BYTES) {
        Ok(text) => {
            r.digests.push(super::digest(&text));
            r.read_file(0, &text, &mut origin, 0);
        }
        Err(e) => {
            r.digests.push(0);
            r.errors.push(path, 0, 0, e.message(path, true));
            r.saw_soa = true;
        }
    }
    if !r.saw_soa {
        r.errors.clear();
        r.errors.push(path, 0, 0, "not a zone file (no SOA)");
    }
    Read {
        staged: r.staged,
        files: r.files,
        digests: r.digests,
        errors: r.errors.into_vec(),
    }
}

/// The reader's state over one zone.
struct Reader {
    staged: Staged,
    files: Vec<PathBuf>,
    digests: Vec<u64>,
    errors: Errors,
    /// Whether any entry was an SOA record (even a broken one), or some file could not be read
    /// whole (then it cannot be said there is none).
    saw_soa: bool,
    /// `$INCLUDE`s so far, in all files.
    includes: usize,
    /// Records made by `$GENERATE` so far.
    generated: usize,
    /// The last `$TTL`.
    default_ttl: Option<u32>,
    /// The last TTL a record gave (or the SOA's MINIMUM, without any).
    last_ttl: Option<u32>,
    /// The previous owner, lower-cased wire form.
    owner: Vec<u8>,
    has_owner: bool,
    name: Vec<u8>,
    rdata: Vec<u8>,
    scratch: Vec<u8>,
}

impl Reader {
    fn error_at(&mut self, file: u16, t: &Tok, message: impl Into<String>) {
        self.errors
            .push(&self.files[file as usize], t.line, t.col, message);
    }

    /// Reads the entries of `text`, file `file`, under `origin` (which `$ORIGIN` changes).
    fn read_file(&mut self, file: u16, text: &[u8], origin: &mut Option<Vec<u8>>, depth: usize) {
        if let Some((line, len)) = directive::long_line(text) {
            self.saw_soa = true;
            self.errors.push(
                &self.files[file as usize],
                line,
                1,
                format!(
                    "line is {len} bytes long; a zone file line may be at most {MAX_LINE_BYTES} bytes (64 KiB): split the record over lines in parentheses"
                ),
            );
            return;
        }
        let mut lexer = Lexer::new(text);
        let mut toks = Vec::with_capacity(16);
        while let Some(entry) = lexer.next_entry(&mut toks) {
            match entry {
                Err(e) => self
                    .errors
                    .push(&self.files[file as usize], e.line, e.col, e.message),
                Ok(start) => {
                    if !start.blank_start && toks[0].bytes(text).first() == Some(&b'$') {
                        self.directive(file, text, &toks, origin, depth);
                    } else {
                        self.record(file, text, &toks, start.blank_start, origin.as_deref());
                    }
                }
            }
        }
    }

    /// Reads one record entry; false when it was an error.
    fn record(
        &mut self,
        file: u16,
        text: &[u8],
        toks: &[Tok],
        blank_start: bool,
        origin: Option<&[u8]>,
    ) -> bool {
        let first = toks[0];
        let mut i = 0;
        if blank_start {
            if !self.has_owner {
                self.error_at(
                    file,
                    &first,
                    "this line starts with a blank, so it continues the previous owner, and there is none",
                );
                return false;
            }
        } else {
            if let Err(m) = text::name(first.bytes(text), origin, &mut self.name) {
                self.has_owner = false;
                self.error_at(file, &first, m);
                return false;
            }
            // Length octets are at most 63, below b'A': lower-casing leaves them be.
            self.name.make_ascii_lowercase();
            std::mem::swap(&mut self.owner, &mut self.name);
            self.has_owner = true;
            i = 1;
        }
        let mut ttl = None;
        let mut class = false;
        let type_tok = loop {
            let Some(t) = toks.get(i) else {
                let last = toks[toks.len() - 1];
                self.error_at(
                    file,
                    &last,
                    format!(
                        "a record type is missing after {}",
                        text::show(last.bytes(text))
                    ),
                );
                return false;
            };
            let b = t.bytes(text);
            if ttl.is_none() && b.first().is_some_and(u8::is_ascii_digit) {
                match text::ttl(b) {
                    Ok(v) => ttl = Some(v),
                    Err(m) => {
                        self.error_at(file, t, m);
                        return false;
                    }
                }
                i += 1;
                continue;
            }
            if !class
                && !t.quoted
                && let Some(is_in) = rdata::class(b)
            {
                if !is_in {
                    let m = format!("class {} is not served (only IN)", text::show(b));
                    self.error_at(file, t, m);
                    return false;
                }
                class = true;
                i += 1;
                continue;
            }
            break *t;
        };
        let b = type_tok.bytes(text);
        let code = match rdata::type_code(b) {
            Some(c) if !type_tok.quoted => c,
            _ => {
                let m = format!("unknown record type {}", text::show(b));
                self.error_at(file, &type_tok, m);
                return false;
            }
        };
        if code == rtype::SOA {
            self.saw_soa = true;
        }
        if rdata::refused(code) {
            let m = format!("{} is not a record a zone may hold", rdata::type_name(code));
            self.error_at(file, &type_tok, m);
            return false;
        }
        let fields = &toks[i + 1..];
        self.rdata.clear();
        if let Err(e) = rdata::rdata(
            code,
            text,
            fields,
            origin,
            &mut self.rdata,
            &mut self.scratch,
        ) {
            let t = e.at.and_then(|k| fields.get(k)).unwrap_or(&type_tok);
            self.error_at(file, &t.clone(), e.message);
            return false;
        }
        if self.rdata.len() > usize::from(u16::MAX) {
            let m = format!(
                "this record's RDATA is {} bytes; a record holds at most 65535",
                self.rdata.len()
            );
            self.error_at(file, &type_tok, m);
            return false;
        }
        let ttl = match ttl {
            Some(v) => {
                self.last_ttl = Some(v);
                v
            }
            None => match (self.default_ttl, self.last_ttl) {
                (Some(v), _) | (None, Some(v)) => v,
                (None, None) if code == rtype::SOA => {
                    let n = self.rdata.len();
                    let min = u32::from_be_bytes([
                        self.rdata[n - 4],
                        self.rdata[n - 3],
                        self.rdata[n - 2],
                        self.rdata[n - 1],
                    ]);
                    self.last_ttl = Some(min);
                    min
                }
                (None, None) => {
                    self.error_at(
                        file,
                        &type_tok,
                        "this record has no TTL and none comes before it: give it one, or set $TTL at the top of the file",
                    );
                    return false;
                }
            },
        };
        let pos = Pos {
            file,
            line: first.line,
            col: first.col,
        };
        self.staged.push(&self.owner, pos, code, ttl, &self.rdata);
        true
    }
}

#[cfg(test)]
mod tests;
