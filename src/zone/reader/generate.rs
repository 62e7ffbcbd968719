//! BIND's `$GENERATE start-stop[/step] lhs [ttl] [class] type rhs…`: one record per value of
//! the range, each token with `$` replaced by the value and `${offset[,width[,base]]}` by the
//! value plus offset, zero-padded to width, in base `d` (decimal), `o` (octal), `x`/`X` (hex) or
//! `n`/`N` (hex nibbles, lowest first, dot-separated: for `ip6.arpa`; width counts nibbles);
//! `\$` is a `$`. Any record type may be generated.
//!
//! Owns: the range, the templates and the bound on generated records. Must not: read the
//! generated records itself (they go through `mod`'s record reading, positioned at the
//! `$GENERATE`'s tokens).

use super::Reader;
use super::text::{self, show};
use super::token::Tok;

/// Most records `$GENERATE` may make in one zone, over all its directives: room for 4 million,
/// beyond which a typo in a range (`1-100000000`) would take the server's memory.
pub const MAX_GENERATED: usize = 1 << 22;

/// One template token's replacement for value `v`, appended to `out`.
fn expand(tok: &[u8], v: i64, out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while i < tok.len() {
        let c = tok[i];
        if c == b'\\' {
            // Kept for the reader of the record, which resolves it (`\$` is a `$`).
            out.push(c);
            if let Some(&n) = tok.get(i + 1) {
                out.push(n);
            }
            i += 2;
            continue;
        }
        if c != b'$' {
            out.push(c);
            i += 1;
            continue;
        }
        let (mut offset, mut width, mut base) = (0i64, 0usize, b'd');
        i += 1;
        if tok.get(i) == Some(&b'{') {
            let close = tok[i..]
                .iter()
                .position(|&b| b == b'}')
                .ok_or_else(|| format!("{}: ${{ without }}", show(tok)))?;
            let inner = &tok[i + 1..i + close];
            let bad = || {
                format!(
                    "{}: write ${{offset,width,base}}, e.g. ${{0,3,d}} (base d, o, x, X, n or N)",
                    show(tok)
                )
            };
            let mut parts = inner.split(|&b| b == b',');
            let o = parts.next().unwrap_or_default();
            let (neg, digits) = match o.first() {
                Some(b'-') => (true, &o[1..]),
                Some(b'+') => (false, &o[1..]),
                _ => (false, o),
            };
            let magnitude =
                text::number(digits, u64::from(u32::MAX), "offset").map_err(|_| bad())?;
            offset = if neg {
                -(magnitude as i64)
            } else {
                magnitude as i64
            };
            if let Some(w) = parts.next() {
                width = text::number(w, 255, "width").map_err(|_| bad())? as usize;
            }
            if let Some(b) = parts.next() {
                base = match b {
                    [x @ (b'd' | b'o' | b'x' | b'X' | b'n' | b'N')] => *x,
                    _ => return Err(bad()),
                };
            }
            if parts.next().is_some() {
                return Err(bad());
            }
            i += close + 1;
        }
        let value = v + offset;
        if value < 0 {
            return Err(format!("{}: the value {value} is below 0", show(tok)));
        }
        let value = value as u64;
        let digits = match base {
            b'o' => format!("{value:0width$o}"),
            b'x' | b'n' => format!("{value:0width$x}"),
            b'X' | b'N' => format!("{value:0width$X}"),
            _ => format!("{value:0width$}"),
        };
        if matches!(base, b'n' | b'N') {
            for (k, d) in digits.bytes().rev().enumerate() {
                if k > 0 {
                    out.push(b'.');
                }
                out.push(d);
            }
        } else {
            out.extend_from_slice(digits.as_bytes());
        }
    }
    Ok(())
}

/// The range `start-stop[/step]`.
fn range(tok: &[u8]) -> Result<(u64, u64, u64), String> {
    let bad = || {
        format!(
            "$GENERATE range {} is not start-stop or start-stop/step",
            show(tok)
        )
    };
    let (span, step) = match tok.iter().position(|&b| b == b'/') {
        Some(p) => (&tok[..p], Some(&tok[p + 1..])),
        None => (tok, None),
    };
    let dash = span.iter().position(|&b| b == b'-').ok_or_else(bad)?;
    let max = i32::MAX as u64;
    let start = text::number(&span[..dash], max, "$GENERATE start").map_err(|_| bad())?;
    let stop = text::number(&span[dash + 1..], max, "$GENERATE stop").map_err(|_| bad())?;
    let step = match step {
        None => 1,
        Some(s) => text::number(s, max, "$GENERATE step").map_err(|_| bad())?,
    };
    if start > stop {
        return Err(format!(
            "$GENERATE range {}: the start is above the stop",
            show(tok)
        ));
    }
    if step == 0 {
        return Err(format!("$GENERATE range {}: the step is 0", show(tok)));
    }
    Ok((start, stop, step))
}

impl Reader {
    /// Reads a `$GENERATE` entry: its records, or its first error.
    pub(super) fn generate(&mut self, file: u16, text: &[u8], toks: &[Tok], origin: Option<&[u8]>) {
        if toks.len() < 5 {
            self.error_at(
                file,
                &toks[0],
                "$GENERATE needs a range, an owner, a type and RDATA: $GENERATE 1-10 host$ A 192.0.2.$",
            );
            return;
        }
        let (start, stop, step) = match range(toks[1].bytes(text)) {
            Ok(r) => r,
            Err(m) => {
                self.error_at(file, &toks[1], m);
                return;
            }
        };
        let count = ((stop - start) / step + 1) as usize;
        if self.generated + count > MAX_GENERATED {
            let m = format!(
                "$GENERATE would make {count} records, past the {MAX_GENERATED} this zone may generate in all"
            );
            self.error_at(file, &toks[1], m);
            return;
        }
        self.generated += count;
        let templates = &toks[2..];
        let mut buf = Vec::with_capacity(256);
        let mut made: Vec<Tok> = Vec::with_capacity(templates.len());
        let mut v = start;
        while v <= stop {
            buf.clear();
            made.clear();
            for t in templates {
                let from = buf.len();
                if let Err(m) = expand(t.bytes(text), v as i64, &mut buf) {
                    self.error_at(file, t, m);
                    return;
                }
                made.push(Tok {
                    start: from as u32,
                    end: buf.len() as u32,
                    ..*t
                });
            }
            if !self.record(file, &buf, &made, false, origin) {
                return;
            }
            v += step;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(tok: &str, v: i64) -> Result<String, String> {
        let mut out = Vec::new();
        expand(tok.as_bytes(), v, &mut out).map(|()| String::from_utf8(out).unwrap())
    }

    #[test]
    fn templates() {
        assert_eq!(e("host$", 7).unwrap(), "host7");
        assert_eq!(e("$.$", 7).unwrap(), "7.7");
        assert_eq!(e("h${10}", 7).unwrap(), "h17");
        assert_eq!(e("h${-2,3}", 7).unwrap(), "h005");
        assert_eq!(e("${0,4,x}", 255).unwrap(), "00ff");
        assert_eq!(e("${0,2,X}", 255).unwrap(), "FF");
        assert_eq!(e("${0,0,o}", 8).unwrap(), "10");
        assert_eq!(e("${0,4,n}", 0x1ab).unwrap(), "b.a.1.0");
        assert_eq!(e("a\\$b", 7).unwrap(), "a\\$b");
        assert!(e("${-9}", 7).unwrap_err().contains("below 0"));
        assert!(e("${1,2,q}", 7).unwrap_err().contains("offset,width,base"));
        assert!(e("${1", 7).unwrap_err().contains("without }"));
    }

    #[test]
    fn ranges() {
        assert_eq!(range(b"1-10"), Ok((1, 10, 1)));
        assert_eq!(range(b"0-100/25"), Ok((0, 100, 25)));
        assert!(range(b"10-1").unwrap_err().contains("start is above"));
        assert!(range(b"1-10/0").unwrap_err().contains("step is 0"));
        assert!(range(b"1..10").unwrap_err().contains("is not start-stop"));
    }
}
