//! The [`SessionStore`] trait every variant implements, and its [`Config`].

use crate::id::SessionId;
use crate::session::UserId;
use crate::time::Tick;
use std::fmt;

/// Returned by [`SessionStore::insert`] when the id is already stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Occupied;

impl fmt::Display for Occupied {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a session with this id already exists")
    }
}

impl std::error::Error for Occupied {}

/// A concurrent map `session id -> (user, last activity)`.
///
/// The specification ([`docs::semantics`](crate::docs::semantics), where the whole contract
/// is argued): a session is *expired* at `now` when `last_active + ttl <= now` (see
/// [`is_expired`](crate::activity::is_expired)). Every operation on one id
/// is linearizable; a history is checked key by key, with [`sweep`](Self::sweep) counting as
/// one removal per key it removed.
///
/// Time is always passed in: a store never reads a clock.
pub trait SessionStore: Send + Sync {
    /// Stores `(user, now)` under `id` if `id` is absent. If `id` is present, expired or not,
    /// returns `Err(Occupied)` and changes nothing: insert never overwrites.
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied>;

    /// Records activity on `id` at `now` and returns its user. If `id` is absent, or expired
    /// at `now`, returns `None` and changes nothing: an expired session is never revived.
    /// Activity never moves backwards: `last_active` becomes `max(last_active, now)`.
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId>;

    /// Removes `id` (a logout) and returns its user, or `None` if it was absent. Of two
    /// concurrent removes of one id, exactly one gets `Some`.
    fn remove(&self, id: &SessionId) -> Option<UserId>;

    /// Removes every session expired at `now` and returns how many *this call* removed.
    ///
    /// Not one atomic step over the whole map (like `retain` in dashmap): each session is
    /// removed at its own instant during the call. A session live at that instant is never
    /// removed, and a session expired throughout the call is gone when it returns.
    fn sweep(&self, now: Tick) -> usize;

    /// The number of sessions stored, expired-but-unswept included. Exact when no other call
    /// is in flight.
    fn len(&self) -> usize;

    /// Whether [`len`](Self::len) is zero.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Creates a session for `user` under a fresh random id (a login) and returns the id.
    /// Retries on the astronomically unlikely collision.
    fn create(&self, user: UserId, now: Tick) -> SessionId {
        loop {
            let id = SessionId::generate();
            if self.insert(id, user, now).is_ok() {
                return id;
            }
        }
    }
}

/// Forwards the named `SessionStore` methods to the wrapped store in `self.store`, so that a
/// wrapper's `impl` shows only the methods it changes (the mutants, which each break one, and
/// the checked workload's sweep counter). The caller imports `SessionId`, `UserId`, `Tick`
/// and `Occupied`.
macro_rules! forward_to_store {
    ($($method:ident),+) => { $($crate::store::forward_to_store!(@ $method);)+ };
    (@insert) => {
        fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
            self.store.insert(id, user, now)
        }
    };
    (@touch) => {
        fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
            self.store.touch(id, now)
        }
    };
    (@remove) => {
        fn remove(&self, id: &SessionId) -> Option<UserId> {
            self.store.remove(id)
        }
    };
    (@sweep) => {
        fn sweep(&self, now: Tick) -> usize {
            self.store.sweep(now)
        }
    };
    (@len) => {
        fn len(&self) -> usize {
            self.store.len()
        }
    };
}
pub(crate) use forward_to_store;

macro_rules! forward_session_store {
    ($($pointer:ty),*) => {$(
        impl<S: SessionStore + ?Sized> SessionStore for $pointer {
            fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
                (**self).insert(id, user, now)
            }
            fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
                (**self).touch(id, now)
            }
            fn remove(&self, id: &SessionId) -> Option<UserId> {
                (**self).remove(id)
            }
            fn sweep(&self, now: Tick) -> usize {
                (**self).sweep(now)
            }
            fn len(&self) -> usize {
                (**self).len()
            }
        }
    )*};
}

forward_session_store!(Box<S>, crate::sync::Arc<S>, &S);

/// How a store is built.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Time-to-live in ticks (ms): a session idle this long is expired.
    pub ttl: u64,
    /// Shards for the sharded store; rounded up to a power of two. `None` picks the default,
    /// the next power of two of 4 x available parallelism.
    pub shards: Option<usize>,
    /// How many sessions to expect, so maps and bucket arrays can be sized once.
    pub capacity: usize,
}

impl Config {
    /// A config with time-to-live `ttl` ms and the defaults for everything else.
    pub fn new(ttl: u64) -> Self {
        Self { ttl, ..Self::default() }
    }

    /// Sets the shard count.
    pub fn with_shards(mut self, shards: usize) -> Self {
        self.shards = Some(shards);
        self
    }

    /// Sets the capacity hint.
    pub fn with_capacity(mut self, capacity: usize) -> Self {
        self.capacity = capacity;
        self
    }

    /// The shard count to use: a power of two, at least 1.
    pub fn shard_count(&self) -> usize {
        let wanted = self
            .shards
            .unwrap_or_else(|| 4 * std::thread::available_parallelism().map_or(1, |n| n.get()));
        wanted.clamp(1, 1 << 16).next_power_of_two()
    }
}

impl Default for Config {
    /// Thirty minutes of ttl, default shards, no capacity hint.
    fn default() -> Self {
        Self { ttl: 30 * 60 * 1000, shards: None, capacity: 0 }
    }
}

/// What [`FallibleSessionStore::try_insert`] answers: the store's error, or else what
/// [`SessionStore::insert`] answers (`Ok(())`, or [`Occupied`] when the id is taken).
pub type TryInsert<E> = Result<Result<(), Occupied>, E>;

/// A store whose operations can fail: a remote store (Redis) can lose its connection, an
/// in-memory store cannot.
///
/// Every [`SessionStore`] is one, with [`Infallible`](std::convert::Infallible) as its error,
/// through a blanket impl that only forwards: in-memory stores pay nothing. Front ends that
/// must serve remote stores too (the web app) are written against this trait.
pub trait FallibleSessionStore: Send + Sync {
    /// Why an operation failed (for a remote store: the connection or the server).
    type Error: std::error::Error + Send + Sync + 'static;

    /// [`SessionStore::insert`], or an error.
    fn try_insert(&self, id: SessionId, user: UserId, now: Tick) -> TryInsert<Self::Error>;
    /// [`SessionStore::touch`], or an error.
    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, Self::Error>;
    /// [`SessionStore::remove`], or an error.
    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, Self::Error>;
    /// [`SessionStore::sweep`], or an error.
    fn try_sweep(&self, now: Tick) -> Result<usize, Self::Error>;
    /// [`SessionStore::len`], or an error.
    fn try_len(&self) -> Result<usize, Self::Error>;

    /// [`SessionStore::create`], or an error.
    fn try_create(&self, user: UserId, now: Tick) -> Result<SessionId, Self::Error> {
        loop {
            let id = SessionId::generate();
            if self.try_insert(id, user, now)?.is_ok() {
                return Ok(id);
            }
        }
    }
}

impl<S: SessionStore + ?Sized> FallibleSessionStore for S {
    type Error = std::convert::Infallible;

    fn try_insert(&self, id: SessionId, user: UserId, now: Tick) -> TryInsert<Self::Error> {
        Ok(self.insert(id, user, now))
    }
    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, Self::Error> {
        Ok(self.touch(id, now))
    }
    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, Self::Error> {
        Ok(self.remove(id))
    }
    fn try_sweep(&self, now: Tick) -> Result<usize, Self::Error> {
        Ok(self.sweep(now))
    }
    fn try_len(&self) -> Result<usize, Self::Error> {
        Ok(self.len())
    }
}
