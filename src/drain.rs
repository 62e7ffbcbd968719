//! The drained set: endpoints and data centers an operator took out of every answer, kept in
//! `<state_directory>/drained.json` so a restart does not silently put them back.
//!
//! With `[cluster]`, the set lives in etcd and the file is its local cache (a start without etcd
//! uses it).
//!
//! Owns: the set, the rule for changing it (`with`), and its file (written to a temporary file, synced, then renamed over the old
//! one, so a crash leaves the old or the new file, never half of one). Must not: decide health.

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// File name inside the state directory.
pub const FILE: &str = "drained.json";

/// Endpoints (by address) and data centers (by name) that are drained.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Drains {
    /// Drained endpoint addresses: out of every balanced name that lists them.
    #[serde(default)]
    pub endpoints: BTreeSet<IpAddr>,
    /// Drained data centers: every endpoint in them is out.
    #[serde(default)]
    pub datacenters: BTreeSet<String>,
}

/// What to drain or undrain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DrainTarget {
    /// Every endpoint with this address, in every balanced name.
    Endpoint(IpAddr),
    /// Every endpoint of this data center.
    Datacenter(String),
}

impl Drains {
    /// The set with `what` drained (or undrained): the one rule both a single server and the
    /// cluster store (applied to etcd's current set) use.
    pub fn with(&self, what: &DrainTarget, drained: bool) -> Drains {
        let mut next = self.clone();
        match what {
            DrainTarget::Endpoint(a) if drained => {
                next.endpoints.insert(*a);
            }
            DrainTarget::Endpoint(a) => {
                next.endpoints.remove(a);
            }
            DrainTarget::Datacenter(d) if drained => {
                next.datacenters.insert(d.clone());
            }
            DrainTarget::Datacenter(d) => {
                next.datacenters.remove(d);
            }
        }
        next
    }
}

/// Why the drained set could not be read or written. Each names the file or directory.
#[derive(Debug, thiserror::Error)]
pub enum DrainStoreError {
    /// The file exists but cannot be read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The file is not a drained set (`file:line:col: …`).
    #[error("{}:{}:{}: {source}", path.display(), source.line(), source.column())]
    Parse {
        /// The file.
        path: PathBuf,
        /// Why, with the position.
        source: serde_json::Error,
    },
    /// The state directory cannot be created.
    #[error("cannot create {}: {source}", path.display())]
    CreateDirectory {
        /// The directory.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The set cannot be encoded (not expected: it is addresses and names).
    #[error("cannot encode the drained set: {0}")]
    Encode(#[source] serde_json::Error),
    /// The file cannot be written, synced or renamed into place.
    #[error("cannot write {}: {source}", path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
}

impl Drains {
    /// Reads the drained set from `dir`, or an empty set when there is no file yet.
    pub fn load(dir: &Path) -> Result<Drains, DrainStoreError> {
        let path = dir.join(FILE);
        match std::fs::read_to_string(&path) {
            Ok(text) => serde_json::from_str(&text)
                .map_err(|source| DrainStoreError::Parse { path, source }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Drains::default()),
            Err(source) => Err(DrainStoreError::Read { path, source }),
        }
    }

    /// Writes the set atomically into `dir` (created if missing).
    pub fn store(&self, dir: &Path) -> Result<(), DrainStoreError> {
        use std::io::Write;
        std::fs::create_dir_all(dir).map_err(|source| DrainStoreError::CreateDirectory {
            path: dir.to_path_buf(),
            source,
        })?;
        let path = dir.join(FILE);
        let tmp: PathBuf = dir.join(format!(".{FILE}.tmp"));
        let text = serde_json::to_string_pretty(self).map_err(DrainStoreError::Encode)?;
        let write = || -> std::io::Result<()> {
            let mut f = std::fs::File::create(&tmp)?;
            f.write_all(text.as_bytes())?;
            f.write_all(b"\n")?;
            f.sync_all()?;
            std::fs::rename(&tmp, &path)?;
            if let Ok(d) = std::fs::File::open(dir) {
                let _ = d.sync_all();
            }
            Ok(())
        };
        write().map_err(|source| DrainStoreError::Write {
            path: path.clone(),
            source,
        })
    }

    /// The drained endpoints for a log line: "192.0.2.1, 192.0.2.2", or "-" for none.
    pub fn endpoints_text(&self) -> String {
        text(self.endpoints.iter())
    }

    /// The drained data centers for a log line, as `endpoints_text`.
    pub fn datacenters_text(&self) -> String {
        text(self.datacenters.iter())
    }

    /// Whether an endpoint with this address in this data center is drained.
    pub fn is_drained(&self, addr: &IpAddr, datacenter: &str) -> bool {
        self.endpoints.contains(addr) || self.datacenters.contains(datacenter)
    }
}

fn text<'a, T: std::fmt::Display + 'a>(items: impl Iterator<Item = &'a T>) -> String {
    let v: Vec<String> = items.map(ToString::to_string).collect();
    if v.is_empty() {
        "-".into()
    } else {
        v.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_through_the_file() {
        let d = tempfile::tempdir().unwrap();
        assert_eq!(Drains::load(d.path()).unwrap(), Drains::default());
        let mut s = Drains::default();
        s.endpoints.insert("192.0.2.1".parse().unwrap());
        s.datacenters.insert("eu-west".into());
        s.store(d.path()).unwrap();
        let back = Drains::load(d.path()).unwrap();
        assert_eq!(back, s);
        assert!(back.is_drained(&"192.0.2.1".parse().unwrap(), "x"));
        assert!(back.is_drained(&"192.0.2.2".parse().unwrap(), "eu-west"));
        assert!(!back.is_drained(&"192.0.2.2".parse().unwrap(), "us-east"));
        assert!(!d.path().join(".drained.json.tmp").exists());
    }

    #[test]
    fn a_corrupt_file_is_an_error_with_position() {
        let d = tempfile::tempdir().unwrap();
        std::fs::write(d.path().join(FILE), "{\"endpoints\": [\"nope\"]}").unwrap();
        let e = Drains::load(d.path()).unwrap_err();
        assert!(matches!(e, DrainStoreError::Parse { .. }), "{e:?}");
        assert!(e.to_string().contains("drained.json:1:"), "{e}");
    }
}
