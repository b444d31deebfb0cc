//! `RwLockStore`: one `RwLock` around one `HashMap`, with `touch` under the *read* lock.
//!
//! **Technique.** The Go lesson makes every request a map write (`dbSessions[id] = s`), so even
//! with a read-write lock every request would take the write lock. Here the last-activity time
//! lives in an atomic [`Activity`] word inside the stored value, so `touch` needs only the read
//! lock and a compare-and-swap on that word; requests run in parallel. Logins, logouts and
//! sweeps take the write lock.
//!
//! **Invariant.** The map's shape (which ids are present) changes only under the write lock.
//! Under the read lock only activity words change, by CAS, and a touch's CAS refuses an
//! expired word, so a touch can never revive a session a sweep is about to remove: the sweep
//! holds the write lock, so no touch runs while it decides.
//!
//! **Cost.** A read lock is still an atomic RMW on one shared counter, so parallel touches
//! bounce that cache line between cores; a writer waits for all readers to leave, and (with
//! std's lock) readers queue behind a waiting writer. A sweep blocks everyone for the whole
//! walk, as in the mutex store.
//!
//! **Where it breaks.** Write-heavy mixes (logins, logouts) serialise as with a mutex, and the
//! shared reader count caps read scaling long before the core count does.

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// A `RwLock<HashMap>` store whose touches share the read lock.
pub struct RwLockStore {
    pub(crate) ttl: u64,
    map: RwLock<HashMap<SessionId, Session>>,
}

impl RwLockStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: RwLock::new(hash_map_with_capacity(config.capacity)) }
    }

    /// Test hook: poisons this store's lock by panicking while holding it for writing (the
    /// panic is caught here). Lets the poison-policy tests check that the store stays usable.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub fn poison_for_tests(&self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = self.map.write();
            panic!("poisoning the rwlock store's lock on purpose");
        }));
    }

    // Poison policy: as in the mutex store, every change is one `HashMap` call (or an atomic
    // on a value), which leaves the map consistent if it unwinds, so a poisoned lock is
    // taken back rather than failing every later request.

    // `pub(crate)`: the mutants that break one method of this design (`check::mutants`) wrap
    // this store and take its lock themselves.
    pub(crate) fn read(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Session>> {
        self.map.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    pub(crate) fn write(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Session>> {
        self.map.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for RwLockStore {
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
        let mut map = self.write();
        let before = map.len();
        // Under the write lock no touch runs, so reading the word is enough: no tombstone.
        map.retain(|_, session| session.activity.is_live(self.ttl, now));
        before - map.len()
    }

    fn len(&self) -> usize {
        self.read().len()
    }
}
