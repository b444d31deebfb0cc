//! `UncheckedRemoveStore`: a logout that checks under the read lock and removes under a later
//! write lock without checking again. **Wrong on purpose.**
//!
//! **What is wrong.** [`remove`](SessionStore::remove) looks the id up under the *read* lock,
//! remembers the user, lets the read lock go, and then takes the write lock to remove the id,
//! ignoring whether anything was still there to remove:
//!
//! ```text
//! let user = self.read().get(id)?.user;   // check
//! self.write().remove(id);                // act, without re-checking
//! Some(user)
//! ```
//!
//! Between the check and the act another thread can run. Two logouts of one session both see
//! it present, both "remove" it, and both return `Some`: the specification says exactly one
//! does (DESIGN, "Semantics"). It is the textbook check-then-act race, made tempting by the
//! wish to keep the expensive write lock short.
//!
//! **Sequentially it is correct**: every single-threaded test passes. Only an interleaving
//! shows the bug.
//!
//! **What catches it.** The loom scenario `remove_remove` (two threads remove one id; exactly
//! one `Some`), in `loom-tests/mutants.rs`. Everything else is the [`RwLockStore`] design,
//! unchanged.
//!
//! [`RwLockStore`]: crate::stores::RwLockStore

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// A `RwLock<HashMap>` store whose `remove` checks and acts under two different locks.
/// Deliberately buggy: see the module docs.
pub struct UncheckedRemoveStore {
    ttl: u64,
    map: RwLock<HashMap<SessionId, Session>>,
}

impl UncheckedRemoveStore {
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

impl SessionStore for UncheckedRemoveStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match self.write().entry(id) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert(Session::new(user, now));
                Ok(())
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.read();
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        // THE BUG: the read guard is dropped at the end of this statement...
        let user = self.read().get(id)?.user;
        // ...so by now another remove may have taken the session, and this one still
        // reports success. The fix: one write lock, `self.write().remove(id).map(..)`.
        self.write().remove(id);
        Some(user)
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
