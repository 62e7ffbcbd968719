//! Time for DNSSEC: the BIND key files' `YYYYMMDDHHMMSS` timestamps, and the quantized
//! signature windows (inception, expiration) that let one signature serve many queries.
//!
//! Owns: the window arithmetic (every rule about inception and expiration lives here), the
//! timestamp conversion, and `now`, the one clock read callers make. Must not: read the clock
//! in the arithmetic (it takes `now`, so tests use a fake clock).

/// Seconds a signature's inception is backdated, for validators whose clock runs behind ours
/// (BIND's and Knot's signers backdate by an hour too).
pub const BACKDATE: u64 = 3600;

/// The parts of a validity a window lasts: a signature is replaced after a quarter of its
/// validity, so every signature served has at least three quarters of it left.
const QUANTA: u64 = 4;

/// A signature's validity period: RRSIG inception and expiration (RFC 4034 §3.1.5) as the
/// Unix seconds they stand for, and the window they belong to.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Window {
    /// The window's number: the same for every `now` that shares the signature.
    pub index: u64,
    /// RRSIG inception.
    pub inception: u64,
    /// RRSIG expiration.
    pub expiration: u64,
}

/// The window of a signature made at `now` with validity `validity` seconds (at least 4): the
/// window starts at `now` rounded down to a quarter of the validity, inception is its start
/// backdated by `BACKDATE`, expiration its start plus the validity. So a signature is never
/// served with less than three quarters of its validity left, and expires only after the next
/// window has replaced it.
pub fn window(now: u64, validity: u64) -> Window {
    let quantum = (validity / QUANTA).max(1);
    let index = now / quantum;
    let start = index * quantum;
    Window {
        index,
        inception: start.saturating_sub(BACKDATE),
        expiration: start + validity,
    }
}

/// The 32-bit RRSIG form of a time (RFC 4034 §3.1.5: serial-number arithmetic, so modulo 2³²).
pub fn rrsig_time(unix: u64) -> u32 {
    unix as u32
}

/// Days from 1970-01-01 to the given civil date (proleptic Gregorian).
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// The civil date of a day count from 1970-01-01.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// Parses a BIND timestamp (`YYYYMMDDHHMMSS`, UTC) into Unix seconds. None when malformed.
pub fn parse_timestamp(s: &str) -> Option<u64> {
    if s.len() != 14 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n = |r: std::ops::Range<usize>| s[r].parse::<u32>().ok();
    let (y, mo, d) = (n(0..4)?, n(4..6)?, n(6..8)?);
    let (h, mi, se) = (n(8..10)?, n(10..12)?, n(12..14)?);
    if !(1..=12).contains(&mo) || !(1..=31).contains(&d) || h > 23 || mi > 59 || se > 60 {
        return None;
    }
    let days = days_from_civil(i64::from(y), mo, d);
    let secs = days * 86_400 + i64::from(h * 3600 + mi * 60 + se);
    u64::try_from(secs).ok()
}

/// Formats Unix seconds as a BIND timestamp (`YYYYMMDDHHMMSS`, UTC).
pub fn timestamp(unix: u64) -> String {
    let days = (unix / 86_400) as i64;
    let rem = unix % 86_400;
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}{m:02}{d:02}{:02}{:02}{:02}",
        rem / 3600,
        rem / 60 % 60,
        rem % 60
    )
}

/// The current Unix time in seconds (0 if the clock is before 1970).
pub fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_and_match_known_dates() {
        assert_eq!(parse_timestamp("19700101000000"), Some(0));
        // date -u -d 2026-12-02T04:30:00 +%s
        assert_eq!(parse_timestamp("20261202043000"), Some(1_796_185_800));
        assert_eq!(timestamp(1_796_185_800), "20261202043000");
        assert_eq!(parse_timestamp("20240229235959"), Some(1_709_251_199));
        for t in [0, 951_782_400, 1_709_251_199, 4_102_444_800, 1_796_185_801] {
            assert_eq!(parse_timestamp(&timestamp(t)), Some(t));
        }
        for bad in [
            "2026120204300",
            "2026130204300x",
            "20261302043000",
            "20261202250000",
        ] {
            assert_eq!(parse_timestamp(bad), None, "{bad}");
        }
    }

    #[test]
    fn windows_on_a_fake_clock() {
        let v = 7200; // 2 h: quarters of 30 min
        let w = window(1_000_000, v);
        assert_eq!(w.index, 1_000_000 / 1800);
        let start = w.index * 1800;
        assert_eq!(w.inception, start - BACKDATE);
        assert_eq!(w.expiration, start + v);
        // Every `now` of the quarter shares the window; the next second after it does not.
        assert_eq!(window(start, v), w);
        assert_eq!(window(start + 1799, v), w);
        let next = window(start + 1800, v);
        assert_eq!(next.index, w.index + 1);
        // Whatever the clock says, what is served has at least 3/4 of its validity left and
        // began (backdated) before now.
        for now in (start..start + 4 * 1800).step_by(97) {
            let w = window(now, v);
            assert!(w.expiration >= now + v * 3 / 4, "{now}");
            assert!(w.inception + BACKDATE <= now);
        }
        // A tiny validity still has a window of its own.
        assert_eq!(window(10, 1).index, 10);
    }

    #[test]
    fn rrsig_times_are_modulo_two_to_the_32() {
        assert_eq!(rrsig_time(1_796_185_800), 1_796_185_800);
        assert_eq!(rrsig_time((1 << 32) + 5), 5);
    }
}
