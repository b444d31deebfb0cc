//! # Exercise 1: a `Mutex` store
//!
//! The simplest correct fix for the lesson's map: one `Mutex` around one `HashMap`, taken by
//! every operation, reads included. Each operation is then one atomic step, so the store is
//! linearizable by construction.
//!
//! The rules every store must follow (the rustdoc spec, `sessionlab::docs::semantics`): a session is *expired* at `now`
//! when `last_active + ttl <= now` (use `is_expired`); `insert` never overwrites, not even
//! an expired session; `touch` fails on an absent or expired session (never revives it) and
//! otherwise moves `last_active` to `max(last_active, now)`; `remove` returns the user once;
//! `sweep` removes exactly the sessions expired at `now` and returns how many.
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **Check-then-act across two lock acquisitions** (lock to look, unlock, lock to insert):
//!   loom's `insert_same` finds two logins of one id that both succeed (lesson 1's race).
//! - **Overwriting on insert**, **reviving an expired session**, **moving activity
//!   backwards**, **a sweep that counts wrong**: the conformance suite's sequential rules.
//! - **A remove that hides instead of deleting**: the memory check (100 000 sessions come and
//!   go; the live bytes must stay flat).
//!
//! Grading (`cargo run -- exercise check 1`): the conformance suite, random real-thread
//! histories through the linearizability checker, and every loom scenario.
//!
//! TODO: implement the five operations with the one lock.
//! Hint: `cargo run -- exercise hint 1`. Check: `cargo run -- exercise check 1`.

// I AM NOT DONE

use sessionlab::activity::is_expired;
use sessionlab::sync::{HashMap, Mutex, MutexGuard, hash_map_with_capacity};
use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use std::collections::hash_map::Entry;

/// A `Mutex<HashMap>` store.
pub struct MutexStore {
    ttl: u64,
    map: Mutex<HashMap<SessionId, (UserId, Tick)>>,
}

impl MutexStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: Mutex::new(hash_map_with_capacity(config.capacity)) }
    }

    /// Every change below is one `HashMap` call, which leaves the map consistent even if it
    /// unwinds, so a poisoned lock is taken back rather than failing every later request.
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, (UserId, Tick)>> {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MutexStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        todo!("insert under the lock; never overwrite")
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        todo!("touch under the lock")
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        todo!("remove under the lock")
    }

    fn sweep(&self, now: Tick) -> usize {
        todo!("sweep under the lock")
    }

    fn len(&self) -> usize {
        todo!("len under the lock")
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[ignore = "an unsolved stub: `cargo run -- exercise check 1` runs these"]
    fn a_session_lives_until_its_ttl() {
        let store = MutexStore::new(&Config::new(10));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        assert_eq!(store.touch(&SessionId::fixed(1), 9), Some(UserId(1)));
        assert_eq!(store.sweep(18), 0, "touched at 9: live until 19");
        assert_eq!(store.sweep(19), 1);
        assert!(store.is_empty());
    }

    #[test]
    #[ignore = "an unsolved stub: `cargo run -- exercise check 1` runs these"]
    fn insert_never_overwrites() {
        let store = MutexStore::new(&Config::new(10));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        assert_eq!(store.insert(SessionId::fixed(1), UserId(2), 1), Err(Occupied));
        assert_eq!(store.remove(&SessionId::fixed(1)), Some(UserId(1)));
        assert_eq!(store.remove(&SessionId::fixed(1)), None);
    }
}
