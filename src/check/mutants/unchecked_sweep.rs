//! `UncheckedSweepStore`: a sweep that decides under the read lock and removes under a later
//! write lock without checking again. **Wrong on purpose.**
//!
//! **What is wrong.** [`sweep`](SessionStore::sweep) collects the ids of expired sessions
//! under the *read* lock (so touches keep running while it looks), lets the read lock go, and
//! then removes every collected id under the write lock, trusting the old verdict:
//!
//! ```text
//! let doomed = ids expired at `now`, read under self.read();   // check
//! for id in doomed { self.write().remove(id) }                 // act, without re-checking
//! ```
//!
//! Between the two, a request can touch one of those sessions: the touch sees it live (its
//! own `now` is inside the ttl) and returns `Some(user)`, and then the sweep deletes it
//! anyway. The user was just told "you are logged in" and is logged out by a sweep that
//! decided before their request arrived. The specification forbids it: a sweep never removes
//! a session that is live at the instant it removes it (DESIGN, "Semantics").
//!
//! **Sequentially it is correct**: with one thread nothing can touch in the gap.
//!
//! **What catches it.** The loom scenario `touch_sweep` (a touch just before the expiry
//! boundary races a sweep at it: never both "touch returned `Some`" and "sweep removed it"),
//! in `loom-tests/mutants.rs`. The fix is to re-check each session's activity word under the
//! write lock (what [`RwLockStore`] does by sweeping under the write lock alone), or to claim
//! each session with a tombstone CAS as the copy-on-write store does. Everything else is the
//! [`RwLockStore`] design, unchanged.
//!
//! [`RwLockStore`]: crate::stores::RwLockStore

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// A `RwLock<HashMap>` store whose `sweep` decides under the read lock and removes under the
/// write lock. Deliberately buggy: see the module docs.
pub struct UncheckedSweepStore {
    ttl: u64,
    map: RwLock<HashMap<SessionId, Session>>,
}

impl UncheckedSweepStore {
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

impl SessionStore for UncheckedSweepStore {
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
        self.write().remove(id).map(|session| session.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        // THE BUG: the verdict is taken under the read lock, which is released before the
        // removal; a touch in between makes it stale.
        let doomed: Vec<SessionId> = self
            .read()
            .iter()
            .filter(|(_, session)| !session.activity.is_live(self.ttl, now))
            .map(|(id, _)| *id)
            .collect();
        let mut map = self.write();
        doomed.iter().filter(|id| map.remove(id).is_some()).count()
    }

    fn len(&self) -> usize {
        self.read().len()
    }
}
