//! Batched UDP I/O on Linux: `recvmmsg` takes up to `BATCH` queries in one system call and
//! `sendmmsg` returns their answers in one, so under load the per-packet cost is the answer
//! itself, not the kernel crossing.
//!
//! Owns: the buffers and the unsafe FFI of one worker. Must not: allocate per packet; every
//! buffer is made once per worker. The unsafe blocks only hand the kernel pointers into those
//! buffers, which outlive the calls.

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: queries are small; a larger one arrives truncated and is answered
/// FORMERR by the parser.
const RECV_BUF: usize = 4096;

/// The buffers of one worker.
pub struct Batch {
    bufs: Vec<[u8; RECV_BUF]>,
    addrs: Vec<libc::sockaddr_storage>,
    iov: Vec<libc::iovec>,
    msgs: Vec<libc::mmsghdr>,
    /// Answers, one per received datagram (empty = nothing to send).
    pub out: Vec<Vec<u8>>,
    out_iov: Vec<libc::iovec>,
    out_msgs: Vec<libc::mmsghdr>,
}

// SAFETY: the raw pointers inside are only ever into the struct's own heap buffers, which move
// with it; nothing is shared with another thread.
unsafe impl Send for Batch {}

impl Default for Batch {
    fn default() -> Self {
        Self::new()
    }
}

impl Batch {
    /// Allocates the buffers.
    pub fn new() -> Batch {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let zero_addr: libc::sockaddr_storage = unsafe { zeroed() };
        let zero_msg: libc::mmsghdr = unsafe { zeroed() };
        Batch {
            bufs: vec![[0u8; RECV_BUF]; BATCH],
            addrs: vec![zero_addr; BATCH],
            iov: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            msgs: vec![zero_msg; BATCH],
            out: (0..BATCH).map(|_| Vec::with_capacity(1232)).collect(),
            out_iov: vec![
                libc::iovec {
                    iov_base: std::ptr::null_mut(),
                    iov_len: 0
                };
                BATCH
            ],
            out_msgs: vec![zero_msg; BATCH],
        }
    }

    /// Receives up to BATCH datagrams, blocking until at least one arrives (or the socket's
    /// read timeout passes: then `Ok(0)`).
    pub fn recv(&mut self, sock: &UdpSocket) -> io::Result<usize> {
        for i in 0..BATCH {
            self.iov[i] = libc::iovec {
                iov_base: self.bufs[i].as_mut_ptr().cast(),
                iov_len: RECV_BUF,
            };
            let h = &mut self.msgs[i].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = size_of::<libc::sockaddr_storage>() as libc::socklen_t;
            h.msg_iov = &mut self.iov[i];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            self.msgs[i].msg_len = 0;
        }
        // SAFETY: every pointer in `msgs` points into buffers owned by `self` that live across
        // the call; the lengths given are those buffers' lengths.
        let n = unsafe {
            libc::recvmmsg(
                sock.as_raw_fd(),
                self.msgs.as_mut_ptr(),
                BATCH as libc::c_uint,
                libc::MSG_WAITFORONE,
                std::ptr::null_mut(),
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return match e.kind() {
                io::ErrorKind::WouldBlock
                | io::ErrorKind::TimedOut
                | io::ErrorKind::Interrupted => Ok(0),
                _ => Err(e),
            };
        }
        Ok(n as usize)
    }

    /// Datagram `i` of the last receive and its sender.
    pub fn packet(&self, i: usize) -> (&[u8], Option<IpAddr>) {
        let len = (self.msgs[i].msg_len as usize).min(RECV_BUF);
        (&self.bufs[i][..len], peer(&self.addrs[i]))
    }

    /// Sends every non-empty `out[i]` back to the sender of datagram `i` (of the first `n`).
    pub fn send(&mut self, sock: &UdpSocket, n: usize) -> io::Result<()> {
        let mut k = 0;
        for i in 0..n {
            if self.out[i].is_empty() {
                continue;
            }
            self.out_iov[k] = libc::iovec {
                iov_base: self.out[i].as_mut_ptr().cast(),
                iov_len: self.out[i].len(),
            };
            let h = &mut self.out_msgs[k].msg_hdr;
            h.msg_name = (&mut self.addrs[i] as *mut libc::sockaddr_storage).cast();
            h.msg_namelen = self.msgs[i].msg_hdr.msg_namelen;
            h.msg_iov = &mut self.out_iov[k];
            h.msg_iovlen = 1;
            h.msg_control = std::ptr::null_mut();
            h.msg_controllen = 0;
            h.msg_flags = 0;
            k += 1;
        }
        let mut sent = 0;
        while sent < k {
            // SAFETY: as in `recv`: pointers into `self`'s buffers, valid for the call.
            let r = unsafe {
                libc::sendmmsg(
                    sock.as_raw_fd(),
                    self.out_msgs[sent..].as_mut_ptr(),
                    (k - sent) as libc::c_uint,
                    0,
                )
            };
            if r < 0 {
                let e = io::Error::last_os_error();
                if e.kind() == io::ErrorKind::Interrupted {
                    continue;
                }
                // Drop this message (an unreachable peer, a full buffer) and go on with the rest.
                sent += 1;
                if sent >= k {
                    return Err(e);
                }
                continue;
            }
            sent += r as usize;
        }
        Ok(())
    }
}

fn peer(a: &libc::sockaddr_storage) -> Option<IpAddr> {
    match a.ss_family as libc::c_int {
        libc::AF_INET => {
            let mut v4 = MaybeUninit::<libc::sockaddr_in>::uninit();
            // SAFETY: the kernel wrote a sockaddr_in here (family AF_INET); storage is larger.
            let v4 = unsafe {
                std::ptr::copy_nonoverlapping(
                    (a as *const libc::sockaddr_storage).cast::<u8>(),
                    v4.as_mut_ptr().cast::<u8>(),
                    size_of::<libc::sockaddr_in>(),
                );
                v4.assume_init()
            };
            Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))))
        }
        libc::AF_INET6 => {
            let mut v6 = MaybeUninit::<libc::sockaddr_in6>::uninit();
            // SAFETY: as above, for AF_INET6.
            let v6 = unsafe {
                std::ptr::copy_nonoverlapping(
                    (a as *const libc::sockaddr_storage).cast::<u8>(),
                    v6.as_mut_ptr().cast::<u8>(),
                    size_of::<libc::sockaddr_in6>(),
                );
                v6.assume_init()
            };
            Some(IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)))
        }
        _ => None,
    }
}
