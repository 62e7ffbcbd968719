//! The values a token can spell (RFC 1035 §5.1): domain names straight into wire form, with
//! `@`, relative names and the `\X` / `\DDD` escapes; character strings; decimal numbers; TTLs
//! with units (`1h30m`, `1w`).
//!
//! Owns: those conversions and their error wording (each quotes the token). Must not: know
//! which token of an entry is which (see `mod` and `rdata`) or allocate beyond the caller's
//! buffers.

/// The largest TTL (RFC 2181 §8).
pub(crate) const MAX_TTL: u64 = 2_147_483_647;

/// A token for an error message.
pub(crate) fn show(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Reads the escape at `bytes[i]` (just past a `\`): `\DDD` (a decimal byte value) or `\X` (X
/// itself). Returns the byte and how many bytes the escape took after the backslash.
fn escape(bytes: &[u8], i: usize, whole: &[u8]) -> Result<(u8, usize), String> {
    let Some(&c) = bytes.get(i) else {
        return Err(format!("{} ends in a lone \\", show(whole)));
    };
    if c.is_ascii_digit() {
        let digits = bytes
            .get(i..i + 3)
            .filter(|d| d.iter().all(u8::is_ascii_digit));
        let Some(d) = digits else {
            return Err(format!("{}: \\DDD needs three decimal digits", show(whole)));
        };
        let v = u32::from(d[0] - b'0') * 100 + u32::from(d[1] - b'0') * 10 + u32::from(d[2] - b'0');
        if v > 255 {
            return Err(format!(
                "{}: \\{} is not a byte (at most \\255)",
                show(whole),
                show(d)
            ));
        }
        return Ok((v as u8, 3));
    }
    Ok((c, 1))
}

/// Appends the wire form of the name `tok` to `out` (cleared first), letter case as written:
/// `@` is `origin`, a name not ending in `.` is relative to it. `origin` is a wire name, or
/// None when the file has none (then only absolute names can be read).
pub(crate) fn name(tok: &[u8], origin: Option<&[u8]>, out: &mut Vec<u8>) -> Result<(), String> {
    out.clear();
    if tok == b"@" {
        let Some(o) = origin else {
            return Err("@ stands for the origin, and no $ORIGIN is set".into());
        };
        out.extend_from_slice(o);
        return Ok(());
    }
    if tok == b"." {
        out.push(0);
        return Ok(());
    }
    if tok.is_empty() {
        return Err("an empty name".into());
    }
    let mut i = 0;
    let mut label_at = 0;
    out.push(0);
    let mut absolute = false;
    while i < tok.len() {
        let c = tok[i];
        match c {
            b'.' => {
                let len = out.len() - label_at - 1;
                if len == 0 {
                    return Err(format!("{} has an empty label", show(tok)));
                }
                out[label_at] = len as u8;
                i += 1;
                if i == tok.len() {
                    absolute = true;
                    break;
                }
                label_at = out.len();
                out.push(0);
                continue;
            }
            b'\\' => {
                let (b, used) = escape(tok, i + 1, tok)?;
                out.push(b);
                i += 1 + used;
            }
            _ => {
                out.push(c);
                i += 1;
            }
        }
        if out.len() - label_at - 1 > 63 {
            return Err(format!("{} has a label longer than 63 octets", show(tok)));
        }
    }
    if absolute {
        out.push(0);
    } else {
        out[label_at] = (out.len() - label_at - 1) as u8;
        let Some(o) = origin else {
            return Err(format!(
                "{} is a relative name and no $ORIGIN is set (end it with a dot)",
                show(tok)
            ));
        };
        out.extend_from_slice(o);
    }
    if out.len() > 255 {
        return Err(format!("{} is longer than 255 octets", show(tok)));
    }
    Ok(())
}

/// Appends `tok` as one character string (a length octet and at most 255 bytes) to `out`.
pub(crate) fn char_string(tok: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let at = out.len();
    out.push(0);
    unescape(tok, out)?;
    let len = out.len() - at - 1;
    if len > 255 {
        return Err(format!(
            "a character string is at most 255 bytes; this one is {len}: split it into several quoted strings"
        ));
    }
    out[at] = len as u8;
    Ok(())
}

/// Appends `tok` with its escapes resolved to `out`.
pub(crate) fn unescape(tok: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    let mut i = 0;
    while i < tok.len() {
        if tok[i] == b'\\' {
            let (b, used) = escape(tok, i + 1, tok)?;
            out.push(b);
            i += 1 + used;
        } else {
            // Copy the run up to the next escape at once.
            let run = tok[i..]
                .iter()
                .position(|&b| b == b'\\')
                .map_or(tok.len(), |p| i + p);
            out.extend_from_slice(&tok[i..run]);
            i = run;
        }
    }
    Ok(())
}

/// A decimal number of at most `max`, for an error naming it `what`.
pub(crate) fn number(tok: &[u8], max: u64, what: &str) -> Result<u64, String> {
    if tok.is_empty() || tok.len() > 20 || !tok.iter().all(u8::is_ascii_digit) {
        return Err(format!("{what} {} is not a number", show(tok)));
    }
    let mut v: u64 = 0;
    for &d in tok {
        v = v.saturating_mul(10).saturating_add(u64::from(d - b'0'));
    }
    if v > max {
        return Err(format!("{what} {} exceeds {max}", show(tok)));
    }
    Ok(v)
}

/// A TTL: seconds, or numbers with units `s`, `m`, `h`, `d`, `w` in any case (`1h30m`).
pub(crate) fn ttl(tok: &[u8]) -> Result<u32, String> {
    ttl_named(tok, "TTL")
}

/// A time value with units, for an error naming it `what` (TTLs and the SOA's timers).
pub(crate) fn ttl_named(tok: &[u8], what: &str) -> Result<u32, String> {
    let bad = || {
        format!(
            "{what} {} is not a time: use seconds or units s, m, h, d, w (e.g. 3600 or 1h)",
            show(tok)
        )
    };
    if tok.first().is_none_or(|c| !c.is_ascii_digit()) {
        return Err(bad());
    }
    let mut total: u64 = 0;
    let mut current: u64 = 0;
    let mut digits = false;
    for &c in tok {
        if c.is_ascii_digit() {
            current = current
                .saturating_mul(10)
                .saturating_add(u64::from(c - b'0'));
            digits = true;
            continue;
        }
        let unit = match c.to_ascii_lowercase() {
            b's' => 1,
            b'm' => 60,
            b'h' => 3600,
            b'd' => 86_400,
            b'w' => 604_800,
            _ => return Err(bad()),
        };
        if !digits {
            return Err(bad());
        }
        total = total.saturating_add(current.saturating_mul(unit));
        current = 0;
        digits = false;
    }
    total = total.saturating_add(current);
    if total > MAX_TTL {
        return Err(format!("{what} {} exceeds {MAX_TTL}", show(tok)));
    }
    Ok(total as u32)
}

/// Appends the bytes spelled by hexadecimal `tok` to `out` (an even number of digits).
pub(crate) fn hex(tok: &[u8], out: &mut Vec<u8>) -> Result<(), String> {
    if !tok.len().is_multiple_of(2) {
        return Err(format!(
            "{} is not hexadecimal: an odd number of digits",
            show(tok)
        ));
    }
    for pair in tok.chunks(2) {
        let d = |c: u8| (c as char).to_digit(16);
        match (d(pair[0]), d(pair[1])) {
            (Some(h), Some(l)) => out.push((h * 16 + l) as u8),
            _ => return Err(format!("{} is not hexadecimal", show(tok))),
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(s: &str, origin: Option<&[u8]>) -> Result<Vec<u8>, String> {
        let mut out = Vec::new();
        name(s.as_bytes(), origin, &mut out).map(|()| out)
    }

    const EXAMPLE: &[u8] = b"\x07example\x00";

    #[test]
    fn names_relative_absolute_at_and_root() {
        assert_eq!(
            wire("www", Some(EXAMPLE)).unwrap(),
            b"\x03www\x07example\x00"
        );
        assert_eq!(
            wire("WWW.Other.", Some(EXAMPLE)).unwrap(),
            b"\x03WWW\x05Other\x00"
        );
        assert_eq!(wire("@", Some(EXAMPLE)).unwrap(), EXAMPLE);
        assert_eq!(wire(".", None).unwrap(), b"\x00");
        assert!(wire("www", None).unwrap_err().contains("no $ORIGIN"));
        assert_eq!(wire("a..b.", None).unwrap_err(), "a..b. has an empty label");
    }

    #[test]
    fn name_escapes() {
        assert_eq!(wire("a\\.b.", None).unwrap(), b"\x03a.b\x00");
        assert_eq!(wire("a\\046b\\032c.", None).unwrap(), b"\x05a.b c\x00");
        assert_eq!(wire("\\@.", None).unwrap(), b"\x01@\x00");
        assert!(wire("a\\256.", None).unwrap_err().contains("not a byte"));
        assert!(
            wire("a\\25.", None)
                .unwrap_err()
                .contains("three decimal digits")
        );
        let long = format!("{}.", "x".repeat(64));
        assert!(wire(&long, None).unwrap_err().contains("longer than 63"));
        let huge = format!("{}.", vec!["x".repeat(63); 4].join("."));
        assert!(wire(&huge, None).unwrap_err().contains("longer than 255"));
    }

    #[test]
    fn character_strings_and_their_escapes() {
        let mut out = Vec::new();
        char_string(b"a\\\"b\\065\\\\", &mut out).unwrap();
        assert_eq!(out, b"\x05a\"bA\\");
        let long = "x".repeat(256);
        let e = char_string(long.as_bytes(), &mut Vec::new()).unwrap_err();
        assert!(e.contains("at most 255 bytes; this one is 256"), "{e}");
    }

    #[test]
    fn ttls_with_units() {
        assert_eq!(ttl(b"3600"), Ok(3600));
        assert_eq!(ttl(b"1h30m"), Ok(5400));
        assert_eq!(ttl(b"1W"), Ok(604_800));
        assert_eq!(ttl(b"1d2h3m4s"), Ok(93_784));
        assert_eq!(ttl(b"2147483647"), Ok(2_147_483_647));
        assert_eq!(
            ttl(b"99999999999").unwrap_err(),
            "TTL 99999999999 exceeds 2147483647"
        );
        assert!(ttl(b"1x").unwrap_err().starts_with("TTL 1x is not a time"));
        assert!(ttl(b"1hh").is_err());
    }

    #[test]
    fn numbers_and_hex() {
        assert_eq!(number(b"65535", 65535, "port"), Ok(65535));
        assert_eq!(
            number(b"65536", 65535, "port").unwrap_err(),
            "port 65536 exceeds 65535"
        );
        assert_eq!(number(b"1a", 9, "x").unwrap_err(), "x 1a is not a number");
        let mut out = Vec::new();
        hex(b"0aFF", &mut out).unwrap();
        assert_eq!(out, [10, 255]);
        assert!(hex(b"abc", &mut out).is_err());
    }
}
