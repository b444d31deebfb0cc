//! Running the app: bind, serve on a tokio runtime of its own thread, shut down on drop.
//!
//! [`RunningServer::start`] binds before it returns, so the caller knows the address (port 0
//! picks a free one: the tests and the load command's child server use that) and a bind error
//! is reported at once rather than from inside the runtime.

use crate::app::{AppState, router};
use crate::backend::Backend;
use crate::users::{UserDirectory, UserRegistry};
use axum_server::Handle;
use axum_server::accept::NoDelayAcceptor;
use axum_server::tls_rustls::{RustlsAcceptor, RustlsConfig};
use sessionlab::SweepGate;
use sessionlab::time::Clock;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// How to serve.
#[derive(Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// How long an idle session lives.
    pub ttl: Duration,
    /// How often a logout may trigger a sweep (the single-flight gate's interval).
    pub sweep_every: Duration,
    /// TLS, or plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Runtime worker threads.
    pub workers: usize,
    /// The most distinct user names the server registers (in its own registry; a backend
    /// with a shared directory brings its own limits).
    pub max_users: usize,
    /// Log every login and logout (ids redacted).
    pub verbose: bool,
}

impl ServeConfig {
    /// Plain HTTP on `addr`, with `ttl`, a sweep at most every tenth of it, one worker per
    /// core.
    pub fn new(addr: SocketAddr, ttl: Duration) -> Self {
        Self {
            addr,
            ttl,
            sweep_every: default_sweep_every(ttl),
            tls: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_users: 1_000_000,
            verbose: false,
        }
    }
}

/// A tenth of the ttl, between 10 ms and 30 s (the lesson's interval).
pub fn default_sweep_every(ttl: Duration) -> Duration {
    (ttl / 10).clamp(Duration::from_millis(10), Duration::from_secs(30))
}

fn ticks(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The in-memory backend for `kind`, with its sweeper on `clock`, for `config`.
pub fn in_memory_backend(
    kind: sessionlab::StoreKind,
    config: &ServeConfig,
    clock: Clock,
) -> Backend {
    let store_config = sessionlab::Config::new(ticks(config.ttl));
    Backend::in_memory(kind, &store_config, clock, config.sweep_every)
}

/// A server running on its own thread. Dropping it shuts the server down and joins the
/// thread (and with it the background sweeper).
pub struct RunningServer {
    addr: SocketAddr,
    handle: Handle,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// Binds `config.addr` and serves the app over `backend`, whose sweeper (if any) runs on
    /// `clock`.
    pub fn start(config: &ServeConfig, backend: Backend, clock: Clock) -> io::Result<Self> {
        let listener = TcpListener::bind(config.addr)?;
        let addr = listener.local_addr()?;
        let users: Arc<dyn UserDirectory> = match backend.users() {
            Some(shared) => shared,
            None => Arc::new(UserRegistry::new(config.max_users)),
        };
        let state = Arc::new(AppState {
            backend,
            users,
            clock,
            gate: SweepGate::new(ticks(config.sweep_every), clock.now()),
            ttl: config.ttl,
            secure: config.tls.is_some(),
            verbose: config.verbose,
        });
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("http")
            .enable_io()
            .enable_time()
            .build()?;
        let handle = Handle::new();
        let server = axum_server::from_tcp(listener).handle(handle.clone());
        let app = router(state).into_make_service();
        let tls = config.tls.clone();
        let thread = std::thread::Builder::new().name("server".into()).spawn(move || {
            runtime.block_on(async move {
                // NoDelay: a keep-alive client waits for each answer before it sends the
                // next request, so Nagle's algorithm would add a delayed-ACK stall to each.
                match tls {
                    Some(tls) => {
                        let acceptor = RustlsAcceptor::new(RustlsConfig::from_config(tls))
                            .acceptor(NoDelayAcceptor::new());
                        server.acceptor(acceptor).serve(app).await
                    }
                    None => server.acceptor(NoDelayAcceptor::new()).serve(app).await,
                }
            })
        })?;
        Ok(Self { addr, handle, thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the server fails (it does not stop by itself).
    pub fn wait(mut self) -> io::Result<()> {
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        self.handle.shutdown();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
