//! TCP socket rules the DNS listener and the admin API share: accepting through a transient
//! error, and closing with a reset.
//!
//! Owns: those two rules, so both listeners behave alike under attack. Must not: know what is
//! served over the connection.

use std::net::SocketAddr;
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio_util::sync::CancellationToken;

/// The next connection on `listener`, or None once `cancel` fires. An accept error (out of
/// descriptors and the like) is logged at debug with `what` and retried after a moment, so a
/// listener never spins on it and never stops for it.
pub(crate) async fn accept(
    listener: &TcpListener,
    cancel: &CancellationToken,
    what: &str,
) -> Option<(TcpStream, SocketAddr)> {
    loop {
        tokio::select! {
            _ = cancel.cancelled() => return None,
            r = listener.accept() => match r {
                Ok(x) => return Some(x),
                Err(e) => {
                    tracing::debug!(error = %e, listener = what, "accept failed");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                }
            },
        }
    }
}

/// Makes the close of `s` a reset instead of a FIN: nothing queued is kept (an orphaned socket
/// with unread data could linger for minutes), and the server keeps no TIME_WAIT state.
pub(crate) fn reset(s: &TcpStream) {
    let _ = socket2::SockRef::from(s).set_linger(Some(Duration::ZERO));
}
