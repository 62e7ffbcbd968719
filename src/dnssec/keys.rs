//! DNSSEC key pairs in BIND's file format (`K<zone>.+<alg>+<tag>.key` / `.private`, as
//! `dnssec-keygen`, `ldns-keygen` and `keymgr` write them): reading, writing, key tags, DS.
//!
//! Owns: the two files' syntax, algorithms 13 (ECDSA P-256 SHA-256) and 15 (Ed25519), the
//! timing metadata (Publish, Activate, Inactive, Delete) and what it means at a given time,
//! the key tag (RFC 4034 Appendix B) and the SHA-256 DS (RFC 4509). Must not: decide what a key
//! signs (see `signer`), read the clock, or know gslb.toml.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use hickory_proto::dnssec::crypto::{EcdsaSigningKey, Ed25519SigningKey};
use hickory_proto::dnssec::{Algorithm as HickoryAlgorithm, SigningKey, TBS};
use ring::rand::SystemRandom;
use ring::signature::{self, KeyPair as _};

use super::time;
use crate::wire::name::display;

/// The DNSKEY flags of a zone key (RFC 4034 §2.1.1).
pub const FLAG_ZONE: u16 = 0x0100;
/// The Secure Entry Point flag: a key-signing key (RFC 4034 §2.1.1, RFC 3757).
pub const FLAG_SEP: u16 = 0x0001;

/// The signing algorithms served.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    /// ECDSA P-256 with SHA-256 (RFC 6605), number 13: the default.
    EcdsaP256Sha256,
    /// Ed25519 (RFC 8080), number 15.
    Ed25519,
}

impl Algorithm {
    /// The algorithm's number in DNSKEY, RRSIG and DS.
    pub fn number(self) -> u8 {
        match self {
            Algorithm::EcdsaP256Sha256 => 13,
            Algorithm::Ed25519 => 15,
        }
    }

    /// The algorithm of a number, if served.
    pub fn from_number(n: u8) -> Option<Self> {
        match n {
            13 => Some(Algorithm::EcdsaP256Sha256),
            15 => Some(Algorithm::Ed25519),
            _ => None,
        }
    }

    /// The mnemonic BIND writes after the number in a `.private` file.
    fn mnemonic(self) -> &'static str {
        match self {
            Algorithm::EcdsaP256Sha256 => "ECDSAP256SHA256",
            Algorithm::Ed25519 => "ED25519",
        }
    }

    /// Length of the public key in the DNSKEY (and of the private key in the file).
    fn public_len(self) -> usize {
        match self {
            Algorithm::EcdsaP256Sha256 => 64,
            Algorithm::Ed25519 => 32,
        }
    }
}

/// A key file that cannot be used, with the file it is about.
#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The `.private` half of a pair is missing.
    #[error("{}: missing: a key needs its .private file beside the .key", path.display())]
    MissingPrivate {
        /// The `.private` file looked for.
        path: PathBuf,
    },
    /// The file is not a key file as BIND writes them.
    #[error("{}: {message}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        message: String,
    },
    /// An algorithm gslb does not sign with.
    #[error("{}: algorithm {number} is not supported (13 ECDSAP256SHA256 or 15 ED25519)", path.display())]
    Unsupported {
        /// The file.
        path: PathBuf,
        /// The algorithm number in it.
        number: u8,
    },
    /// The key belongs to another zone.
    #[error("{}: the key is for zone {found}, not {expected}", path.display())]
    WrongZone {
        /// The `.key` file.
        path: PathBuf,
        /// Its owner name.
        found: String,
        /// The zone it was configured for.
        expected: String,
    },
    /// The private key does not belong to the public key, or is not a valid key.
    #[error("{}: the private key does not match the public key in the .key file", path.display())]
    Mismatch {
        /// The `.private` file.
        path: PathBuf,
    },
}

/// When a key is published and signs: the timing metadata of its `.private` file, as Unix
/// seconds. A key file without any of them (as `ldns-keygen` writes) is published and active.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Timing {
    /// In the DNSKEY RRset from then on.
    pub publish: Option<u64>,
    /// Signs from then on.
    pub activate: Option<u64>,
    /// Stops signing then.
    pub inactive: Option<u64>,
    /// Leaves the DNSKEY RRset then.
    pub delete: Option<u64>,
}

impl Timing {
    fn any(&self) -> bool {
        self.publish.is_some()
            || self.activate.is_some()
            || self.inactive.is_some()
            || self.delete.is_some()
    }

    /// Whether the key is in the DNSKEY RRset at `now`: from Publish (Activate when Publish is
    /// not set) until Delete.
    pub fn published(&self, now: u64) -> bool {
        if !self.any() {
            return true;
        }
        let from = self.publish.or(self.activate);
        from.is_some_and(|t| t <= now) && self.delete.is_none_or(|t| now < t)
    }

    /// Whether the key signs at `now`: published, from Activate until Inactive.
    pub fn active(&self, now: u64) -> bool {
        if !self.any() {
            return true;
        }
        self.published(now)
            && self.activate.is_some_and(|t| t <= now)
            && self.inactive.is_none_or(|t| now < t)
    }
}

/// One key pair, read and checked.
pub struct Key {
    /// The `.key` file it was read from.
    pub path: PathBuf,
    /// DNSKEY flags: 257 for a key-signing key (SEP), 256 for a zone-signing key.
    pub flags: u16,
    /// Its algorithm.
    pub algorithm: Algorithm,
    /// Its key tag.
    pub tag: u16,
    /// The DNSKEY RDATA.
    pub dnskey: Box<[u8]>,
    /// The TTL written in the `.key` file, if any.
    pub ttl: Option<u32>,
    /// When it is published and signs.
    pub timing: Timing,
    signing: Box<dyn SigningKey>,
}

impl std::fmt::Debug for Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Key")
            .field("path", &self.path)
            .field("flags", &self.flags)
            .field("algorithm", &self.algorithm)
            .field("tag", &self.tag)
            .field("timing", &self.timing)
            .finish()
    }
}

impl Key {
    /// Whether the key has the SEP flag (a key-signing key, or a combined key).
    pub fn is_ksk(&self) -> bool {
        self.flags & FLAG_SEP != 0
    }

    /// Signs `data` (an RRSIG's signed data, RFC 4034 §3.1.8.1).
    pub fn sign(&self, data: &[u8]) -> Option<Vec<u8>> {
        self.signing.sign(&TBS::from(data)).ok()
    }

    /// The SHA-256 DS RDATA of this key as owned by `zone` (lower-cased wire form).
    pub fn ds_rdata(&self, zone: &[u8]) -> Vec<u8> {
        let mut d = ring::digest::Context::new(&ring::digest::SHA256);
        d.update(zone);
        d.update(&self.dnskey);
        let mut out = Vec::with_capacity(36);
        out.extend_from_slice(&self.tag.to_be_bytes());
        out.push(self.algorithm.number());
        out.push(2);
        out.extend_from_slice(d.finish().as_ref());
        out
    }

    /// The DS record in presentation form, as `dnssec-dsfromkey -2` prints it.
    pub fn ds_line(&self, zone: &[u8]) -> String {
        let rdata = self.ds_rdata(zone);
        let mut hex = String::with_capacity(64);
        for b in &rdata[4..] {
            let _ = write!(hex, "{b:02X}");
        }
        format!(
            "{} IN DS {} {} 2 {hex}",
            display(zone),
            self.tag,
            self.algorithm.number()
        )
    }
}

/// The key tag of a DNSKEY RDATA (RFC 4034 Appendix B).
pub fn key_tag(rdata: &[u8]) -> u16 {
    let mut ac: u32 = 0;
    for (i, &b) in rdata.iter().enumerate() {
        ac += if i & 1 == 1 {
            u32::from(b)
        } else {
            u32::from(b) << 8
        };
    }
    ac += (ac >> 16) & 0xFFFF;
    (ac & 0xFFFF) as u16
}

/// The `.key` and `.private` paths of a key named by `base` (with or without either suffix).
pub fn paths(base: &Path) -> (PathBuf, PathBuf) {
    let s = base.as_os_str().to_string_lossy();
    let stem = s
        .strip_suffix(".key")
        .or_else(|| s.strip_suffix(".private"))
        .unwrap_or(&s);
    (
        PathBuf::from(format!("{stem}.key")),
        PathBuf::from(format!("{stem}.private")),
    )
}

fn read_text(path: &Path) -> Result<String, KeyError> {
    std::fs::read_to_string(path).map_err(|source| KeyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn malformed(path: &Path, message: impl Into<String>) -> KeyError {
    KeyError::Malformed {
        path: path.to_path_buf(),
        message: message.into(),
    }
}

/// What a `.key` file's DNSKEY says.
struct KeyFile {
    /// The owner, lower-cased wire form.
    owner: Vec<u8>,
    /// The TTL, when written.
    ttl: Option<u32>,
    /// DNSKEY flags.
    flags: u16,
    /// The algorithm number.
    algorithm: u8,
    /// The public key.
    public: Vec<u8>,
}

/// The DNSKEY of a `.key` file.
fn parse_key_file(path: &Path, text: &str) -> Result<KeyFile, KeyError> {
    let line = text
        .lines()
        .map(|l| l.split(';').next().unwrap_or("").trim())
        .find(|l| !l.is_empty())
        .ok_or_else(|| malformed(path, "no DNSKEY record in the file"))?;
    let tokens: Vec<&str> = line
        .split_whitespace()
        .filter(|t| *t != "(" && *t != ")")
        .collect();
    let at = tokens
        .iter()
        .position(|t| t.eq_ignore_ascii_case("DNSKEY"))
        .ok_or_else(|| malformed(path, "no DNSKEY record in the file"))?;
    let owner = tokens[0];
    let ttl = tokens[1..at].iter().find_map(|t| t.parse::<u32>().ok());
    let rest = &tokens[at + 1..];
    if rest.len() < 4 {
        return Err(malformed(
            path,
            "a DNSKEY needs flags, protocol, algorithm and key",
        ));
    }
    let flags: u16 = rest[0]
        .parse()
        .map_err(|_| malformed(path, format!("DNSKEY flags {:?} are not a number", rest[0])))?;
    if rest[1] != "3" {
        return Err(malformed(path, "a DNSKEY's protocol must be 3"));
    }
    let alg: u8 = rest[2]
        .parse()
        .map_err(|_| malformed(path, format!("algorithm {:?} is not a number", rest[2])))?;
    let public = data_encoding::BASE64
        .decode(rest[3..].concat().as_bytes())
        .map_err(|_| malformed(path, "the public key is not base64"))?;
    let name = hickory_proto::rr::Name::from_ascii(owner)
        .map_err(|_| malformed(path, format!("{owner:?} is not a domain name")))?;
    let mut key = Vec::new();
    crate::wire::name::write_key(&name, &mut key);
    Ok(KeyFile {
        owner: key,
        ttl,
        flags,
        algorithm: alg,
        public,
    })
}

/// The algorithm number, private key and timing of a `.private` file.
fn parse_private(path: &Path, text: &str) -> Result<(u8, Vec<u8>, Timing), KeyError> {
    let (mut alg, mut private, mut timing) = (None, None, Timing::default());
    for line in text.lines() {
        let Some((k, v)) = line.split_once(':') else {
            continue;
        };
        let v = v.trim();
        let time = || {
            time::parse_timestamp(v)
                .ok_or_else(|| malformed(path, format!("{k}: {v:?} is not a YYYYMMDDHHMMSS time")))
        };
        match k.trim() {
            "Algorithm" => {
                let n = v.split_whitespace().next().unwrap_or("");
                alg =
                    Some(n.parse::<u8>().map_err(|_| {
                        malformed(path, format!("Algorithm {v:?} is not a number"))
                    })?);
            }
            "PrivateKey" => {
                private = Some(
                    data_encoding::BASE64
                        .decode(v.replace(' ', "").as_bytes())
                        .map_err(|_| malformed(path, "PrivateKey is not base64"))?,
                );
            }
            "Publish" => timing.publish = Some(time()?),
            "Activate" => timing.activate = Some(time()?),
            "Inactive" => timing.inactive = Some(time()?),
            "Delete" => timing.delete = Some(time()?),
            _ => {}
        }
    }
    let alg = alg.ok_or_else(|| malformed(path, "no Algorithm line"))?;
    let private = private.ok_or_else(|| malformed(path, "no PrivateKey line"))?;
    Ok((alg, private, timing))
}

fn signing_key(
    algorithm: Algorithm,
    private: &[u8],
    public: &[u8],
    private_path: &Path,
) -> Result<Box<dyn SigningKey>, KeyError> {
    let mismatch = || KeyError::Mismatch {
        path: private_path.to_path_buf(),
    };
    match algorithm {
        Algorithm::EcdsaP256Sha256 => {
            let mut point = Vec::with_capacity(65);
            point.push(4);
            point.extend_from_slice(public);
            let pair = signature::EcdsaKeyPair::from_private_key_and_public_key(
                &signature::ECDSA_P256_SHA256_FIXED_SIGNING,
                private,
                &point,
                &SystemRandom::new(),
            )
            .map_err(|_| mismatch())?;
            Ok(Box::new(EcdsaSigningKey::from_ecdsa(
                pair,
                HickoryAlgorithm::ECDSAP256SHA256,
            )))
        }
        Algorithm::Ed25519 => {
            let pair = signature::Ed25519KeyPair::from_seed_and_public_key(private, public)
                .map_err(|_| mismatch())?;
            Ok(Box::new(Ed25519SigningKey::from_ed25519(pair)))
        }
    }
}

/// The DNSKEY RDATA of a key: flags, protocol 3, algorithm, public key.
fn dnskey_rdata(flags: u16, algorithm: Algorithm, public: &[u8]) -> Box<[u8]> {
    let mut r = Vec::with_capacity(4 + public.len());
    r.extend_from_slice(&flags.to_be_bytes());
    r.push(3);
    r.push(algorithm.number());
    r.extend_from_slice(public);
    r.into_boxed_slice()
}

/// Reads the key pair named by `base` (`K….+013+12345`, with or without `.key`/`.private`)
/// for the zone `zone` (lower-cased wire form), and checks the halves belong together.
pub fn read(base: &Path, zone: &[u8]) -> Result<Key, KeyError> {
    let (key_path, private_path) = paths(base);
    let key_text = read_text(&key_path)?;
    let KeyFile {
        owner,
        ttl,
        flags,
        algorithm: alg,
        public,
    } = parse_key_file(&key_path, &key_text)?;
    if owner != zone {
        return Err(KeyError::WrongZone {
            path: key_path,
            found: display(&owner),
            expected: display(zone),
        });
    }
    let algorithm = Algorithm::from_number(alg).ok_or_else(|| KeyError::Unsupported {
        path: key_path.clone(),
        number: alg,
    })?;
    if public.len() != algorithm.public_len() {
        return Err(malformed(
            &key_path,
            format!(
                "an algorithm {} public key has {} octets, not {}",
                alg,
                algorithm.public_len(),
                public.len()
            ),
        ));
    }
    if flags & FLAG_ZONE == 0 {
        return Err(malformed(
            &key_path,
            format!("flags {flags} lack the zone key bit (256 or 257)"),
        ));
    }
    let private_text = match std::fs::read_to_string(&private_path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(KeyError::MissingPrivate { path: private_path });
        }
        Err(source) => {
            return Err(KeyError::Io {
                path: private_path,
                source,
            });
        }
    };
    let (palg, private, timing) = parse_private(&private_path, &private_text)?;
    if palg != alg {
        return Err(malformed(
            &private_path,
            format!("algorithm {palg} differs from the .key file's {alg}"),
        ));
    }
    let signing = signing_key(algorithm, &private, &public, &private_path)?;
    let dnskey = dnskey_rdata(flags, algorithm, &public);
    Ok(Key {
        path: key_path,
        flags,
        algorithm,
        tag: key_tag(&dnskey),
        dnskey,
        ttl,
        timing,
        signing,
    })
}

/// The raw private key and public key of a fresh key pair.
fn generate_pair(algorithm: Algorithm) -> Result<(Vec<u8>, Vec<u8>), String> {
    let rng = SystemRandom::new();
    match algorithm {
        Algorithm::EcdsaP256Sha256 => {
            let alg = &signature::ECDSA_P256_SHA256_FIXED_SIGNING;
            let doc = signature::EcdsaKeyPair::generate_pkcs8(alg, &rng)
                .map_err(|_| "the random source failed".to_string())?;
            let pair = signature::EcdsaKeyPair::from_pkcs8(alg, doc.as_ref(), &rng)
                .map_err(|_| "ring made an unreadable key".to_string())?;
            // PKCS#8 holds an RFC 5915 ECPrivateKey: version 1 (02 01 01), then the scalar as
            // a 32-octet OCTET STRING (04 20).
            let der = doc.as_ref();
            let at = der
                .windows(5)
                .position(|w| w == [0x02, 0x01, 0x01, 0x04, 0x20])
                .ok_or_else(|| "no private scalar in ring's PKCS#8".to_string())?;
            let private = der[at + 5..at + 37].to_vec();
            Ok((private, pair.public_key().as_ref()[1..].to_vec()))
        }
        Algorithm::Ed25519 => {
            let mut seed = [0u8; 32];
            ring::rand::SecureRandom::fill(&rng, &mut seed)
                .map_err(|_| "the random source failed".to_string())?;
            let pair = signature::Ed25519KeyPair::from_seed_unchecked(&seed)
                .map_err(|_| "ring rejected the seed".to_string())?;
            Ok((seed.to_vec(), pair.public_key().as_ref().to_vec()))
        }
    }
}

/// Writes a new key pair for `zone` (presentation form, e.g. `gslb.example.com`) into `dir`
/// as `dnssec-keygen` would, published and active from `now`. `ksk` sets the SEP flag (257):
/// a key-signing key, or a combined key when it is the zone's only key. Returns the `.key`
/// path; the `.private` file is readable by its owner only.
pub fn generate(
    zone: &str,
    dir: &Path,
    algorithm: Algorithm,
    ksk: bool,
    now: u64,
) -> Result<PathBuf, KeyError> {
    let name = hickory_proto::rr::Name::from_ascii(zone).map_err(|_| KeyError::Malformed {
        path: dir.to_path_buf(),
        message: format!("{zone:?} is not a domain name"),
    })?;
    let mut origin = Vec::new();
    crate::wire::name::write_key(&name, &mut origin);
    let owner = display(&origin);
    let flags = FLAG_ZONE | if ksk { FLAG_SEP } else { 0 };
    let (private, public) = generate_pair(algorithm).map_err(|m| malformed(dir, m))?;
    let dnskey = dnskey_rdata(flags, algorithm, &public);
    let tag = key_tag(&dnskey);
    let stem = dir.join(format!("K{owner}+{:03}+{tag:05}", algorithm.number()));
    let (key_path, private_path) = paths(&stem);
    let ts = time::timestamp(now);
    let kind = if ksk { "key-signing" } else { "zone-signing" };
    let key_text = format!(
        "; This is a {kind} key, keyid {tag}, for {owner}\n\
         ; Created: {ts}\n; Publish: {ts}\n; Activate: {ts}\n\
         {owner} IN DNSKEY {flags} 3 {} {}\n",
        algorithm.number(),
        data_encoding::BASE64.encode(&public)
    );
    let private_text = format!(
        "Private-key-format: v1.3\nAlgorithm: {} ({})\nPrivateKey: {}\n\
         Created: {ts}\nPublish: {ts}\nActivate: {ts}\n",
        algorithm.number(),
        algorithm.mnemonic(),
        data_encoding::BASE64.encode(&private)
    );
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| KeyError::Io { path, source }
    };
    {
        use std::io::Write as _;
        use std::os::unix::fs::OpenOptionsExt as _;
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&private_path)
            .map_err(io(&private_path))?;
        f.write_all(private_text.as_bytes())
            .map_err(io(&private_path))?;
    }
    std::fs::write(&key_path, key_text).map_err(io(&key_path))?;
    Ok(key_path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn zone() -> Vec<u8> {
        b"\x04gslb\x07example\x03com\x00".to_vec()
    }

    #[test]
    fn generated_keys_read_back_and_sign_verifiably() {
        let d = tempfile::tempdir().unwrap();
        for alg in [Algorithm::EcdsaP256Sha256, Algorithm::Ed25519] {
            let p = generate("gslb.example.com", d.path(), alg, true, 1_796_185_800).unwrap();
            let name = p.file_name().unwrap().to_str().unwrap().to_string();
            assert!(name.starts_with(&format!("Kgslb.example.com.+{:03}+", alg.number())));
            let k = read(&p, &zone()).unwrap();
            assert_eq!(k.algorithm, alg);
            assert_eq!(k.flags, 257);
            assert!(k.is_ksk());
            assert!(name.ends_with(&format!("+{:05}.key", k.tag)));
            assert_eq!(k.timing.activate, Some(1_796_185_800));
            assert!(k.timing.active(1_796_185_800) && !k.timing.active(1_796_185_799));
            // hickory's key tag agrees with ours.
            assert_eq!(
                hickory_proto::dnssec::rdata::DNSKEY::calculate_key_tag_internal(&k.dnskey),
                k.tag
            );
            // A signature verifies with the public key of the DNSKEY.
            let sig = k.sign(b"to be signed").unwrap();
            let verify: &dyn signature::VerificationAlgorithm = match alg {
                Algorithm::EcdsaP256Sha256 => &signature::ECDSA_P256_SHA256_FIXED,
                Algorithm::Ed25519 => &signature::ED25519,
            };
            let mut point = Vec::new();
            if alg == Algorithm::EcdsaP256Sha256 {
                point.push(4);
            }
            point.extend_from_slice(&k.dnskey[4..]);
            signature::UnparsedPublicKey::new(verify, &point)
                .verify(b"to be signed", &sig)
                .unwrap();
            // The private file is the owner's only.
            use std::os::unix::fs::PermissionsExt as _;
            let (_, private) = paths(&p);
            let mode = std::fs::metadata(private).unwrap().permissions().mode();
            assert_eq!(mode & 0o077, 0);
        }
    }

    #[test]
    fn key_problems_are_errors_naming_the_file() {
        let d = tempfile::tempdir().unwrap();
        let p = generate(
            "gslb.example.com",
            d.path(),
            Algorithm::EcdsaP256Sha256,
            false,
            0,
        )
        .unwrap();
        let other = b"\x05other\x00";
        assert!(matches!(read(&p, other), Err(KeyError::WrongZone { .. })));
        let (key_path, private_path) = paths(&p);
        let text = std::fs::read_to_string(&key_path).unwrap();
        std::fs::write(&key_path, text.replace(" 256 3 13 ", " 256 3 8 ")).unwrap();
        let e = read(&p, &zone()).unwrap_err();
        assert!(matches!(e, KeyError::Unsupported { number: 8, .. }), "{e}");
        std::fs::write(&key_path, &text).unwrap();
        assert_eq!(read(&p, &zone()).unwrap().flags, 256);
        // Another key's private half does not match.
        let q = generate(
            "gslb.example.com",
            d.path(),
            Algorithm::EcdsaP256Sha256,
            true,
            0,
        )
        .unwrap();
        let (_, q_private) = paths(&q);
        std::fs::copy(&q_private, &private_path).unwrap();
        let e = read(&p, &zone()).unwrap_err();
        assert!(matches!(e, KeyError::Mismatch { .. }), "{e}");
        std::fs::remove_file(&private_path).unwrap();
        let e = read(&p, &zone()).unwrap_err();
        assert!(e.to_string().contains(".private: missing"), "{e}");
    }

    #[test]
    fn timing_follows_bind() {
        let t = Timing::default();
        assert!(t.published(0) && t.active(0), "no metadata: always on");
        let t = Timing {
            publish: Some(100),
            activate: Some(200),
            inactive: Some(300),
            delete: Some(400),
        };
        let at = |now| (t.published(now), t.active(now));
        assert_eq!(at(99), (false, false));
        assert_eq!(at(100), (true, false));
        assert_eq!(at(200), (true, true));
        assert_eq!(at(300), (true, false));
        assert_eq!(at(400), (false, false));
        // A pre-published key without Activate never signs.
        let pre = Timing {
            publish: Some(100),
            ..Timing::default()
        };
        assert!(pre.published(150) && !pre.active(150));
    }
}
