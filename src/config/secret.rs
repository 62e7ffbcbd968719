//! Reading the secrets the configuration names by file: the admin bearer token (`[admin]
//! token_file`) and the DNS cookie secrets (`[cookies] secret_file`).
//!
//! Owns: what a well-formed secret file holds, and a typed error for each way it can be wrong.
//! Must not: know where in gslb.toml the key was written (the loader adds the position), log, or
//! keep a secret anywhere but in what it returns.

use std::path::{Path, PathBuf};

/// Why the admin token could not be read.
#[derive(Debug, thiserror::Error)]
pub enum TokenError {
    /// The file could not be read.
    #[error("cannot read admin token_file {path}: {source}")]
    Read {
        /// The token file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// The file holds nothing but white space.
    #[error("admin token_file {path} is empty")]
    Empty {
        /// The token file.
        path: PathBuf,
    },
}

/// A secret read from a file, kept out of `Debug` output (a `Served` or a config printed in a
/// log or a panic message must not carry the admin token with it).
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(pub String);

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(redacted)")
    }
}

/// Reads the bearer token from `token_file` (surrounding white space trimmed).
pub fn read_token(path: &Path) -> Result<String, TokenError> {
    let t = std::fs::read_to_string(path).map_err(|source| TokenError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let t = t.trim();
    if t.is_empty() {
        return Err(TokenError::Empty {
            path: path.to_path_buf(),
        });
    }
    Ok(t.into())
}

/// Most secrets a cookie secret file holds: the one that signs, and the previous one, which
/// still verifies while clients move over (RFC 9018 §3: rolling the secret across an NS set).
pub const COOKIE_SECRETS_MAX: usize = 2;

/// Why the cookie secret file could not be used.
#[derive(Debug, thiserror::Error)]
pub enum CookieSecretError {
    /// The file could not be read.
    #[error("cannot read cookies secret_file {path}: {source}")]
    Read {
        /// The secret file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// No secret in it.
    #[error("cookies secret_file {path} is empty; it needs one or two lines of 32 hex digits")]
    Empty {
        /// The secret file.
        path: PathBuf,
    },
    /// More than two secrets.
    #[error(
        "cookies secret_file {path} holds {count} secrets; at most 2 (the first signs, both verify)"
    )]
    TooMany {
        /// The secret file.
        path: PathBuf,
        /// Secrets found.
        count: usize,
    },
    /// A line that is not 32 hex digits.
    #[error(
        "cookies secret_file {path} line {line}: expected exactly 32 hex digits (128 bits), found {found}"
    )]
    Malformed {
        /// The secret file.
        path: PathBuf,
        /// Line of the file, from 1.
        line: usize,
        /// What was there instead (its length and kind, never the secret itself).
        found: String,
    },
}

/// Reads the DNS cookie secrets from `path`: one or two lines of exactly 32 hex digits (a
/// 128-bit SipHash-2-4 key each, RFC 9018 §4.4), the first signs and both verify. Surrounding
/// white space and blank lines are ignored; nothing else is allowed on a line.
pub fn read_cookie_secrets(path: &Path) -> Result<Vec<[u8; 16]>, CookieSecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| CookieSecretError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_cookie_secrets(path, &text)
}

fn parse_cookie_secrets(path: &Path, text: &str) -> Result<Vec<[u8; 16]>, CookieSecretError> {
    let lines: Vec<(usize, &str)> = text
        .lines()
        .enumerate()
        .map(|(i, l)| (i + 1, l.trim()))
        .filter(|(_, l)| !l.is_empty())
        .collect();
    if lines.is_empty() {
        return Err(CookieSecretError::Empty {
            path: path.to_path_buf(),
        });
    }
    if lines.len() > COOKIE_SECRETS_MAX {
        return Err(CookieSecretError::TooMany {
            path: path.to_path_buf(),
            count: lines.len(),
        });
    }
    lines
        .into_iter()
        .map(|(line, l)| {
            decode_hex16(l).ok_or_else(|| CookieSecretError::Malformed {
                path: path.to_path_buf(),
                line,
                found: describe(l),
            })
        })
        .collect()
}

/// 32 hex digits as 16 octets.
fn decode_hex16(s: &str) -> Option<[u8; 16]> {
    let b = s.as_bytes();
    if b.len() != 32 {
        return None;
    }
    let mut out = [0u8; 16];
    for (i, pair) in b.chunks_exact(2).enumerate() {
        let hi = (pair[0] as char).to_digit(16)?;
        let lo = (pair[1] as char).to_digit(16)?;
        out[i] = (hi * 16 + lo) as u8;
    }
    Some(out)
}

/// What a bad line holds, without echoing a secret into logs.
fn describe(l: &str) -> String {
    let n = l.chars().count();
    if l.chars().all(|c| c.is_ascii_hexdigit()) {
        format!("{n} hex digits")
    } else {
        format!("{n} characters, not all hex digits")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const K1: &str = "000102030405060708090a0b0c0d0e0f";
    const K2: &str = "F0E1D2C3B4A5968778695A4B3C2D1E0F";

    fn parse(t: &str) -> Result<Vec<[u8; 16]>, CookieSecretError> {
        parse_cookie_secrets(Path::new("secret"), t)
    }

    #[test]
    fn one_or_two_secrets_in_either_case() {
        let one = parse(&format!("{K1}\n")).unwrap();
        assert_eq!(one, vec![std::array::from_fn::<u8, 16, _>(|i| i as u8)]);
        let two = parse(&format!("  {K1}\r\n\n{K2}")).unwrap();
        assert_eq!(two.len(), 2);
        assert_eq!(two[0], one[0], "the first line signs");
        assert_eq!(two[1][0], 0xf0);
        assert_eq!(two[1][15], 0x0f);
    }

    #[test]
    fn malformed_files_say_what_is_wrong() {
        assert!(matches!(parse(""), Err(CookieSecretError::Empty { .. })));
        assert!(matches!(
            parse(" \n\n"),
            Err(CookieSecretError::Empty { .. })
        ));
        assert!(matches!(
            parse(&format!("{K1}\n{K2}\n{K1}\n")),
            Err(CookieSecretError::TooMany { count: 3, .. })
        ));
        let short = parse(&format!("{K1}\n{}\n", &K2[1..])).unwrap_err();
        assert!(
            matches!(&short, CookieSecretError::Malformed { line: 2, found, .. } if found == "31 hex digits"),
            "{short}"
        );
        let bad = parse("000102030405060708090a0b0c0d0e0g").unwrap_err();
        assert!(
            bad.to_string().contains("not all hex digits"),
            "the secret is not echoed: {bad}"
        );
        assert!(!bad.to_string().contains("0a0b"), "{bad}");
        let spaced = parse(&format!("{} {}", &K1[..16], &K1[16..])).unwrap_err();
        assert!(matches!(
            spaced,
            CookieSecretError::Malformed { line: 1, .. }
        ));
    }

    #[test]
    fn files_are_read_or_the_error_names_them() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("cookie-secret");
        let e = read_cookie_secrets(&p).unwrap_err();
        assert!(matches!(e, CookieSecretError::Read { .. }));
        assert!(e.to_string().contains("cookie-secret"), "{e}");
        std::fs::write(&p, format!("{K2}\n")).unwrap();
        assert_eq!(read_cookie_secrets(&p).unwrap().len(), 1);
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let s = format!("{:?}", Some(Secret("t0ken".into())));
        assert!(!s.contains("t0ken"), "{s}");
    }

    #[test]
    fn tokens_are_trimmed_and_never_empty() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("token");
        assert!(matches!(read_token(&p), Err(TokenError::Read { .. })));
        std::fs::write(&p, " \n").unwrap();
        assert!(matches!(read_token(&p), Err(TokenError::Empty { .. })));
        std::fs::write(&p, " t0ken\n").unwrap();
        assert_eq!(read_token(&p).unwrap(), "t0ken");
    }
}
