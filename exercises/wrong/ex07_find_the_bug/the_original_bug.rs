// WRONG: unchanged: the check under the read lock, the insert under a later write lock.
// expect: loom::insert_same
//! # Exercise 7: find the bug
//!
//! This store passes every sequential test in the lab: run its visible tests, or the
//! conformance suite's sequential checks, and all is well. Yet it is wrong, and the loom
//! grader proves it. Read the code, form a theory, then run the grader
//! (`cargo run -- exercise check 7`) and read the failing scenario's assertion: which two
//! calls, interleaved how? Fix the store without giving up the read lock where it is right.
//!
//! (The fix, kept here: the bug was a *check-then-act* in `insert`: "is the id free?" under
//! the read lock, then "insert it" under a later write lock. Between the two another login
//! can take the id, and the second `HashMap::insert` overwrites it: two logins both get
//! `Ok`. Check and act under one write lock, with the `entry` API.)
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **Leaving the bug**, or **"fixing" it with two write-lock acquisitions**: loom's
//!   `insert_same`.
//! - **Dropping the check** (insert now overwrites): the conformance suite.
//! - **The same check-then-act moved to another operation**: loom's scenarios.
//!
//! Grading: conformance, linearizability, loom scenarios.

use sessionlab::session::Session;
use sessionlab::sync::{
    HashMap, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity,
};
use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use std::collections::hash_map::Entry;

/// An `RwLock<HashMap>` store.
pub struct SuspectStore {
    ttl: u64,
    map: RwLock<HashMap<SessionId, Session>>,
}

impl SuspectStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: RwLock::new(hash_map_with_capacity(config.capacity)) }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Session>> {
        self.map.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Session>> {
        self.map.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for SuspectStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        if self.read().contains_key(&id) {
            return Err(Occupied);
        }
        self.write().insert(id, Session::new(user, now));
        Ok(())
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.read();
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.write().remove(id).map(|session| session.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut map = self.write();
        let before = map.len();
        map.retain(|_, session| session.activity.is_live(self.ttl, now));
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
    fn sequentially_it_is_fine() {
        let store = SuspectStore::new(&Config::new(10));
        let id = SessionId::fixed(1);
        assert_eq!(store.insert(id, UserId(1), 0), Ok(()));
        assert_eq!(store.insert(id, UserId(2), 0), Err(Occupied));
        assert_eq!(store.touch(&id, 5), Some(UserId(1)));
        assert_eq!(store.remove(&id), Some(UserId(1)));
    }
}
