//! The store behind the app, with its errors erased so that any store fits one type.
//!
//! The app is written against [`FallibleSessionStore`], not [`SessionStore`]: an in-memory
//! store cannot fail (its error type is `Infallible`), a remote one (Redis) can, and the app
//! answers such a failure with 503. [`Backend`] holds the store as
//! `Arc<dyn FallibleSessionStore<Error = StoreError>>`, so every store, whatever its error
//! type, is the same type to the handlers.
//!
//! Adding a remote store is one constructor call: `Backend::remote("redis", store)` with any
//! `S: FallibleSessionStore`. Its calls run on tokio's blocking pool (a network round trip must
//! not stall a runtime worker), and the server starts its background sweeper with
//! [`Backend::with_background_sweeper`] (every server sweeps the shared store: a sweep is
//! linearizable and cheap, so several at once cost only their round trips). Servers sharing a
//! remote store must share their user directory as well: see [`Backend::with_users`].

use crate::users::UserDirectory;
use sessionlab::sweeper::Sweeper;
use sessionlab::time::Clock;
use sessionlab::{
    Config, FallibleSessionStore, Occupied, SessionId, SessionStore, StoreKind, TryInsert,
};
use sessionlab::{Tick, UserId};
use std::error::Error;
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

/// Any store's error, boxed.
#[derive(Debug)]
pub struct StoreError(Box<dyn Error + Send + Sync + 'static>);

impl StoreError {
    /// Wraps a store's own error.
    pub fn new(error: impl Error + Send + Sync + 'static) -> Self {
        Self(Box::new(error))
    }

    /// An error from a message (for failures around the store, e.g. a panicked call).
    pub fn msg(message: &str) -> Self {
        Self(message.into())
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl Error for StoreError {
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        self.0.source()
    }
}

/// The one store type the handlers see.
pub type DynStore = dyn FallibleSessionStore<Error = StoreError>;

/// Adapts any [`FallibleSessionStore`] to [`DynStore`] by boxing its errors.
struct ErasedErrors<S>(S);

impl<S: FallibleSessionStore> FallibleSessionStore for ErasedErrors<S> {
    type Error = StoreError;

    fn try_insert(&self, id: SessionId, user: UserId, now: Tick) -> TryInsert<StoreError> {
        self.0.try_insert(id, user, now).map_err(StoreError::new)
    }
    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, StoreError> {
        self.0.try_touch(id, now).map_err(StoreError::new)
    }
    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, StoreError> {
        self.0.try_remove(id).map_err(StoreError::new)
    }
    fn try_sweep(&self, now: Tick) -> Result<usize, StoreError> {
        self.0.try_sweep(now).map_err(StoreError::new)
    }
    fn try_len(&self) -> Result<usize, StoreError> {
        self.0.try_len().map_err(StoreError::new)
    }
}

/// How many sweeps ran and how many sessions they removed, for the page's live counts; and,
/// for an in-memory store, how many sessions it holds.
///
/// The session count is kept here, by the wrapper every call goes through, because a store's
/// own `len` may walk the whole table (the lock-free store's visits every bucket): asked on
/// every login, for the session cap, it would cost more than the login itself.
#[derive(Debug, Default)]
pub struct StoreCounts {
    sweeps: AtomicU64,
    removed: AtomicU64,
    // Signed: a sweep may take a session out a moment before its insert is counted.
    sessions: AtomicI64,
}

impl StoreCounts {
    fn record(&self, removed: usize) {
        self.sweeps.fetch_add(1, Ordering::Relaxed);
        self.removed.fetch_add(removed as u64, Ordering::Relaxed);
        self.sessions.fetch_sub(i64::try_from(removed).unwrap_or(i64::MAX), Ordering::Relaxed);
    }

    fn sessions(&self) -> usize {
        usize::try_from(self.sessions.load(Ordering::Relaxed)).unwrap_or(0)
    }

    /// Sweeps so far (background and logout-triggered).
    pub fn sweeps(&self) -> u64 {
        self.sweeps.load(Ordering::Relaxed)
    }

    /// Sessions those sweeps removed.
    pub fn removed(&self) -> u64 {
        self.removed.load(Ordering::Relaxed)
    }
}

/// An in-memory store that counts its sessions and sweeps (the background sweeper's
/// included: it is handed this wrapper).
struct Counted {
    store: Arc<dyn SessionStore>,
    counts: Arc<StoreCounts>,
}

impl SessionStore for Counted {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let inserted = self.store.insert(id, user, now);
        if inserted.is_ok() {
            self.counts.sessions.fetch_add(1, Ordering::Relaxed);
        }
        inserted
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        self.store.touch(id, now)
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let removed = self.store.remove(id);
        if removed.is_some() {
            self.counts.sessions.fetch_sub(1, Ordering::Relaxed);
        }
        removed
    }
    fn sweep(&self, now: Tick) -> usize {
        let removed = self.store.sweep(now);
        self.counts.record(removed);
        removed
    }
    fn len(&self) -> usize {
        self.store.len()
    }
}

/// The app's store: the erased store, where its calls run, and the background sweeper.
pub struct Backend {
    name: String,
    store: Arc<DynStore>,
    counts: Arc<StoreCounts>,
    offload: bool,
    users: Option<Arc<dyn UserDirectory>>,
    // Held for its `Drop`, which stops and joins the sweeper thread with the server.
    sweeper: Option<Sweeper>,
}

impl Backend {
    /// An in-memory store from the registry, swept every `sweep_every` by a background
    /// [`Sweeper`] on `clock` (the clock the handlers use too).
    pub fn in_memory(
        kind: StoreKind,
        config: &Config,
        clock: Clock,
        sweep_every: Duration,
    ) -> Self {
        let counts = Arc::new(StoreCounts::default());
        let store: Arc<dyn SessionStore> =
            Arc::new(Counted { store: Arc::from(kind.build(config)), counts: Arc::clone(&counts) });
        let sweeper = Sweeper::spawn(Arc::clone(&store), clock, sweep_every);
        Self {
            name: kind.name().to_owned(),
            store: Arc::new(ErasedErrors(store)),
            counts,
            offload: false,
            users: None,
            sweeper: Some(sweeper),
        }
    }

    /// A store whose calls can fail and may block on I/O (the hook for a Redis store). Its
    /// calls run on the blocking pool; its background sweeper starts with
    /// [`with_background_sweeper`](Self::with_background_sweeper) (the server calls it).
    pub fn remote<S: FallibleSessionStore + 'static>(name: &str, store: S) -> Self {
        Self {
            name: name.to_owned(),
            store: Arc::new(ErasedErrors(store)),
            counts: Arc::default(),
            offload: true,
            users: None,
            sweeper: None,
        }
    }

    /// Starts the background sweeper of a remote store (an in-memory one has its own since
    /// [`in_memory`](Self::in_memory)): every `every`, a sweep at the time `clock` gives, on
    /// a thread of its own (a sweep is blocking I/O). A failed sweep is logged once, when
    /// the store starts failing, and once more when a sweep succeeds again, so an outage
    /// does not fill the log; the next interval simply tries again.
    pub fn with_background_sweeper(mut self, clock: Clock, every: Duration) -> Self {
        if self.sweeper.is_some() {
            return self;
        }
        let (store, counts) = (Arc::clone(&self.store), Arc::clone(&self.counts));
        let name = self.name.clone();
        let mut failing = false;
        self.sweeper =
            Some(Sweeper::spawn_with(clock, every, move |now| match store.try_sweep(now) {
                Ok(removed) => {
                    if std::mem::take(&mut failing) {
                        eprintln!("background sweep of the {name} store works again");
                    }
                    counts.record(removed);
                    removed
                }
                Err(error) => {
                    if !std::mem::replace(&mut failing, true) {
                        eprintln!(
                            "background sweep of the {name} store failed: {error} (retried \
                             every {every:?}; logged again when it works)"
                        );
                    }
                    0
                }
            }));
        self
    }

    /// Uses `users` as the user directory instead of a registry of the server's own (for
    /// several servers over one remote store: they must agree on who `UserId(n)` is).
    pub fn with_users(mut self, users: Arc<dyn UserDirectory>) -> Self {
        self.users = Some(users);
        self
    }

    /// The user directory set by [`with_users`](Self::with_users), if any.
    pub fn users(&self) -> Option<Arc<dyn UserDirectory>> {
        self.users.clone()
    }

    /// How many sweeps ran so far.
    pub fn sweep_counts(&self) -> &StoreCounts {
        &self.counts
    }

    /// How many sessions the store holds: counted as they come and go for an in-memory
    /// store (O(1)), asked of a remote one (Redis: a ZCARD per partition, pipelined into one
    /// round trip on a single server; one call per partition on a cluster).
    pub async fn session_count(&self) -> Result<usize, StoreError> {
        match self.local_session_count() {
            Some(count) => Ok(count),
            None => self.call(|store| store.try_len()).await,
        }
    }

    /// The session count of an in-memory store, kept as sessions come and go; `None` for a
    /// remote store, whose sessions other servers also create (ask it with
    /// [`session_count`](Self::session_count)).
    pub fn local_session_count(&self) -> Option<usize> {
        (!self.offload).then(|| self.counts.sessions())
    }

    /// The store's name, for logs and the start-up line.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Runs `op` on the store: inline for an in-memory store (a map operation is far
    /// cheaper than a hop to another thread), on the blocking pool for a remote one.
    pub async fn call<T, F>(&self, op: F) -> Result<T, StoreError>
    where
        T: Send + 'static,
        F: FnOnce(&DynStore) -> Result<T, StoreError> + Send + 'static,
    {
        let store = Arc::clone(&self.store);
        self.run(move || op(&*store))
            .await
            .unwrap_or_else(|| Err(StoreError::msg("the store call panicked")))
    }

    /// Runs `f` where this backend's calls run (inline, or on the blocking pool for a remote
    /// store, whose user directory is likely remote too). `None` if `f` panicked there.
    pub async fn run<T, F>(&self, f: F) -> Option<T>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        if !self.offload {
            return Some(f());
        }
        tokio::task::spawn_blocking(f).await.ok()
    }

    /// Starts a sweep in the background (the lesson's `go cleanSessions()`): a sweep over a
    /// big map must not hold up the logout that triggered it.
    pub fn sweep_in_background(&self, now: Tick) {
        let store = Arc::clone(&self.store);
        // An in-memory store counts its own sweeps (its wrapper sees the sweeper's too); a
        // remote one is counted here.
        let counts = self.offload.then(|| Arc::clone(&self.counts));
        tokio::task::spawn_blocking(move || match store.try_sweep(now) {
            Ok(removed) => {
                if let Some(counts) = counts {
                    counts.record(removed);
                }
            }
            Err(error) => eprintln!("sweep failed: {error}"),
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug)]
    struct Down;
    impl fmt::Display for Down {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("connection refused")
        }
    }
    impl Error for Down {}

    /// A remote store that is always down.
    struct Unreachable;
    impl FallibleSessionStore for Unreachable {
        type Error = Down;
        fn try_insert(&self, _: SessionId, _: UserId, _: Tick) -> TryInsert<Down> {
            Err(Down)
        }
        fn try_touch(&self, _: &SessionId, _: Tick) -> Result<Option<UserId>, Down> {
            Err(Down)
        }
        fn try_remove(&self, _: &SessionId) -> Result<Option<UserId>, Down> {
            Err(Down)
        }
        fn try_sweep(&self, _: Tick) -> Result<usize, Down> {
            Err(Down)
        }
        fn try_len(&self) -> Result<usize, Down> {
            Err(Down)
        }
    }

    #[test]
    fn an_in_memory_store_counts_its_sessions_without_asking_it() {
        let backend = Backend::in_memory(
            StoreKind::LockFree,
            &Config::new(50),
            Clock::start(),
            Duration::from_secs(60),
        );
        let store = Arc::clone(&backend.store);
        let ids: Vec<SessionId> = (0..3).map(|n| store.try_create(UserId(n), 0).unwrap()).collect();
        assert_eq!(backend.counts.sessions(), 3);
        assert_eq!(store.try_remove(&ids[0]).unwrap(), Some(UserId(0)));
        assert_eq!(store.try_remove(&ids[0]).unwrap(), None, "a second remove counts nothing");
        assert_eq!(backend.counts.sessions(), 2);
        assert_eq!(store.try_sweep(1_000).unwrap(), 2);
        assert_eq!((backend.counts.sessions(), backend.counts.sweeps()), (0, 1));
        assert_eq!(store.try_len().unwrap(), 0);
    }

    #[test]
    fn errors_of_any_store_come_through_erased() {
        let erased: Box<DynStore> = Box::new(ErasedErrors(Unreachable));
        let error = erased.try_len().unwrap_err();
        assert_eq!(error.to_string(), "connection refused");
        let memory: Box<DynStore> =
            Box::new(ErasedErrors(StoreKind::Mutex.build(&Config::new(10))));
        let id = memory.try_create(UserId(3), 0).unwrap();
        assert_eq!(memory.try_touch(&id, 5).unwrap(), Some(UserId(3)));
    }
}
