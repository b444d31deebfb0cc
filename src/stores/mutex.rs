//! `MutexStore`: one `Mutex` around one `HashMap`.
//!
//! **Technique.** Every operation, reads included, takes the one lock.
//!
//! **Invariant.** The map is only ever read or written by the thread holding the lock, so each
//! operation is one atomic step and the store is trivially linearizable. Because the lock
//! already excludes everyone, the stored value is a plain `(user, last_active)` pair: no
//! atomics needed.
//!
//! **Cost.** One uncontended lock/unlock per operation (two atomic RMWs), and no parallelism
//! at all: threads take turns. A sweep walks the whole map under the lock, so every request
//! waits for the longest sweep.
//!
//! **Where it breaks.** It doesn't break; it stops scaling. With two cores it is often the
//! fastest correct store; with sixteen it is the slowest, and its sweep pause is the whole
//! map's walk.

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, Mutex, MutexGuard, hash_map_with_capacity};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// A `Mutex<HashMap>` store: correct and serial.
pub struct MutexStore {
    ttl: u64,
    map: Mutex<HashMap<SessionId, (UserId, Tick)>>,
}

impl MutexStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: Mutex::new(hash_map_with_capacity(config.capacity)) }
    }

    /// Test hook: poisons this store's lock by panicking while holding it (the panic is caught
    /// here). Lets the poison-policy tests check that the store stays usable afterwards.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub fn poison_for_tests(&self) {
        let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            let _guard = self.map.lock();
            panic!("poisoning the mutex store's lock on purpose");
        }));
    }

    /// Poison policy: a thread that panicked while holding the lock left the map in a state
    /// some operation had not finished changing. Every operation here changes the map with a
    /// single `HashMap` call, which leaves it consistent even if it unwinds, so we take the
    /// map back and carry on rather than failing every later request.
    fn lock(&self) -> MutexGuard<'_, HashMap<SessionId, (UserId, Tick)>> {
        self.map.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for MutexStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match self.lock().entry(id) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert((user, now));
                Ok(())
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let mut map = self.lock();
        let (user, last_active) = map.get_mut(id)?;
        if is_expired(*last_active, self.ttl, now) {
            return None;
        }
        *last_active = (*last_active).max(now);
        Some(*user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.lock().remove(id).map(|(user, _)| user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut map = self.lock();
        let before = map.len();
        map.retain(|_, (_, last_active)| !is_expired(*last_active, self.ttl, now));
        before - map.len()
    }

    fn len(&self) -> usize {
        self.lock().len()
    }
}
