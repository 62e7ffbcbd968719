//! The GeoIP database behind `nearest` and geo by region: client address → (location, network
//! prefix), or → (country, continent, subdivisions, network prefix).
//!
//! Owns: reading a MaxMind DB file once per (re)load (a reload opens the file anew, so a
//! replaced database is picked up), the packed region codes the geo tables key on. Must not: be
//! opened on the answer path, or allocate there (codes are read as borrowed strings).

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

/// The region fields of a City or Country record, borrowed from the database.
#[derive(Deserialize)]
struct Regions<'a> {
    #[serde(borrow)]
    country: Option<Iso<'a>>,
    #[serde(borrow)]
    continent: Option<ContinentCode<'a>>,
    #[serde(borrow, default)]
    subdivisions: FirstTwo<'a>,
}

#[derive(Deserialize)]
struct Iso<'a> {
    #[serde(borrow)]
    iso_code: Option<&'a str>,
}

#[derive(Deserialize)]
struct ContinentCode<'a> {
    #[serde(borrow)]
    code: Option<&'a str>,
}

/// The `iso_code`s of the first two subdivisions (databases list at most two), without
/// collecting the list.
#[derive(Default)]
struct FirstTwo<'a>([Option<&'a str>; 2]);

impl<'de: 'a, 'a> Deserialize<'de> for FirstTwo<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// Reads up to two entries and skips the rest.
        struct V<'a>(std::marker::PhantomData<&'a ()>);
        impl<'de: 'a, 'a> serde::de::Visitor<'de> for V<'a> {
            type Value = FirstTwo<'a>;
            fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str("a list of subdivisions")
            }
            fn visit_seq<S: serde::de::SeqAccess<'de>>(
                self,
                mut seq: S,
            ) -> Result<Self::Value, S::Error> {
                let mut out = FirstTwo::default();
                for slot in out.0.iter_mut() {
                    match seq.next_element::<Iso<'de>>()? {
                        Some(i) => *slot = i.iso_code,
                        None => return Ok(out),
                    }
                }
                while seq.next_element::<serde::de::IgnoredAny>()?.is_some() {}
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
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

    /// The database's type as its metadata names it (`GeoIP2-City`, `GeoLite2-Country`, …).
    pub fn database_type(&self) -> &str {
        &self.reader.metadata().database_type
    }

    /// Whether the database has coordinates (City editions; Country editions do not).
    pub fn has_locations(&self) -> bool {
        !self.database_type().contains("Country")
    }

    /// The regions the database places `addr` in, and the network of the record that says so
    /// (also when it holds nothing for `addr`: the answer then holds for that network).
    pub fn place(&self, addr: IpAddr) -> Place {
        let mut p = Place {
            prefix: if addr.is_ipv4() { 32 } else { 128 },
            ..Place::default()
        };
        let Ok(r) = self.reader.lookup(addr) else {
            return p;
        };
        if let Ok(n) = r.network() {
            p.prefix = n.prefix();
        }
        if !r.has_data() {
            return p;
        }
        // One pass over the record: the fields read borrow from the database, the rest
        // (names in every language, location, …) are skipped as they are met.
        let Ok(Some(rec)) = r.decode::<Regions<'_>>() else {
            return p;
        };
        p.country = rec.country.map_or(0, |c| c.iso_code.map_or(0, code));
        p.continent = rec.continent.map_or(0, |c| c.code.map_or(0, code));
        if p.country != 0 {
            for (slot, sub) in p.subdivisions.iter_mut().zip(rec.subdivisions.0) {
                *slot = sub.map_or(0, |s| subdivision(p.country, code(s)));
            }
        }
        p
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

/// Where the database places a client: packed codes (`code`; 0 = none) and the record's network.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Place {
    /// The country (ISO 3166-1 alpha-2).
    pub country: u64,
    /// The continent.
    pub continent: u64,
    /// Subdivisions as `CC-SUB` (ISO 3166-2), most general first, as the database lists them.
    pub subdivisions: [u64; 2],
    /// Prefix length of the database's network holding the client.
    pub prefix: u8,
}

/// A region code (at most 8 ASCII characters, upper-cased) packed into a u64, so the geo tables
/// compare codes without allocating; 0 = none, longer codes do not fit and read as none.
pub fn code(s: &str) -> u64 {
    if s.is_empty() || s.len() > 8 {
        return 0;
    }
    s.bytes()
        .fold(0u64, |acc, b| (acc << 8) | b.to_ascii_uppercase() as u64)
}

/// The packed `CC-SUB` code of subdivision `sub` of `country` (both packed), computed without
/// text; 0 when it does not fit in 8 characters.
pub fn subdivision(country: u64, sub: u64) -> u64 {
    let len = |c: u64| (64 - c.leading_zeros()).div_ceil(8);
    if len(country) + 1 + len(sub) > 8 {
        return 0;
    }
    (((country << 8) | u64::from(b'-')) << (8 * len(sub))) | sub
}

/// A packed code as text, for explain.
pub fn unpack(c: u64) -> String {
    c.to_be_bytes()
        .iter()
        .filter(|&&b| b != 0)
        .map(|&b| b as char)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_pack_and_unpack() {
        assert_eq!(unpack(code("gb")), "GB");
        assert_eq!(subdivision(code("US"), code("va")), code("US-VA"));
        assert_eq!(unpack(subdivision(code("GB"), code("ENG"))), "GB-ENG");
        assert_eq!(code(""), 0);
        assert_eq!(code("TOOLONGCODE"), 0);
        assert_eq!(subdivision(code("ABCDE"), code("XYZ")), 0, "too long");
    }

    fn db(file: &str) -> GeoIp {
        GeoIp::open(Path::new(&format!(
            "{}/tests/data/geoip/{file}",
            env!("CARGO_MANIFEST_DIR")
        )))
        .unwrap()
    }

    #[test]
    fn places_come_from_city_and_country_databases() {
        let ip = |s: &str| s.parse::<IpAddr>().unwrap();
        let city = db("GeoIP2-City-Test.mmdb");
        assert!(city.has_locations());
        let p = city.place(ip("81.2.69.144"));
        assert_eq!(
            (
                unpack(p.country),
                unpack(p.continent),
                unpack(p.subdivisions[0]),
                p.prefix
            ),
            ("GB".into(), "EU".into(), "GB-ENG".into(), 28)
        );
        let p = city.place(ip("216.160.83.56"));
        assert_eq!(
            (unpack(p.country), unpack(p.subdivisions[0]), p.prefix),
            ("US".into(), "US-WA".into(), 29)
        );
        let nowhere = city.place(ip("192.0.2.1"));
        assert_eq!((nowhere.country, nowhere.continent), (0, 0));
        assert!(nowhere.prefix <= 24, "{}", nowhere.prefix);
        let country = db("GeoIP2-Country-Test.mmdb");
        assert!(!country.has_locations());
        let p = country.place(ip("89.160.20.130"));
        assert_eq!(
            (
                unpack(p.country),
                unpack(p.continent),
                p.subdivisions[0],
                p.prefix
            ),
            ("SE".into(), "EU".into(), 0, 25)
        );
    }
}
