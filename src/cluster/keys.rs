//! Where things live in etcd, all under `[cluster] prefix`:
//!
//! ```text
//! {prefix}/members/{instance}                  JSON Member, under the instance's lease
//! {prefix}/votes/{check}/{endpoint}/{instance} "up" | "down", under the instance's lease
//! {prefix}/drains                              JSON drained set (no lease: operator intent)
//! ```
//! A check name or instance id holding '/' or '%' is written percent-encoded, so every key
//! splits back into its parts.
//!
//! Owns: building and parsing keys. Must not: talk to etcd.

use super::Subject;

/// What a key under the prefix is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Key {
    /// An instance's registration.
    Member(String),
    /// An instance's vote on a subject.
    Vote(Subject, String),
    /// The drained set.
    Drains,
}

/// The key layout of one prefix.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
}

fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '/' => out.push_str("%2F"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

fn decode(s: &str) -> String {
    s.replace("%2F", "/").replace("%25", "%")
}

impl Layout {
    /// The layout under `prefix` (no trailing slash).
    pub(super) fn new(prefix: &str) -> Layout {
        Layout {
            prefix: prefix.to_string(),
        }
    }

    /// Every key of this NS set starts with this.
    pub(super) fn root(&self) -> String {
        format!("{}/", self.prefix)
    }

    pub(super) fn member(&self, instance: &str) -> String {
        format!("{}/members/{}", self.prefix, encode(instance))
    }

    pub(super) fn vote(&self, s: &Subject, instance: &str) -> String {
        format!(
            "{}/votes/{}/{}/{}",
            self.prefix,
            encode(&s.check),
            encode(&s.endpoint),
            encode(instance)
        )
    }

    pub(super) fn drains(&self) -> String {
        format!("{}/drains", self.prefix)
    }

    /// What `key` is (None: not one of ours, e.g. written by a newer version).
    pub(super) fn parse(&self, key: &[u8]) -> Option<Key> {
        let key = std::str::from_utf8(key).ok()?;
        let rest = key.strip_prefix(&self.prefix)?.strip_prefix('/')?;
        if rest == "drains" {
            return Some(Key::Drains);
        }
        if let Some(m) = rest.strip_prefix("members/") {
            return (!m.is_empty() && !m.contains('/')).then(|| Key::Member(decode(m)));
        }
        let v = rest.strip_prefix("votes/")?;
        let mut parts = v.split('/');
        let (check, endpoint, instance) = (parts.next()?, parts.next()?, parts.next()?);
        if parts.next().is_some() || check.is_empty() || endpoint.is_empty() || instance.is_empty()
        {
            return None;
        }
        Some(Key::Vote(
            Subject::new(&decode(check), &decode(endpoint)),
            decode(instance),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_split_back_into_their_parts() {
        let l = Layout::new("/gslb/prod");
        let s = Subject::new("web/health%", "2001:db8::1");
        let k = l.vote(&s, "ns1");
        assert_eq!(k, "/gslb/prod/votes/web%2Fhealth%25/2001:db8::1/ns1");
        assert_eq!(l.parse(k.as_bytes()), Some(Key::Vote(s, "ns1".into())));
        assert_eq!(
            l.parse(l.member("ns.2").as_bytes()),
            Some(Key::Member("ns.2".into()))
        );
        assert_eq!(l.parse(b"/gslb/prod/drains"), Some(Key::Drains));
        assert_eq!(l.parse(b"/gslb/prodx/drains"), None, "another prefix");
        assert_eq!(l.parse(b"/gslb/prod/votes/web//ns1"), None);
        assert_eq!(l.parse(b"/gslb/prod/votes/web/a/b/ns1"), None);
        assert_eq!(l.parse(b"/gslb/prod/future/thing"), None);
    }
}
