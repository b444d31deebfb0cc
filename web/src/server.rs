//! Running the app: bind, serve on a tokio runtime of its own thread, shut down on drop.
//!
//! [`RunningServer::start`] binds before it returns, so the caller knows the address (port 0
//! picks a free one: the tests and the load command's child server use that) and a bind error
//! is reported at once rather than from inside the runtime.

use crate::app::{AppState, router};
use crate::backend::Backend;
use crate::connections::{self, ConnectionLimits};
use crate::users::{UserDirectory, UserRegistry};
use sessionlab::StoreKind;
use sessionlab::time::Clock;
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

/// The shortest sweep interval accepted: below it the sweeper would do little but spin.
pub const MIN_SWEEP_EVERY: Duration = Duration::from_millis(10);

/// How to serve.
#[derive(Clone)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// How long an idle session lives.
    pub ttl: Duration,
    /// How often a logout may trigger a sweep (the single-flight gate's interval), and how
    /// often the background sweeper runs. At least [`MIN_SWEEP_EVERY`].
    pub sweep_every: Duration,
    /// TLS, or plain HTTP.
    pub tls: Option<Arc<rustls::ServerConfig>>,
    /// Runtime worker threads.
    pub workers: usize,
    /// The most distinct user names the server registers at once (in its own registry; a
    /// backend with a shared directory brings its own limits). Names with no live session
    /// are freed, so this bounds the users active within a ttl, not the users ever seen.
    pub max_users: usize,
    /// The most sessions the store may hold; a login beyond it gets 503 with `Retry-After`.
    /// For a store shared by several servers (Redis) it counts every server's sessions, so
    /// give every server the same value.
    pub max_sessions: usize,
    /// The most sessions one user may hold; a login beyond it ends that user's oldest. Kept
    /// by the server's own user registry: a shared user directory
    /// ([`SharedUsers`](crate::remote::SharedUsers)) keeps no session lists, so it does not
    /// apply to `--store redis`.
    pub max_sessions_per_user: usize,
    /// How long a request may take from its head to its answer, body included (408 after).
    pub request_timeout: Duration,
    /// Open connections, head timeout, head size.
    pub connections: ConnectionLimits,
    /// Log every login and logout (ids redacted, names escaped).
    pub verbose: bool,
}

impl ServeConfig {
    /// Plain HTTP on `addr`, with `ttl`, a sweep at most every tenth of it, one worker per
    /// core, and the default limits.
    pub fn new(addr: SocketAddr, ttl: Duration) -> Self {
        Self {
            addr,
            ttl,
            sweep_every: default_sweep_every(ttl),
            tls: None,
            workers: std::thread::available_parallelism().map_or(2, |n| n.get()),
            max_users: 100_000,
            max_sessions: 100_000,
            max_sessions_per_user: 10,
            request_timeout: Duration::from_secs(10),
            connections: ConnectionLimits::default(),
            verbose: false,
        }
    }

    /// Checks what no server can run with.
    pub fn check(&self) -> Result<(), ConfigError> {
        if self.sweep_every < MIN_SWEEP_EVERY {
            return Err(ConfigError::SweepTooOften(self.sweep_every));
        }
        let limits = [
            ("--max-sessions", self.max_sessions),
            ("--max-sessions-per-user", self.max_sessions_per_user),
            ("--max-connections", self.connections.max_connections),
            ("--max-users", self.max_users),
        ];
        if let Some((name, _)) = limits.iter().find(|(_, value)| *value == 0) {
            return Err(ConfigError::ZeroLimit(name));
        }
        Ok(())
    }
}

/// A configuration no server may run with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigError {
    /// The racy store on an address other machines can reach.
    RacyNotLoopback(SocketAddr),
    /// A sweep interval below [`MIN_SWEEP_EVERY`].
    SweepTooOften(Duration),
    /// A limit of zero (nothing could ever be served).
    ZeroLimit(&'static str),
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RacyNotLoopback(addr) => write!(
                f,
                "refusing to serve the racy store on {addr}: it is unsound on purpose (concurrent requests are undefined behaviour, up to heap corruption), so it only listens on loopback (127.0.0.1 or ::1)"
            ),
            Self::SweepTooOften(every) => write!(
                f,
                "--sweep-every {every:?} is too short: the sweeper would spin; use at least {MIN_SWEEP_EVERY:?}"
            ),
            Self::ZeroLimit(name) => write!(f, "{name} must be at least 1"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// A tenth of the ttl, between 10 ms and 30 s (the lesson's interval).
pub fn default_sweep_every(ttl: Duration) -> Duration {
    (ttl / 10).clamp(MIN_SWEEP_EVERY, Duration::from_secs(30))
}

fn ticks(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

/// The capacity hint a store gets for `max_sessions`. The `HashMap` stores are sized once for
/// the most sessions the server allows, so that a growing table never rehashes under the lock
/// while requests wait. The lock-free store gets none: it doubles its bucket directory as
/// sessions arrive, without blocking anyone (`examples/request_cpu.rs` measures a request at
/// 10k and 1M sessions). Copy-on-write gets none either: it copies its whole table on every
/// write, so a table sized for the cap would make every login copy the cap's worth of buckets.
pub fn capacity_hint(kind: StoreKind, max_sessions: usize) -> usize {
    match kind {
        StoreKind::Cow | StoreKind::LockFree => 0,
        _ => max_sessions,
    }
}

/// The in-memory backend for `kind`, with its sweeper on `clock`, for `config`. Refuses the
/// racy store on any address that is not loopback.
pub fn in_memory_backend(
    kind: StoreKind,
    config: &ServeConfig,
    clock: Clock,
) -> Result<Backend, ConfigError> {
    if !kind.is_correct() && !config.addr.ip().is_loopback() {
        return Err(ConfigError::RacyNotLoopback(config.addr));
    }
    config.check()?;
    let store_config = sessionlab::Config::new(ticks(config.ttl))
        .with_capacity(capacity_hint(kind, config.max_sessions));
    Ok(Backend::in_memory(kind, &store_config, clock, config.sweep_every))
}

/// A server running on its own thread. Dropping it shuts the server down and joins the
/// thread (and with it the background sweeper).
pub struct RunningServer {
    addr: SocketAddr,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<io::Result<()>>>,
}

impl RunningServer {
    /// Binds `config.addr` and serves the app over `backend`, whose sweeper (if any) runs on
    /// `clock`. A configuration that fails [`ServeConfig::check`] is an
    /// [`io::ErrorKind::InvalidInput`] error whose source is the [`ConfigError`].
    pub fn start(config: &ServeConfig, backend: Backend, clock: Clock) -> io::Result<Self> {
        config.check().map_err(|error| io::Error::new(io::ErrorKind::InvalidInput, error))?;
        let listener = TcpListener::bind(config.addr)?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let users: Arc<dyn UserDirectory> = match backend.users() {
            Some(shared) => shared,
            None => Arc::new(UserRegistry::new(config.max_users).with_session_limits(
                config.max_sessions_per_user,
                ticks(config.ttl),
                clock,
            )),
        };
        // A remote store's sweeper starts here (an in-memory store's started with it).
        let backend = backend.with_background_sweeper(clock, config.sweep_every);
        let state = Arc::new(AppState::new(backend, users, clock, config));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.workers.max(1))
            .thread_name("http")
            .enable_io()
            .enable_time()
            .build()?;
        let app = router(state);
        let (tls, limits) = (config.tls.clone(), config.connections);
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let thread = std::thread::Builder::new().name("server".into()).spawn(move || {
            let served = runtime.block_on(async move {
                let listener = tokio::net::TcpListener::from_std(listener)?;
                tokio::spawn(connections::serve(listener, app, tls, limits));
                // Until the owner stops (or drops) the server.
                let _ = stopped.await;
                Ok(())
            });
            // Open connections are cut; a sweep in progress on the blocking pool is let finish.
            runtime.shutdown_timeout(Duration::from_secs(5));
            served
        })?;
        Ok(Self { addr, stop: Some(stop), thread: Some(thread) })
    }

    /// The address it listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serves until the server fails (it does not stop by itself).
    pub fn wait(mut self) -> io::Result<()> {
        // Keep the stop handle alive: dropping it would stop the server.
        let _stop = self.stop.take();
        match self.thread.take().map(JoinHandle::join) {
            Some(Ok(result)) => result,
            Some(Err(_)) => Err(io::Error::other("the server thread panicked")),
            None => Ok(()),
        }
    }
}

impl Drop for RunningServer {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_racy_store_stays_on_loopback() {
        let clock = Clock::start();
        for addr in ["0.0.0.0:0", "192.0.2.7:8080", "[::]:0"] {
            let config = ServeConfig::new(addr.parse().unwrap(), Duration::from_secs(60));
            let error = in_memory_backend(StoreKind::Racy, &config, clock).err().unwrap();
            assert_eq!(error, ConfigError::RacyNotLoopback(config.addr));
            assert!(error.to_string().contains("loopback"), "{error}");
            assert!(in_memory_backend(StoreKind::Mutex, &config, clock).is_ok());
        }
        for addr in ["127.0.0.1:0", "[::1]:0"] {
            let config = ServeConfig::new(addr.parse().unwrap(), Duration::from_secs(60));
            assert!(in_memory_backend(StoreKind::Racy, &config, clock).is_ok(), "{addr}");
        }
    }

    #[test]
    fn a_sweep_interval_below_the_floor_is_refused() {
        let mut config = ServeConfig::new("127.0.0.1:0".parse().unwrap(), Duration::from_secs(1));
        assert_eq!(config.sweep_every, Duration::from_millis(100));
        config.sweep_every = Duration::from_millis(9);
        assert_eq!(config.check(), Err(ConfigError::SweepTooOften(Duration::from_millis(9))));
        config.sweep_every = Duration::ZERO;
        assert!(config.check().unwrap_err().to_string().contains("at least 10ms"));
        config.sweep_every = MIN_SWEEP_EVERY;
        assert_eq!(config.check(), Ok(()));
        config.max_sessions = 0;
        assert_eq!(config.check(), Err(ConfigError::ZeroLimit("--max-sessions")));
    }

    #[test]
    fn the_hash_map_stores_are_sized_for_the_cap() {
        assert_eq!(capacity_hint(StoreKind::LockFree, 5000), 0);
        assert_eq!(capacity_hint(StoreKind::Sharded, 5000), 5000);
        assert_eq!(capacity_hint(StoreKind::Cow, 5000), 0);
    }
}
