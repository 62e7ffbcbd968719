//! The GeoIP database behind the nearest policy: client address → (location, network prefix).
//!
//! Owns: reading a MaxMind DB file once per (re)load. Must not: be opened on the answer path.

use std::net::IpAddr;
use std::path::Path;

use maxminddb::Reader;
use serde::Deserialize;

use crate::config::Location;

#[derive(Deserialize)]
struct Record {
    location: Option<Loc>,
}

#[derive(Deserialize)]
struct Loc {
    latitude: Option<f64>,
    longitude: Option<f64>,
}

/// An opened MaxMind City (or compatible) database.
pub struct GeoIp {
    reader: Reader<Vec<u8>>,
}

impl std::fmt::Debug for GeoIp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GeoIp")
    }
}

/// Why a GeoIP database could not be opened.
#[derive(Debug, thiserror::Error)]
#[error("cannot open GeoIP database {path}: {source}")]
pub struct GeoIpError {
    /// The database file.
    pub path: std::path::PathBuf,
    /// What the reader said.
    pub source: maxminddb::MaxMindDbError,
}

impl GeoIp {
    /// Opens a database file.
    pub fn open(path: &Path) -> Result<GeoIp, GeoIpError> {
        Reader::open_readfile(path)
            .map(|reader| GeoIp { reader })
            .map_err(|source| GeoIpError {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Where the database places `addr`, and the prefix length of the network that says so.
    pub fn locate(&self, addr: IpAddr) -> Option<(Location, u8)> {
        let r = self.reader.lookup(addr).ok()?;
        let prefix = r.network().ok()?.prefix();
        let rec: Record = r.decode().ok()??;
        let loc = rec.location?;
        Some((
            Location {
                lat: loc.latitude?,
                lon: loc.longitude?,
            },
            prefix,
        ))
    }
}
