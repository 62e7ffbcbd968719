//! Reading the DNS cookie secret file (`[cookies] secret_file`): one or two lines of 32 hex
//! digits, the first signs server cookies and both verify them.
//!
//! Owns: the file's format and its errors. Must not: compute cookies or keep secrets beyond
//! returning them.

use std::path::{Path, PathBuf};

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
    /// The file holds no secret, more than two, or a line that is not 32 hex digits.
    #[error("cookies secret_file {path}: {reason}")]
    Malformed {
        /// The secret file.
        path: PathBuf,
        /// What is wrong, with the line number when one line is at fault.
        reason: String,
    },
}

/// Reads 1–2 secrets of 16 bytes, each a line of 32 hex digits (blank lines ignored).
pub fn read_cookie_secrets(path: &Path) -> Result<Vec<[u8; 16]>, CookieSecretError> {
    let text = std::fs::read_to_string(path).map_err(|source| CookieSecretError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let bad = |reason: String| CookieSecretError::Malformed {
        path: path.to_path_buf(),
        reason,
    };
    let mut secrets = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let digits = line.as_bytes();
        if digits.len() != 32 || !digits.iter().all(u8::is_ascii_hexdigit) {
            return Err(bad(format!("line {}: expected 32 hex digits", n + 1)));
        }
        let mut key = [0u8; 16];
        for (i, pair) in digits.chunks(2).enumerate() {
            let hex = std::str::from_utf8(pair).map_err(|e| bad(e.to_string()))?;
            key[i] = u8::from_str_radix(hex, 16).map_err(|e| bad(e.to_string()))?;
        }
        secrets.push(key);
    }
    match secrets.len() {
        1 | 2 => Ok(secrets),
        0 => Err(bad("holds no secret (one line of 32 hex digits)".into())),
        n => Err(bad(format!("holds {n} secrets; at most 2 (new, old)"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_or_two_lines_of_hex() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("s");
        std::fs::write(
            &p,
            "e5e973e5a6b2a43f48e7dc849e37bfcf\n\nDD3BDF9344B678B185A6F5CB60FCA715\n",
        )
        .unwrap();
        let s = read_cookie_secrets(&p).unwrap();
        assert_eq!(s.len(), 2);
        assert_eq!(s[0][0], 0xe5);
        assert_eq!(s[1][15], 0x15);
        for bad in [
            "",
            "abc\n",
            "zz3bdf9344b678b185a6f5cb60fca715\n",
            "00000000000000000000000000000000\n00000000000000000000000000000000\n00000000000000000000000000000000\n",
        ] {
            std::fs::write(&p, bad).unwrap();
            assert!(read_cookie_secrets(&p).is_err(), "{bad:?}");
        }
        assert!(read_cookie_secrets(&dir.path().join("missing")).is_err());
    }
}
