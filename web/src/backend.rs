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
//! not stall a runtime worker), and no background sweeper is started (a remote store expires
//! keys itself; the logout-triggered sweep still goes through `try_sweep`). Servers sharing a
//! remote store must share their user directory as well: see [`Backend::with_users`].

use crate::users::UserDirectory;
use sessionlab::sweeper::Sweeper;
use sessionlab::time::Clock;
use sessionlab::{Config, FallibleSessionStore, Occupied, SessionId, SessionStore, StoreKind};
use sessionlab::{Tick, UserId};
use std::error::Error;
use std::fmt;
use std::sync::Arc;
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

    fn try_insert(
        &self,
        id: SessionId,
        user: UserId,
        now: Tick,
    ) -> Result<Result<(), Occupied>, StoreError> {
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

/// The app's store: the erased store, where its calls run, and the background sweeper.
pub struct Backend {
    name: String,
    store: Arc<DynStore>,
    offload: bool,
    users: Option<Arc<dyn UserDirectory>>,
    // Held for its `Drop`, which stops and joins the sweeper thread with the server.
    _sweeper: Option<Sweeper>,
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
        let store: Arc<dyn SessionStore> = Arc::from(kind.build(config));
        let sweeper = Sweeper::spawn(Arc::clone(&store), clock, sweep_every);
        Self {
            name: kind.name().to_owned(),
            store: Arc::new(ErasedErrors(store)),
            offload: false,
            users: None,
            _sweeper: Some(sweeper),
        }
    }

    /// A store whose calls can fail and may block on I/O (the hook for a Redis store). Its
    /// calls run on the blocking pool; no background sweeper is started.
    pub fn remote<S: FallibleSessionStore + 'static>(name: &str, store: S) -> Self {
        Self {
            name: name.to_owned(),
            store: Arc::new(ErasedErrors(store)),
            offload: true,
            users: None,
            _sweeper: None,
        }
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
        tokio::task::spawn_blocking(move || {
            if let Err(error) = store.try_sweep(now) {
                eprintln!("sweep failed: {error}");
            }
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
        fn try_insert(
            &self,
            _: SessionId,
            _: UserId,
            _: Tick,
        ) -> Result<Result<(), Occupied>, Down> {
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
