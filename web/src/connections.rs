//! Accepting connections: a cap on how many are open at once, and a timer on each so that no
//! client can hold one forever.
//!
//! Every open connection costs a file descriptor, a task and its buffers. A client that opens
//! connections and then sends nothing (or a header a byte at a time, or a `Content-Length` it
//! never delivers) costs the server those for as long as it likes, unless something says when
//! to give up. Three things do here:
//!
//! | bound | what it stops | where |
//! |---|---|---|
//! | [`ConnectionLimits::max_connections`] | a crowd of connections exhausting descriptors and memory | a semaphore taken *before* `accept`: at the cap, new clients wait in the kernel's backlog |
//! | [`ConnectionLimits::header_timeout`] | a request head that never completes (slowloris), a TLS handshake that never does, and an idle keep-alive connection | hyper's header-read timer, which needs a [`TokioTimer`]; hyper restarts it when a kept-alive connection waits for its next request, so one timer covers both |
//! | [`ConnectionLimits::max_head`] | a huge request head held in memory | hyper's read buffer limit (431/400 beyond it) |
//!
//! The body's time limit is the app's (a request that is not answered within its time limit
//! gets 408: see [`crate::app`]), since the body is read by the handler.
//!
//! Together: at the cap, a legitimate client waits at most one `header_timeout` for a slot,
//! because every slow client is cut off by then.

use axum::Router;
use hyper::server::conn::http1;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;

/// The bounds on connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConnectionLimits {
    /// The most connections open at once.
    pub max_connections: usize,
    /// How long a client may take to send a request head (and to finish a TLS handshake), and
    /// how long a kept-alive connection may sit idle before its next request.
    pub header_timeout: Duration,
    /// The largest request head buffered, in bytes (hyper's minimum is 8 KiB).
    pub max_head: usize,
}

impl Default for ConnectionLimits {
    fn default() -> Self {
        Self { max_connections: 1024, header_timeout: Duration::from_secs(10), max_head: 16 * 1024 }
    }
}

/// Descriptors kept free of connections: the listener, the sweeper, logs, a TLS key file.
pub const SPARE_DESCRIPTORS: usize = 64;

/// The process's soft limit on open files, where the OS says (Linux: `/proc/self/limits`).
pub fn descriptor_limit() -> Option<usize> {
    parse_descriptor_limit(&std::fs::read_to_string("/proc/self/limits").ok()?)
}

fn parse_descriptor_limit(limits: &str) -> Option<usize> {
    let line = limits.lines().find(|line| line.starts_with("Max open files"))?;
    line.trim_start_matches("Max open files").split_whitespace().next()?.parse().ok()
}

/// `wanted` connections, lowered to fit under a descriptor `limit` (with
/// [`SPARE_DESCRIPTORS`] to spare): above it, `accept` would fail with EMFILE and clients
/// would be turned away instead of waiting in the backlog for a slot.
pub fn fit_to_descriptors(wanted: usize, limit: Option<usize>) -> usize {
    limit.map_or(wanted, |limit| wanted.min(limit.saturating_sub(SPARE_DESCRIPTORS).max(1)))
}

/// Serves `app` on `listener` forever, plain or (with `tls`) over TLS, within `limits`.
pub async fn serve(
    listener: TcpListener,
    app: Router,
    tls: Option<Arc<rustls::ServerConfig>>,
    limits: ConnectionLimits,
) {
    let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
    let tls = tls.map(TlsAcceptor::from);
    loop {
        // The slot is taken before `accept`: a connection over the cap is never accepted, so
        // it costs no descriptor or task here; it waits in the backlog until a slot frees.
        let Ok(slot) = Arc::clone(&slots).acquire_owned().await else { return };
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(error) => {
                // Out of descriptors (EMFILE) or a connection reset before we took it: back
                // off rather than spin, and go on.
                eprintln!("accept failed: {error}");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        // A keep-alive client waits for each answer before it sends the next request, so
        // Nagle's algorithm would add a delayed-ACK stall to each.
        let _ = stream.set_nodelay(true);
        let (app, tls) = (app.clone(), tls.clone());
        tokio::spawn(async move {
            let _slot = slot; // held until the connection ends
            match tls {
                None => serve_connection(stream, app, limits).await,
                Some(tls) => {
                    let handshake = tokio::time::timeout(limits.header_timeout, tls.accept(stream));
                    if let Ok(Ok(stream)) = handshake.await {
                        serve_connection(stream, app, limits).await;
                    }
                }
            }
        });
    }
}

async fn serve_connection<IO>(io: IO, app: Router, limits: ConnectionLimits)
where
    IO: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let connection = http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_timeout)
        .max_buf_size(limits.max_head.max(8192))
        .serve_connection(TokioIo::new(io), TowerToHyperService::new(app));
    // A connection that ends in an error (a reset, a timeout, a malformed request) has
    // nothing left to answer; hyper already sent what it could.
    let _ = connection.await;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_fits_under_the_descriptor_limit() {
        let limits = "Limit                     Soft Limit           Hard Limit           Units\n\
Max open files            128                  4096                 files\n";
        assert_eq!(parse_descriptor_limit(limits), Some(128));
        assert_eq!(parse_descriptor_limit("nothing here"), None);
        assert_eq!(fit_to_descriptors(1024, Some(128)), 64);
        assert_eq!(fit_to_descriptors(1024, Some(1 << 20)), 1024);
        assert_eq!(fit_to_descriptors(1024, None), 1024);
        assert_eq!(fit_to_descriptors(1024, Some(10)), 1);
    }
}
