//! Frame Streams, the framing dnstap travels in (the fstrm library's protocol), bidirectional
//! mode over a stream socket: the writer says READY with its content type, the reader answers
//! ACCEPT, the writer says START, sends data frames (a big-endian u32 length, then the bytes),
//! and ends with STOP, which the reader acknowledges with FINISH.
//!
//! Owns: control frames (encoding, reading, checking) and the handshake. Must not: know what
//! the data frames hold, or retry (the writer decides that).

use std::io::{self, Read, Write};

/// The content type dnstap collectors accept.
pub(super) const CONTENT_TYPE: &[u8] = b"protobuf:dnstap.Dnstap";

/// Control frame types.
const ACCEPT: u32 = 0x01;
const START: u32 = 0x02;
const STOP: u32 = 0x03;
const READY: u32 = 0x04;
const FINISH: u32 = 0x05;
/// The one control field: a content type.
const FIELD_CONTENT_TYPE: u32 = 0x01;
/// The longest control frame a reader sends (fstrm's limit).
const CONTROL_MAX: usize = 512;

/// Why the handshake or the end of a stream failed.
#[derive(Debug, thiserror::Error)]
pub(super) enum FstrmError {
    /// The socket failed (or timed out).
    #[error("{0}")]
    Io(#[from] io::Error),
    /// The collector sent something other than the control frame expected.
    #[error("the collector sent {got} where {want} was expected")]
    Unexpected {
        /// What it sent.
        got: String,
        /// What the protocol expects.
        want: &'static str,
    },
    /// The collector does not take dnstap.
    #[error("the collector does not accept content type protobuf:dnstap.Dnstap")]
    ContentType,
}

/// Appends a control frame: the escape (a zero length), the control frame's length, its type,
/// and optionally the content-type field.
fn control(out: &mut Vec<u8>, kind: u32, with_type: bool) {
    let field_len = if with_type { 8 + CONTENT_TYPE.len() } else { 0 };
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(&((4 + field_len) as u32).to_be_bytes());
    out.extend_from_slice(&kind.to_be_bytes());
    if with_type {
        out.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
        out.extend_from_slice(&(CONTENT_TYPE.len() as u32).to_be_bytes());
        out.extend_from_slice(CONTENT_TYPE);
    }
}

fn name(kind: u32) -> String {
    match kind {
        ACCEPT => "ACCEPT".into(),
        START => "START".into(),
        STOP => "STOP".into(),
        READY => "READY".into(),
        FINISH => "FINISH".into(),
        k => format!("control frame type {k}"),
    }
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    let s = b.get(at..at + 4)?;
    Some(u32::from_be_bytes([s[0], s[1], s[2], s[3]]))
}

/// Reads one control frame: its type and whether it lists our content type (a frame without
/// any content-type field counts as listing it, as fstrm reads it).
fn read_control(r: &mut impl Read) -> Result<(u32, bool), FstrmError> {
    let mut head = [0u8; 8];
    r.read_exact(&mut head)?;
    let (escape, len) = (
        u32_at(&head, 0).unwrap_or(1),
        u32_at(&head, 4).unwrap_or(0) as usize,
    );
    if escape != 0 {
        return Err(FstrmError::Unexpected {
            got: "a data frame".into(),
            want: "a control frame",
        });
    }
    if !(4..=CONTROL_MAX).contains(&len) {
        return Err(FstrmError::Unexpected {
            got: format!("a control frame of {len} bytes"),
            want: "a control frame of 4 to 512 bytes",
        });
    }
    let mut body = [0u8; CONTROL_MAX];
    r.read_exact(&mut body[..len])?;
    let body = &body[..len];
    let kind = u32_at(body, 0).unwrap_or(0);
    let (mut at, mut any, mut ours) = (4, false, false);
    while let (Some(field), Some(flen)) = (u32_at(body, at), u32_at(body, at + 4)) {
        let value = body.get(at + 8..at + 8 + flen as usize);
        if field == FIELD_CONTENT_TYPE {
            any = true;
            ours |= value == Some(CONTENT_TYPE);
        }
        at += 8 + flen as usize;
    }
    Ok((kind, ours || !any))
}

fn expect(r: &mut impl Read, want: u32, want_name: &'static str) -> Result<bool, FstrmError> {
    let (kind, ours) = read_control(r)?;
    if kind != want {
        return Err(FstrmError::Unexpected {
            got: name(kind),
            want: want_name,
        });
    }
    Ok(ours)
}

/// The writer's side of the handshake: READY → ACCEPT → START. After it, data frames may be
/// written.
pub(super) fn handshake(s: &mut (impl Read + Write)) -> Result<(), FstrmError> {
    let mut out = Vec::with_capacity(64);
    control(&mut out, READY, true);
    s.write_all(&out)?;
    if !expect(s, ACCEPT, "ACCEPT")? {
        return Err(FstrmError::ContentType);
    }
    out.clear();
    control(&mut out, START, true);
    s.write_all(&out)?;
    s.flush()?;
    Ok(())
}

/// Starts a data frame in `out`: room for its length; the payload is appended after it, then
/// `end_frame` with what this returned fills the length in. Writing the payload in place saves
/// a copy of every message.
pub(super) fn begin_frame(out: &mut Vec<u8>) -> usize {
    out.extend_from_slice(&[0; 4]);
    out.len()
}

/// Ends the data frame `begin_frame` started at `start` (its payload must not be empty: an
/// empty frame is the control escape).
pub(super) fn end_frame(out: &mut [u8], start: usize) {
    let len = (out.len() - start) as u32;
    out[start - 4..start].copy_from_slice(&len.to_be_bytes());
}

/// Ends the stream: STOP, then the collector's FINISH (within the socket's read timeout).
pub(super) fn stop(s: &mut (impl Read + Write)) -> Result<(), FstrmError> {
    let mut out = Vec::with_capacity(16);
    control(&mut out, STOP, false);
    s.write_all(&out)?;
    s.flush()?;
    expect(s, FINISH, "FINISH").map(|_| ())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::net::UnixStream;

    /// A collector's side, written from the protocol description: reads READY, answers ACCEPT
    /// (with `accept_type`), reads START, the data frames and STOP, answers FINISH; returns
    /// the data frames.
    fn collector(mut s: UnixStream, accept_type: &'static [u8]) -> io::Result<Vec<Vec<u8>>> {
        let mut frames = Vec::new();
        let mut controls = Vec::new();
        loop {
            let mut len = [0u8; 4];
            s.read_exact(&mut len)?;
            let len = u32::from_be_bytes(len) as usize;
            if len > 0 {
                let mut f = vec![0u8; len];
                s.read_exact(&mut f)?;
                frames.push(f);
                continue;
            }
            let mut clen = [0u8; 4];
            s.read_exact(&mut clen)?;
            let mut c = vec![0u8; u32::from_be_bytes(clen) as usize];
            s.read_exact(&mut c)?;
            let kind = u32_at(&c, 0).unwrap();
            controls.push(kind);
            match kind {
                READY => {
                    assert!(c.ends_with(CONTENT_TYPE), "READY names the type");
                    let mut out = Vec::new();
                    out.extend_from_slice(&0u32.to_be_bytes());
                    out.extend_from_slice(&((12 + accept_type.len()) as u32).to_be_bytes());
                    out.extend_from_slice(&ACCEPT.to_be_bytes());
                    out.extend_from_slice(&FIELD_CONTENT_TYPE.to_be_bytes());
                    out.extend_from_slice(&(accept_type.len() as u32).to_be_bytes());
                    out.extend_from_slice(accept_type);
                    s.write_all(&out)?;
                }
                START => {}
                STOP => {
                    s.write_all(&[0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 5])?;
                    assert_eq!(controls, vec![READY, START, STOP]);
                    return Ok(frames);
                }
                k => panic!("unexpected control {k}"),
            }
        }
    }

    #[test]
    fn handshake_data_and_stop_in_the_order_the_protocol_says() {
        let (mut w, r) = UnixStream::pair().unwrap();
        w.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let reader = std::thread::spawn(move || collector(r, CONTENT_TYPE));
        handshake(&mut w).unwrap();
        let mut out = Vec::new();
        for payload in [&b"one"[..], b"two"] {
            let at = begin_frame(&mut out);
            out.extend_from_slice(payload);
            end_frame(&mut out, at);
        }
        w.write_all(&out).unwrap();
        stop(&mut w).unwrap();
        assert_eq!(
            reader.join().unwrap().unwrap(),
            vec![b"one".to_vec(), b"two".to_vec()]
        );
    }

    #[test]
    fn a_collector_of_another_type_is_refused() {
        let (mut w, r) = UnixStream::pair().unwrap();
        w.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        let _reader = std::thread::spawn(move || collector(r, b"protobuf:other"));
        assert!(matches!(handshake(&mut w), Err(FstrmError::ContentType)));
    }

    #[test]
    fn a_data_frame_where_accept_belongs_is_an_error() {
        let (mut w, mut r) = UnixStream::pair().unwrap();
        w.set_read_timeout(Some(std::time::Duration::from_secs(5)))
            .unwrap();
        r.write_all(&[0, 0, 0, 4, 1, 2, 3, 4]).unwrap();
        let e = handshake(&mut w).unwrap_err();
        assert!(e.to_string().contains("a data frame"), "{e}");
    }
}
