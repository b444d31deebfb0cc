// WRONG: touch_word loads, compares and stores: two touches can move activity backwards.
// expect: loom::touch_word_race
//! # Exercise 4: `RwLock`, with a compare-and-swap `touch`
//!
//! The Go lesson makes every request a map write (`dbSessions[id] = s`), so with a read-write
//! lock every request would still take the *write* lock, and requests would run one at a
//! time. The fix: keep `last_active` in an `AtomicU64` inside the stored value. Then a touch
//! needs only the *read* lock (the map's shape does not change) plus a compare-and-swap on
//! that one word, and requests run in parallel. Logins, logouts and sweeps take the write lock.
//!
//! Your part is `touch_word`, the CAS loop, and `RwLockStore::touch`, which must use the
//! read lock. Why a CAS loop and not `load` then `store`? Two touches at 5 and 7 can both load
//! 0; if the one at 5 stores last, activity moves backwards to 5 and the session expires early.
//! Lesson 3 (`sessionlab::docs::atomics`, notebooks/03-atomics-and-memory-ordering) teaches
//! the loop: compare-and-swap, why `compare_exchange_weak` is the one to use in a loop, and
//! why a failed CAS hands you the value to retry with.
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **`touch` under the write lock** (even with a correct CAS): the grader holds a read
//!   guard on another thread and your `touch` must still finish (deterministic).
//! - **Load-then-store in `touch_word`** (with or without a write lock around it): loom runs
//!   two touches at 5 and 7 on one word and finds the one where 5 is written last.
//! - **A CAS loop that never reloads its expected value**: it spins forever; loom gives up on
//!   it, and on real threads the check is stopped at its time limit and named.
//! - **Reviving an expired session**: the conformance suite.
//!
//! Grading (`cargo run -- exercise check 4`): conformance, linearizability, loom scenarios.

use sessionlab::activity::is_expired;
use sessionlab::sync::{
    AtomicU64, HashMap, Ordering, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity,
};
use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use std::collections::hash_map::Entry;

/// A stored session: the user, and the last activity in an atomic word.
pub struct Stored {
    user: UserId,
    last_active: AtomicU64,
}

/// Records activity at `now` on `word` (last active at `word`'s value), with time-to-live
/// `ttl`. Fails, changing nothing, if the session is expired at `now`; otherwise moves the word
/// to `max(word, now)`, never backwards, and returns `true`.
pub fn touch_word(word: &AtomicU64, ttl: u64, now: Tick) -> bool {
    let current = word.load(Ordering::Acquire);
    if is_expired(current, ttl, now) {
        return false;
    }
    if current < now {
        word.store(now, Ordering::Release);
    }
    true
}

/// An `RwLock<HashMap>` store whose touches share the read lock.
pub struct RwLockStore {
    ttl: u64,
    map: RwLock<HashMap<SessionId, Stored>>,
}

impl RwLockStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: RwLock::new(hash_map_with_capacity(config.capacity)) }
    }

    /// The read lock (given; public so that the grader can hold a read guard while your
    /// `touch` runs). A poisoned lock is taken back: every change is one `HashMap` call or one
    /// atomic.
    pub fn read(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Stored>> {
        self.map.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Stored>> {
        self.map.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for RwLockStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match self.write().entry(id) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert(Stored { user, last_active: AtomicU64::new(now) });
                Ok(())
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.read();
        let entry = map.get(id)?;
        touch_word(&entry.last_active, self.ttl, now).then_some(entry.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.write().remove(id).map(|entry| entry.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut map = self.write();
        let before = map.len();
        // Under the write lock no touch runs, so a plain load decides.
        map.retain(|_, entry| {
            !is_expired(entry.last_active.load(Ordering::Acquire), self.ttl, now)
        });
        before - map.len()
    }

    fn len(&self) -> usize {
        self.read().len()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn touch_word_never_moves_backwards() {
        let word = AtomicU64::new(0);
        assert!(touch_word(&word, 10, 7));
        assert!(touch_word(&word, 10, 5));
        assert_eq!(word.load(Ordering::Relaxed), 7);
    }

    #[test]
    fn touch_word_never_revives() {
        let word = AtomicU64::new(0);
        assert!(!touch_word(&word, 10, 10));
        assert_eq!(word.load(Ordering::Relaxed), 0);
    }
}
