//! Domain names as the answer path sees them: lower-cased, uncompressed wire form.
//!
//! Owns: the canonical byte key every zone lookup uses, and walking a name's ancestors as
//! suffixes of that key (no allocation). Must not: parse presentation format (hickory does).

use hickory_proto::rr::Name;

/// The longest name on the wire, root label included (RFC 1035 §2.3.4).
pub const MAX_NAME: usize = 255;

/// A name in lower-cased wire form held on the stack.
#[derive(Clone)]
pub struct NameBuf {
    bytes: [u8; MAX_NAME],
    len: u8,
}

impl std::fmt::Debug for NameBuf {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&display(self.as_bytes()))
    }
}

impl Default for NameBuf {
    fn default() -> Self {
        Self::new()
    }
}

impl NameBuf {
    /// An empty buffer (not yet a name: push labels, then the root).
    pub fn new() -> Self {
        NameBuf {
            bytes: [0; MAX_NAME],
            len: 0,
        }
    }

    /// Appends a label, lower-casing it. None when the name would exceed 255 octets.
    pub fn push_label(&mut self, label: &[u8]) -> Option<()> {
        let at = self.len as usize;
        // Keep one octet for the root label.
        if label.is_empty() || label.len() > 63 || at + 1 + label.len() + 1 > MAX_NAME {
            return None;
        }
        self.bytes[at] = label.len() as u8;
        for (i, b) in label.iter().enumerate() {
            self.bytes[at + 1 + i] = b.to_ascii_lowercase();
        }
        self.len += 1 + label.len() as u8;
        Some(())
    }

    /// Appends the root label, completing the name.
    pub fn push_root(&mut self) -> Option<()> {
        if self.len as usize >= MAX_NAME {
            return None;
        }
        self.bytes[self.len as usize] = 0;
        self.len += 1;
        Some(())
    }

    /// Copies a complete wire name (lower-casing it).
    pub fn from_wire(wire: &[u8]) -> Option<Self> {
        let mut n = NameBuf::new();
        n.set_wire(wire)?;
        Some(n)
    }

    /// Replaces the buffer with the uncompressed wire name at the start of `wire`, lower-cased.
    /// Returns the name's length, or None (buffer emptied) for a compression pointer, a label
    /// type other than a plain label, a name longer than 255 octets or one cut short.
    pub fn set_wire(&mut self, wire: &[u8]) -> Option<usize> {
        self.len = 0;
        let mut pos = 0;
        loop {
            let l = *wire.get(pos)? as usize;
            if l as u8 & super::POINTER != 0 {
                return None;
            }
            pos += 1 + l;
            if pos > MAX_NAME {
                return None;
            }
            if l == 0 {
                break;
            }
        }
        let src = wire.get(..pos)?;
        let dst = &mut self.bytes[..pos];
        dst.copy_from_slice(src);
        // Length octets are at most 63, below b'A', so lower-casing the whole run leaves them be.
        dst.make_ascii_lowercase();
        self.len = pos as u8;
        Some(pos)
    }

    /// The name's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len as usize]
    }
}

/// Iterates a wire name and its ancestors, longest first (`a.b.` then `b.` then `.`).
pub fn suffixes(name: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = Some(0usize);
    std::iter::from_fn(move || {
        let p = pos?;
        let len = *name.get(p)? as usize;
        pos = if len == 0 { None } else { Some(p + 1 + len) };
        Some(&name[p..])
    })
}

/// The parent of a wire name (None for the root).
pub fn parent(name: &[u8]) -> Option<&[u8]> {
    let len = *name.first()? as usize;
    if len == 0 { None } else { name.get(1 + len..) }
}

/// Whether `name` equals `zone` or lies below it.
pub fn is_at_or_below(name: &[u8], zone: &[u8]) -> bool {
    suffixes(name).any(|s| s == zone)
}

/// The lower-cased wire key of a hickory name (always treated as fully qualified).
pub fn key_of(name: &Name) -> Box<[u8]> {
    let mut v = Vec::with_capacity(name.len() + 2);
    write_key(name, &mut v);
    v.into_boxed_slice()
}

/// Writes the key of `name` into `out` (cleared first), so a loop over many names can reuse
/// one buffer.
pub fn write_key(name: &Name, out: &mut Vec<u8>) {
    out.clear();
    for label in name.iter() {
        out.push(label.len() as u8);
        out.extend(label.iter().map(u8::to_ascii_lowercase));
    }
    out.push(0);
}

/// Presentation form of a wire name, for logs and errors.
pub fn display(name: &[u8]) -> String {
    let mut s = String::new();
    let mut pos = 0;
    while let Some(&l) = name.get(pos) {
        if l == 0 {
            break;
        }
        let label = name.get(pos + 1..pos + 1 + l as usize).unwrap_or(&[]);
        for &b in label {
            match b {
                b'.' | b'\\' | b'"' | b'(' | b')' | b';' | b'@' | b'$' => {
                    s.push('\\');
                    s.push(b as char)
                }
                0x21..=0x7E => s.push(b as char),
                _ => s.push_str(&format!("\\{b:03}")),
            }
        }
        s.push('.');
        pos += 1 + l as usize;
    }
    if s.is_empty() {
        s.push('.');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::str::FromStr;

    #[test]
    fn suffixes_walk_to_root() {
        let n = b"\x01a\x01b\x00";
        let all: Vec<&[u8]> = suffixes(n).collect();
        assert_eq!(all, vec![&n[..], &n[2..], &n[4..]]);
        assert_eq!(parent(n), Some(&n[2..]));
        assert_eq!(parent(b"\x00"), None);
        assert!(is_at_or_below(n, b"\x01b\x00"));
        assert!(!is_at_or_below(b"\x01b\x00", n));
    }

    #[test]
    fn key_is_lowercase_wire() {
        let n = Name::from_str("WwW.Example.").unwrap();
        assert_eq!(&*key_of(&n), b"\x03www\x07example\x00");
        assert_eq!(display(&key_of(&n)), "www.example.");
        assert_eq!(display(b"\x00"), ".");
    }

    #[test]
    fn namebuf_rejects_long_names() {
        let mut n = NameBuf::new();
        let label = [b'a'; 63];
        for _ in 0..3 {
            n.push_label(&label).unwrap();
        }
        assert!(n.push_label(&label).is_none());
        assert!(n.push_label(&[b'a'; 61]).is_some());
        n.push_root().unwrap();
        assert_eq!(n.as_bytes().len(), 255);
    }

    #[test]
    fn set_wire_lowercases_and_checks_structure() {
        let mut n = NameBuf::new();
        assert_eq!(n.set_wire(b"\x03WwW\x07EXAMPLE\x00trailing"), Some(13));
        assert_eq!(n.as_bytes(), b"\x03www\x07example\x00");
        // Compression pointers, extended label types, names cut short: refused, buffer empty.
        for bad in [&b"\x01a\xc0\x0c"[..], b"\x41a\x00", b"\x03ww", b""] {
            assert_eq!(n.set_wire(bad), None);
            assert_eq!(n.as_bytes(), b"");
        }
        let mut long = Vec::new();
        for _ in 0..4 {
            long.push(63);
            long.extend_from_slice(&[b'a'; 63]);
        }
        long.push(0);
        assert_eq!(n.set_wire(&long), None);
        let mut max = long[64..].to_vec();
        max.splice(0..0, [61].into_iter().chain([b'b'; 61]));
        assert_eq!(n.set_wire(&max), Some(255));
    }
}
