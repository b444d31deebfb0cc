//! [`Unwrapped`]: a fallible store seen as an infallible one, **for test harnesses only**.

use sessionlab::{FallibleSessionStore, Occupied, SessionId, SessionStore, Tick, UserId};

/// Adapts a [`FallibleSessionStore`] (such as [`RedisStore`](crate::RedisStore)) to
/// [`SessionStore`] by panicking on every error, so that the generic checkers written for
/// in-memory stores (the conformance suite, the linearizability check, the workload) run
/// against it unchanged.
///
/// **For test harnesses only**: in a test, a connection failure *should* fail the test, and a
/// panic does that with the typed error in the message. Never use it to serve requests; a
/// front end handles the error instead (the web app answers 503).
#[derive(Debug)]
pub struct Unwrapped<S>(pub S);

impl<S: FallibleSessionStore> Unwrapped<S> {
    #[track_caller]
    fn unwrap<T>(result: Result<T, S::Error>) -> T {
        result.unwrap_or_else(|error| {
            panic!("Unwrapped (test harness adapter): a store operation failed: {error}")
        })
    }
}

impl<S: FallibleSessionStore> SessionStore for Unwrapped<S> {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        Self::unwrap(self.0.try_insert(id, user, now))
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        Self::unwrap(self.0.try_touch(id, now))
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        Self::unwrap(self.0.try_remove(id))
    }
    fn sweep(&self, now: Tick) -> usize {
        Self::unwrap(self.0.try_sweep(now))
    }
    fn len(&self) -> usize {
        Self::unwrap(self.0.try_len())
    }
}
