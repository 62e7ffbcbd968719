//! DNS cookies (RFC 7873) with the interoperable server cookie of RFC 9018: computing ours,
//! checking one a client sends back, and the secrets that key them.
//!
//! Owns: the cookie bytes (Version 1, Reserved 0, Timestamp, SipHash-2-4 over client cookie,
//! version, reserved, timestamp and client address), their validity window, and where the
//! secrets come from (the `secret_file`, or one random secret per process). Must not: allocate
//! or read files per query; what a query's cookie means for its answer is the handler's.

use std::net::IpAddr;
use std::sync::OnceLock;
use std::time::{SystemTime, UNIX_EPOCH};

use siphasher::sip::SipHasher24;

use crate::config::Cookies;
use crate::config::secret::{CookieSecretError, read_cookie_secrets};

/// The server cookie format's version (RFC 9018 §4.2).
const VERSION: u8 = 1;
/// A cookie older than this many seconds is no longer ours (RFC 9018 §4.3: one hour).
pub const LIFETIME: u32 = 3600;
/// A cookie dated more than this many seconds ahead is not ours (RFC 9018 §4.3: five minutes,
/// the clock skew tolerated across an NS set).
pub const FUTURE: u32 = 300;
/// A valid cookie older than this many seconds is re-issued with a fresh timestamp (RFC 9018
/// §4.3: half an hour), so a client in steady use never sees its cookie expire.
pub const REISSUE_AFTER: u32 = 1800;

/// Why the cookie secrets could not be had.
#[derive(Debug, thiserror::Error)]
pub enum SecretsError {
    /// The configured `secret_file` is missing or malformed.
    #[error(transparent)]
    File(#[from] CookieSecretError),
    /// The operating system gave no random bytes for the per-start secret.
    #[error("cannot draw a random cookie secret: {0}")]
    Random(getrandom::Error),
}

/// The secrets server cookies are keyed with: the first signs, each verifies.
#[derive(Clone, PartialEq, Eq)]
pub struct Secrets {
    keys: [[u8; 16]; 2],
    len: usize,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the secrets themselves: a Debug print ends up in logs.
        write!(f, "Secrets({} keys)", self.len)
    }
}

/// The per-process random secret, drawn once: a reload keeps it, a restart replaces it.
static RANDOM: OnceLock<[u8; 16]> = OnceLock::new();

impl Secrets {
    /// The secrets `cfg` asks for: read from its `secret_file`, or the process's random one.
    pub fn load(cfg: &Cookies) -> Result<Secrets, SecretsError> {
        match &cfg.secret_file {
            Some(path) => Ok(Secrets::from_keys(&read_cookie_secrets(path)?)),
            None => Secrets::random(),
        }
    }

    /// The process-wide random secret, drawn on first use.
    pub fn random() -> Result<Secrets, SecretsError> {
        if let Some(k) = RANDOM.get() {
            return Ok(Secrets::from_keys(&[*k]));
        }
        let mut k = [0u8; 16];
        getrandom::fill(&mut k).map_err(SecretsError::Random)?;
        Ok(Secrets::from_keys(&[*RANDOM.get_or_init(|| k)]))
    }

    /// Secrets from keys, the first signing (at most two are kept; at least one is needed,
    /// else every cookie is keyed with zeros).
    pub fn from_keys(keys: &[[u8; 16]]) -> Secrets {
        let mut s = Secrets {
            keys: [[0; 16]; 2],
            len: keys.len().clamp(1, 2),
        };
        for (slot, k) in s.keys.iter_mut().zip(keys) {
            *slot = *k;
        }
        s
    }

    /// A fresh server cookie for `client` at `ip`, dated `now` (seconds since the epoch).
    pub fn issue(&self, client: &[u8; 8], ip: IpAddr, now: u32) -> [u8; 16] {
        let mut cookie = [0u8; 16];
        cookie[0] = VERSION;
        cookie[4..8].copy_from_slice(&now.to_be_bytes());
        let mac = mac(&self.keys[0], client, &cookie[..8], ip);
        cookie[8..].copy_from_slice(&mac);
        cookie
    }

    /// What the server cookie a client sent back is worth at `now`.
    pub fn check(&self, client: &[u8; 8], server: &[u8; 16], ip: IpAddr, now: u32) -> Verdict {
        if server[0] != VERSION {
            return Verdict::Invalid;
        }
        let stamp = u32::from_be_bytes([server[4], server[5], server[6], server[7]]);
        // Serial number arithmetic (RFC 1982), as RFC 9018 §4.3 asks: the clock may wrap.
        let age = now.wrapping_sub(stamp) as i32;
        if age > LIFETIME as i32 || age < -(FUTURE as i32) {
            return Verdict::Invalid;
        }
        // The hash covers the Reserved bytes as received (RFC 9018 Appendix A.3).
        for (i, key) in self.keys[..self.len].iter().enumerate() {
            if same(&mac(key, client, &server[..8], ip), &server[8..]) {
                return Verdict::Valid {
                    reissue: i > 0 || age > REISSUE_AFTER as i32 || server[1..4] != [0; 3],
                };
            }
        }
        Verdict::Invalid
    }
}

/// What a server cookie sent back by a client is worth.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Ours and within its lifetime. `reissue`: answer with a fresh one rather than echoing
    /// it (older than half an hour, signed by the previous secret, or with Reserved bits set).
    Valid {
        /// Whether to answer with a fresh cookie.
        reissue: bool,
    },
    /// Not ours, expired, or from the future: the query counts as one with a client cookie only.
    Invalid,
}

/// SipHash-2-4 of client cookie | Version | Reserved | Timestamp | client address (RFC 9018
/// §4.4), as the 8 bytes of its little-endian output.
fn mac(key: &[u8; 16], client: &[u8; 8], head: &[u8], ip: IpAddr) -> [u8; 8] {
    let mut input = [0u8; 32];
    input[..8].copy_from_slice(client);
    input[8..16].copy_from_slice(head);
    let len = match ip {
        IpAddr::V4(a) => {
            input[16..20].copy_from_slice(&a.octets());
            20
        }
        IpAddr::V6(a) => {
            input[16..32].copy_from_slice(&a.octets());
            32
        }
    };
    SipHasher24::new_with_key(key)
        .hash(&input[..len])
        .to_le_bytes()
}

/// Compares without stopping at the first difference, so answer timing says nothing about how
/// much of a forged hash was right.
fn same(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Seconds since the epoch, as the cookie timestamp counts them (0 before 1970).
pub fn now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() as u32)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex<const N: usize>(s: &str) -> [u8; N] {
        let mut out = [0u8; N];
        for (i, o) in out.iter_mut().enumerate() {
            *o = u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap();
        }
        out
    }

    fn secrets(keys: &[&str]) -> Secrets {
        let keys: Vec<[u8; 16]> = keys.iter().map(|k| hex(k)).collect();
        Secrets::from_keys(&keys)
    }

    const SECRET: &str = "e5e973e5a6b2a43f48e7dc849e37bfcf";

    /// RFC 9018 Appendix A: every vector, issued and (where the appendix sends one back)
    /// checked, with the verdict the appendix's timeline implies.
    #[test]
    fn rfc9018_appendix_a() {
        let s = secrets(&[SECRET]);
        let ip1: IpAddr = "198.51.100.100".parse().unwrap();
        let client1 = hex::<8>("2464c4abcf10c957");
        // A.1: learning a new server cookie.
        let a1 = s.issue(&client1, ip1, 1559731985);
        assert_eq!(a1, hex::<16>("010000005cf79f111f8130c3eee29480"));
        // A.2: 40 minutes later it is valid, and old enough to be re-issued.
        assert_eq!(
            s.check(&client1, &a1, ip1, 1559734385),
            Verdict::Valid { reissue: true }
        );
        assert_eq!(
            s.issue(&client1, ip1, 1559734385),
            hex::<16>("010000005cf7a871d4a564a1442aca77")
        );
        // A.3: another client sends a cookie with Reserved bits set, the hash made over them
        // (valid under the secret, though 1 h 52 min old at reply time: expired for us).
        let ip3: IpAddr = "203.0.113.203".parse().unwrap();
        let client3 = hex::<8>("fc93fc62807ddb86");
        let sent3 = hex::<16>("01abcdef5cf78f71a314227b6679ebf5");
        assert_eq!(
            s.check(&client3, &sent3, ip3, 1559727985 + 60),
            Verdict::Valid { reissue: true }
        );
        assert_eq!(s.check(&client3, &sent3, ip3, 1559734700), Verdict::Invalid);
        assert_eq!(
            s.issue(&client3, ip3, 1559734700),
            hex::<16>("010000005cf7a9acf73a7810aca2381e")
        );
        // A.4: an IPv6 client, its cookie made with the old secret, which still verifies; the
        // answer is signed with the new one.
        let rolled = secrets(&[
            "445536bcd2513298075a5d379663c962",
            "dd3bdf9344b678b185a6f5cb60fca715",
        ]);
        let ip4: IpAddr = "2001:db8:220:1:59de:d0f4:8769:82b8".parse().unwrap();
        let client4 = hex::<8>("22681ab97d52c298");
        let sent4 = hex::<16>("010000005cf7c57926556bd0934c72f8");
        assert_eq!(
            rolled.check(&client4, &sent4, ip4, 1559741961),
            Verdict::Valid { reissue: true }
        );
        assert_eq!(
            secrets(&["445536bcd2513298075a5d379663c962"]).check(&client4, &sent4, ip4, 1559741961),
            Verdict::Invalid,
            "without the old secret"
        );
        assert_eq!(
            rolled.issue(&client4, ip4, 1559741961),
            hex::<16>("010000005cf7c609a6bb79d16625507a")
        );
    }

    /// The window, for a cookie issued at T (RFC 9018 §4.3):
    ///
    /// | now          | verdict            |
    /// |--------------|--------------------|
    /// | T − 301      | invalid (future)   |
    /// | T − 300      | valid, echoed      |
    /// | T + 1800     | valid, echoed      |
    /// | T + 1801     | valid, re-issued   |
    /// | T + 3600     | valid, re-issued   |
    /// | T + 3601     | invalid (expired)  |
    #[test]
    fn validity_window() {
        let s = secrets(&[SECRET]);
        let ip: IpAddr = "::1".parse().unwrap();
        let client = [9; 8];
        let t = 1_000_000;
        let c = s.issue(&client, ip, t);
        let echo = Verdict::Valid { reissue: false };
        let renew = Verdict::Valid { reissue: true };
        for (now, want) in [
            (t - 301, Verdict::Invalid),
            (t - 300, echo),
            (t, echo),
            (t + 1800, echo),
            (t + 1801, renew),
            (t + 3600, renew),
            (t + 3601, Verdict::Invalid),
        ] {
            assert_eq!(
                s.check(&client, &c, ip, now),
                want,
                "now = T{:+}",
                now as i64 - t as i64
            );
        }
        // The timestamp wraps in 2106; a cookie from just before still checks just after.
        let c = s.issue(&client, ip, u32::MAX - 10);
        assert_eq!(s.check(&client, &c, ip, 10), echo);
    }

    #[test]
    fn a_cookie_is_bound_to_client_cookie_address_secret_and_version() {
        let s = secrets(&[SECRET]);
        let ip: IpAddr = "192.0.2.1".parse().unwrap();
        let c = s.issue(&[1; 8], ip, 100);
        assert_eq!(
            s.check(&[1; 8], &c, ip, 100),
            Verdict::Valid { reissue: false }
        );
        assert_eq!(s.check(&[2; 8], &c, ip, 100), Verdict::Invalid);
        assert_eq!(
            s.check(&[1; 8], &c, "192.0.2.2".parse().unwrap(), 100),
            Verdict::Invalid
        );
        assert_eq!(
            secrets(&["00".repeat(16).as_str()]).check(&[1; 8], &c, ip, 100),
            Verdict::Invalid
        );
        let mut forged = c;
        forged[15] ^= 1;
        assert_eq!(s.check(&[1; 8], &forged, ip, 100), Verdict::Invalid);
        let mut v2 = c;
        v2[0] = 2;
        assert_eq!(s.check(&[1; 8], &v2, ip, 100), Verdict::Invalid);
    }

    #[test]
    fn the_random_secret_is_drawn_once_per_process() {
        assert_eq!(Secrets::random().unwrap(), Secrets::random().unwrap());
        assert_ne!(
            Secrets::random().unwrap(),
            secrets(&["00".repeat(16).as_str()])
        );
    }
}
