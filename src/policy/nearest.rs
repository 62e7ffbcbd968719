//! `nearest`: the data center closest (great-circle distance) to where the GeoIP database
//! places the client; without a location for the client, the lowest priority group.

use super::{Chosen, Input, Reason, by_priority, rotate_where};
use crate::config::Location;

/// Mean Earth radius in km.
const EARTH_KM: f64 = 6371.0;

/// Great-circle distance in km (haversine).
pub(crate) fn distance_km(a: Location, b: Location) -> f64 {
    let (la1, la2) = (a.lat.to_radians(), b.lat.to_radians());
    let dlat = la2 - la1;
    let dlon = (b.lon - a.lon).to_radians();
    let h = (dlat / 2.0).sin().powi(2) + la1.cos() * la2.cos() * (dlon / 2.0).sin().powi(2);
    2.0 * EARTH_KM * h.sqrt().min(1.0).asin()
}

/// Picks the nearest data center's endpoints; scope is the GeoIP network's prefix length.
pub(crate) fn select(input: &Input<'_>, candidates: &[u16], out: &mut Chosen) -> (u8, Reason) {
    let located = input
        .b
        .geoip
        .as_ref()
        .and_then(|g| g.locate(input.client.addr));
    if let Some((here, prefix)) = located {
        let mut best: Option<(f64, usize)> = None;
        for &i in candidates {
            if let Some(loc) = input.b.locations[i as usize] {
                let d = distance_km(here, loc);
                let dc = input.b.cfg.endpoints[i as usize].datacenter;
                if best.is_none_or(|(bd, _)| d < bd) {
                    best = Some((d, dc));
                }
            }
        }
        if let Some((d, dc)) = best {
            rotate_where(
                input,
                candidates,
                |i| input.b.cfg.endpoints[i as usize].datacenter == dc,
                out,
            );
            return (prefix, Reason::Nearest(dc, d));
        }
    }
    let p = by_priority(input, candidates, out);
    (input.client.prefix, Reason::ByPriority(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances_are_great_circle() {
        let dublin = Location {
            lat: 53.3,
            lon: -6.3,
        };
        let virginia = Location {
            lat: 39.0,
            lon: -77.5,
        };
        let d = distance_km(dublin, virginia);
        assert!((5400.0..5600.0).contains(&d), "{d}");
        assert_eq!(distance_km(dublin, dublin), 0.0);
    }
}
