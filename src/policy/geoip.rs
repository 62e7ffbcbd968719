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

impl GeoIp {
    /// Opens a database file.
    pub fn open(path: &Path) -> Result<GeoIp, String> {
        Reader::open_readfile(path)
            .map(|reader| GeoIp { reader })
            .map_err(|e| format!("cannot open GeoIP database {}: {e}", path.display()))
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
