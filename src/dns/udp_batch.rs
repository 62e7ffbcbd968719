//! Batched UDP I/O on Linux: `recvmmsg` takes up to `BATCH` queries in one system call and
//! `sendmmsg` returns their answers in one, so under load the per-packet cost is the answer
//! itself, not the kernel crossing.
//!
//! Owns: the buffers and the unsafe FFI of one worker. Must not: allocate per packet; every
//! buffer is made once per worker. The unsafe blocks only hand the kernel pointers into those
//! buffers, which outlive the calls.

use std::io;
use std::mem::{MaybeUninit, size_of, zeroed};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::AsRawFd;

/// Datagrams per system call.
pub const BATCH: usize = 32;
/// Receive buffer per datagram: queries are small; a larger one arrives truncated and is answered
/// FORMERR by the parser.
const RECV_BUF: usize = 4096;

/// Room for one packet-info control message (RFC 3542 / ip(7) IP_PKTINFO), aligned for cmsghdr.
#[derive(Clone, Copy)]
#[repr(C, align(8))]
struct Ctrl([u8; 64]);

/// Where a query was sent to, from its packet-info control message, so the answer leaves from
/// that same address when the socket is bound to a wildcard address on a multi-homed host.
#[derive(Clone, Copy)]
enum Dest {
    V4(libc::in_addr),
    V6(libc::in6_addr, u32),
}

/// The buffers of one worker.
pub struct Batch {
    /// Whether the socket delivers packet info (wildcard binds).
    pktinfo: bool,
    ctrl: Vec<Ctrl>,
    dest: Vec<Option<Dest>>,
    out_ctrl: Vec<Ctrl>,
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

impl Batch {
    /// Allocates the buffers. With `pktinfo`, the socket must have IP_PKTINFO or
    /// IPV6_RECVPKTINFO enabled (see `enable_pktinfo`).
    pub fn new(pktinfo: bool) -> Batch {
        // SAFETY: all-zero is a valid value for these plain C structs.
        let zero_addr: libc::sockaddr_storage = unsafe { zeroed() };
        let zero_msg: libc::mmsghdr = unsafe { zeroed() };
        Batch {
            pktinfo,
            ctrl: vec![Ctrl([0; 64]); BATCH],
            dest: vec![None; BATCH],
            out_ctrl: vec![Ctrl([0; 64]); BATCH],
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
            if self.pktinfo {
                h.msg_control = self.ctrl[i].0.as_mut_ptr().cast();
                h.msg_controllen = self.ctrl[i].0.len() as _;
            } else {
                h.msg_control = std::ptr::null_mut();
                h.msg_controllen = 0;
            }
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
        if self.pktinfo {
            for i in 0..n as usize {
                self.dest[i] = dest_of(&self.msgs[i].msg_hdr);
            }
        }
        Ok(n as usize)
    }

    /// Datagram `i` of the last receive and its sender.
    pub fn packet(&self, i: usize) -> (&[u8], Option<SocketAddr>) {
        let len = (self.msgs[i].msg_len as usize).min(RECV_BUF);
        (&self.bufs[i][..len], peer(&self.addrs[i]))
    }

    /// The address datagram `i` was sent to, when the socket delivers packet info.
    pub fn dest_ip(&self, i: usize) -> Option<IpAddr> {
        match self.dest[i].filter(|_| self.pktinfo)? {
            Dest::V4(a) => Some(IpAddr::V4(Ipv4Addr::from(u32::from_be(a.s_addr)))),
            Dest::V6(a, _) => Some(IpAddr::V6(Ipv6Addr::from(a.s6_addr))),
        }
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
            if let Some(d) = self.dest[i].filter(|_| self.pktinfo) {
                set_source(h, &mut self.out_ctrl[k], d);
            }
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

/// Turns on packet info for a socket bound to a wildcard address, so each query's destination
/// address is known and its answer can leave from it.
pub fn enable_pktinfo(sock: &UdpSocket, v6: bool) -> io::Result<()> {
    let one: libc::c_int = 1;
    let (level, name) = if v6 {
        (libc::IPPROTO_IPV6, libc::IPV6_RECVPKTINFO)
    } else {
        (libc::IPPROTO_IP, libc::IP_PKTINFO)
    };
    // SAFETY: a valid socket and a pointer to a c_int of the given size.
    let r = unsafe {
        libc::setsockopt(
            sock.as_raw_fd(),
            level,
            name,
            (&one as *const libc::c_int).cast(),
            size_of::<libc::c_int>() as libc::socklen_t,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The destination of a received datagram, from its control messages.
fn dest_of(h: &libc::msghdr) -> Option<Dest> {
    // SAFETY: `h` was filled by recvmmsg with `msg_control` pointing at our buffer; the CMSG_*
    // helpers walk it within `msg_controllen`, and each payload is read unaligned.
    unsafe {
        let mut c = libc::CMSG_FIRSTHDR(h);
        while !c.is_null() {
            let data = libc::CMSG_DATA(c);
            match ((*c).cmsg_level, (*c).cmsg_type) {
                (libc::IPPROTO_IP, libc::IP_PKTINFO) => {
                    let p = std::ptr::read_unaligned(data.cast::<libc::in_pktinfo>());
                    return Some(Dest::V4(p.ipi_addr));
                }
                (libc::IPPROTO_IPV6, libc::IPV6_PKTINFO) => {
                    let p = std::ptr::read_unaligned(data.cast::<libc::in6_pktinfo>());
                    return Some(Dest::V6(p.ipi6_addr, p.ipi6_ifindex));
                }
                _ => {}
            }
            c = libc::CMSG_NXTHDR(h, c);
        }
    }
    None
}

/// Attaches a packet-info control message choosing the source address of an answer.
fn set_source(h: &mut libc::msghdr, ctrl: &mut Ctrl, d: Dest) {
    ctrl.0 = [0; 64];
    h.msg_control = ctrl.0.as_mut_ptr().cast();
    // SAFETY: the buffer is 64 bytes, aligned for cmsghdr, and CMSG_SPACE of either pktinfo
    // struct fits in it; CMSG_FIRSTHDR is non-null because msg_controllen covers one header.
    unsafe {
        let (level, kind, len) = match d {
            Dest::V4(_) => (
                libc::IPPROTO_IP,
                libc::IP_PKTINFO,
                size_of::<libc::in_pktinfo>(),
            ),
            Dest::V6(..) => (
                libc::IPPROTO_IPV6,
                libc::IPV6_PKTINFO,
                size_of::<libc::in6_pktinfo>(),
            ),
        };
        h.msg_controllen = libc::CMSG_SPACE(len as u32) as _;
        let c = libc::CMSG_FIRSTHDR(h);
        (*c).cmsg_level = level;
        (*c).cmsg_type = kind;
        (*c).cmsg_len = libc::CMSG_LEN(len as u32) as _;
        let data = libc::CMSG_DATA(c);
        match d {
            Dest::V4(addr) => std::ptr::write_unaligned(
                data.cast::<libc::in_pktinfo>(),
                libc::in_pktinfo {
                    ipi_ifindex: 0,
                    ipi_spec_dst: addr,
                    ipi_addr: libc::in_addr { s_addr: 0 },
                },
            ),
            Dest::V6(addr, ifindex) => std::ptr::write_unaligned(
                data.cast::<libc::in6_pktinfo>(),
                libc::in6_pktinfo {
                    ipi6_addr: addr,
                    ipi6_ifindex: ifindex,
                },
            ),
        }
    }
}

fn peer(a: &libc::sockaddr_storage) -> Option<SocketAddr> {
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
            Some(SocketAddr::new(
                IpAddr::V4(Ipv4Addr::from(u32::from_be(v4.sin_addr.s_addr))),
                u16::from_be(v4.sin_port),
            ))
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
            Some(SocketAddr::new(
                IpAddr::V6(Ipv6Addr::from(v6.sin6_addr.s6_addr)),
                u16::from_be(v6.sin6_port),
            ))
        }
        _ => None,
    }
}
