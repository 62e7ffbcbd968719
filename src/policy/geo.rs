//! `geo`: the endpoints of the data center the client is in: by its `networks` (longest prefix
//! wins), then by where the GeoIP database places the client: subdivision, country, continent.
//! When none matches, or the matching one has nothing up, the lowest priority group.
//! The scope is that of the network that decided (a `networks` entry, or the GeoIP record's
//! network), lengthened until it holds no nested network of another data center, so a resolver
//! never reuses the answer for a client it does not fit.
//!
//! Owns: the matching order and the region table (`Regions`). Must not: allocate per query.

use super::geoip::{self, Place};
use super::{Chosen, Input, Reason, by_priority, rotate_where};
use crate::config::Datacenter;

/// Which kind of GeoIP region decided.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Region {
    /// An ISO 3166-2 subdivision (`US-VA`).
    Subdivision,
    /// An ISO 3166-1 country.
    Country,
    /// A continent.
    Continent,
}

impl std::fmt::Display for Region {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Region::Subdivision => "subdivision",
            Region::Country => "country",
            Region::Continent => "continent",
        })
    }
}

/// GeoIP region codes (packed, `geoip::code`) → data center index, one sorted table per kind.
#[derive(Debug, Default, Clone)]
pub struct Regions {
    subdivisions: Vec<(u64, usize)>,
    countries: Vec<(u64, usize)>,
    continents: Vec<(u64, usize)>,
}

impl Regions {
    /// The regions of data centers `dcs` (indices into `all`).
    pub fn of(all: &[Datacenter], dcs: &[usize]) -> Regions {
        let mut r = Regions::default();
        for &d in dcs {
            let dc = &all[d];
            let codes =
                |list: &[String]| list.iter().map(|c| (geoip::code(c), d)).collect::<Vec<_>>();
            r.subdivisions.extend(codes(&dc.subdivisions));
            r.countries.extend(codes(&dc.countries));
            r.continents.extend(codes(&dc.continents));
        }
        for t in [&mut r.subdivisions, &mut r.countries, &mut r.continents] {
            t.sort_unstable();
        }
        r
    }

    /// Whether there are none (geo by networks only: no GeoIP lookup).
    pub fn is_empty(&self) -> bool {
        self.subdivisions.is_empty() && self.countries.is_empty() && self.continents.is_empty()
    }

    /// The data center of region `code` of kind `rule`.
    pub fn get(&self, rule: Region, code: u64) -> Option<usize> {
        let t = match rule {
            Region::Subdivision => &self.subdivisions,
            Region::Country => &self.countries,
            Region::Continent => &self.continents,
        };
        if code == 0 {
            return None;
        }
        t.binary_search_by_key(&code, |e| e.0).ok().map(|i| t[i].1)
    }

    /// The rules a place can match, most specific first: the finer subdivision, the coarser,
    /// the country, the continent.
    pub fn rules(place: &Place) -> [(Region, u64); 4] {
        [
            (Region::Subdivision, place.subdivisions[1]),
            (Region::Subdivision, place.subdivisions[0]),
            (Region::Country, place.country),
            (Region::Continent, place.continent),
        ]
    }
}

/// Picks by client network, then by GeoIP region; the scope is the deciding network's prefix
/// length, or longer when networks nest inside it.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let b = input.b;
    let addr = input.client.addr;
    let subnets = &b.subnets;
    let in_dc = |dc: usize| move |i: u16| b.cfg.endpoints[i as usize].datacenter == dc;
    if let Some((dc, prefix)) = subnets.lookup(addr)
        && rotate_where(input, candidates, in_dc(*dc), out) > 0
    {
        return (subnets.scope(addr, prefix), Reason::GeoMatch(*dc));
    }
    // The answer holds for the client network as the resolver sent it, less any network inside,
    // and (when regions decide) no wider than the GeoIP record that placed the client.
    let mut from = input.client.prefix;
    if let Some(g) = b.geoip.as_ref().filter(|_| !b.regions.is_empty()) {
        let place = g.place(addr);
        for (rule, code) in Regions::rules(&place) {
            if let Some(dc) = b.regions.get(rule, code)
                && rotate_where(input, candidates, in_dc(dc), out) > 0
            {
                return (
                    subnets.scope(addr, place.prefix),
                    Reason::GeoRegion {
                        dc,
                        rule,
                        code,
                        prefix: place.prefix,
                    },
                );
            }
        }
        from = from.max(place.prefix);
    }
    let p = by_priority(input, candidates, out);
    (subnets.scope(addr, from), Reason::ByPriority(p))
}
