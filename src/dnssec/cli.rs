//! What `gslb dnssec keygen` and `gslb dnssec ds` do, as text for the binary to print.
//!
//! Owns: those two commands' output. Must not: parse the command line (`cli.rs` does) or
//! write anything but the key files `keygen` makes.

use std::path::Path;

use super::keys::{self, Algorithm};

/// A command's failure, in words for the operator.
#[derive(Debug, thiserror::Error)]
pub enum CliError {
    /// A key file problem.
    #[error(transparent)]
    Key(#[from] keys::KeyError),
    /// The configuration does not load.
    #[error("{0}")]
    Config(String),
    /// No such algorithm.
    #[error("algorithm {0} is not supported (13 ECDSAP256SHA256 or 15 ED25519)")]
    Algorithm(u8),
    /// The zone is not in `[dnssec]`.
    #[error("{zone} has no [dnssec.\"{zone}\"] table in {file}")]
    NotSigned {
        /// The zone asked for.
        zone: String,
        /// The configuration file.
        file: String,
    },
}

/// Writes a key pair for `zone` into `dir`; says which files it wrote.
pub fn keygen(zone: &str, dir: &Path, algorithm: u8, ksk: bool) -> Result<String, CliError> {
    let alg = Algorithm::from_number(algorithm).ok_or(CliError::Algorithm(algorithm))?;
    let key = keys::generate(zone, dir, alg, ksk, super::time::now())?;
    let (k, p) = keys::paths(&key);
    let base = k.with_extension("");
    Ok(format!(
        "{}\nwrote {} and {}\n",
        base.file_name()
            .map(|f| f.to_string_lossy())
            .unwrap_or_default(),
        k.display(),
        p.display()
    ))
}

/// The DS lines of `zone`'s configured key-signing keys (every key when none has the SEP
/// flag), one per line, as `dnssec-dsfromkey -2` prints them.
pub fn ds(config: &Path, zone: &str) -> Result<String, CliError> {
    let c = crate::config::Config::load(config).map_err(|errs| {
        CliError::Config(
            errs.iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("\n"),
        )
    })?;
    let want = zone.trim_end_matches('.').to_ascii_lowercase();
    let d = c
        .dnssec
        .iter()
        .find(|d| d.zone.trim_end_matches('.').eq_ignore_ascii_case(&want))
        .ok_or_else(|| CliError::NotSigned {
            zone: zone.to_string(),
            file: config.display().to_string(),
        })?;
    let mut keys = Vec::new();
    for (path, _) in &d.keys {
        keys.push(keys::read(path, &d.origin)?);
    }
    let any_ksk = keys.iter().any(keys::Key::is_ksk);
    let mut out = String::new();
    for k in keys.iter().filter(|k| k.is_ksk() || !any_ksk) {
        out.push_str(&k.ds_line(&d.origin));
        out.push('\n');
    }
    Ok(out)
}
