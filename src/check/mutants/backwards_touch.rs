//! `BackwardsTouchStore`: a touch that checks the activity time and then stores `now` with a
//! plain store instead of a compare-and-swap. **Wrong on purpose.**
//!
//! **What is wrong.** The correct stores move the activity word with a CAS loop to
//! `max(last_active, now)` ([`Activity::touch`](crate::activity::Activity::touch)). This one
//! does the same arithmetic as three separate steps:
//!
//! ```text
//! let last = word.load();                          // read
//! if expired(last, now) { return None }            // check
//! if now > last { word.store(now) }                // act, on a value that may be stale
//! ```
//!
//! Two requests for one session carry different clocks (threads read the clock at different
//! moments and arrive in any order). Say `touch(7)` and `touch(5)` both load `0`; `touch(7)`
//! stores 7, then `touch(5)` stores 5 over it. Activity moved *backwards*, from 7 to 5, so the
//! session expires two ticks early and a sweep logs out a user who was active. The
//! specification says `last_active` becomes `max(last_active, now)` and never moves backwards
//! (DESIGN, "Semantics"). Each step is atomic, so there is no data race and no `unsafe`: it is
//! a *logic* race, which no race detector reports.
//!
//! **Sequentially it is correct**: with one thread the `if now > last` really is a max.
//!
//! **What catches it.** The loom scenario `touch_touch` (two touches of one session at
//! different ticks; afterwards the session must be live until the later tick's expiry), in
//! `loom-tests/mutants.rs`. Everything else is the [`RwLockStore`] design, with its own word.
//!
//! [`RwLockStore`]: crate::stores::RwLockStore

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{
    AtomicU64, HashMap, Ordering, RwLock, RwLockReadGuard, RwLockWriteGuard, hash_map_with_capacity,
};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// What this store keeps per session: the user and a bare atomic tick (no CAS discipline).
struct Stored {
    user: UserId,
    last_active: AtomicU64,
}

/// A `RwLock<HashMap>` store whose `touch` uses load + store instead of compare-and-swap.
/// Deliberately buggy: see the module docs.
pub struct BackwardsTouchStore {
    ttl: u64,
    map: RwLock<HashMap<SessionId, Stored>>,
}

impl BackwardsTouchStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: RwLock::new(hash_map_with_capacity(config.capacity)) }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<SessionId, Stored>> {
        self.map.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SessionId, Stored>> {
        self.map.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for BackwardsTouchStore {
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
        let stored = map.get(id)?;
        let last = stored.last_active.load(Ordering::Acquire);
        if is_expired(last, self.ttl, now) {
            return None;
        }
        // THE BUG: `last` may be stale by now; another touch under the same read lock may
        // have stored a later tick, which this store overwrites. The fix is a CAS loop
        // (or `fetch_max`), as in `Activity::touch`.
        if now > last {
            stored.last_active.store(now, Ordering::Release);
        }
        Some(stored.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.write().remove(id).map(|stored| stored.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut map = self.write();
        let before = map.len();
        // Under the write lock no touch runs, so a plain load is enough here.
        map.retain(|_, stored| {
            !is_expired(stored.last_active.load(Ordering::Acquire), self.ttl, now)
        });
        before - map.len()
    }

    fn len(&self) -> usize {
        self.read().len()
    }
}
