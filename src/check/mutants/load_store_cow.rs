//! `LoadStoreCowStore`: copy-on-write whose writers load, clone, change and *store* the map,
//! instead of publishing with compare-and-swap (`rcu`). **Wrong on purpose.**
//!
//! **What is wrong.** The correct [`CowStore`] publishes each new map with
//! [`CowCell::update`], arc-swap's `rcu`: the new map is installed only if the cell still
//! holds the map it was cloned from, and otherwise the change is redone on the newer map.
//! This store skips that check:
//!
//! ```text
//! let mut next = (*cell.load()).clone();   // load + clone
//! next.insert(id, session);                // change
//! cell.store(next);                        // store, whatever the cell holds by now
//! ```
//!
//! Two logins at once both clone the same old map, each adds its own session, and the second
//! `store` replaces the first one's map: a **lost update**, a session that was created, whose
//! cookie the user holds, and that is simply gone. Every step is atomic and there is no
//! `unsafe`, so no race detector can see it. A logout or sweep can lose a login the same way,
//! and a late store can even put back an entry that a concurrent unlink had removed.
//!
//! `CowCell` has no `store`, on purpose; the bug is written as an `update` whose closure
//! ignores the map it is shown and returns the map cloned earlier, which is exactly a blind
//! store.
//!
//! **Sequentially it is correct**: with one writer, the map it loaded is still current.
//!
//! **What catches it.** The loom scenario `insert_distinct` (two threads insert distinct
//! ids; both present after join), in `loom-tests/mutants.rs`. Touch and the tombstone
//! protocol are the [`CowStore`]'s, unchanged.
//!
//! [`CowStore`]: crate::stores::CowStore

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{Arc, CowCell, HashMap, hash_map_with_capacity};
use crate::time::Tick;

type Map = HashMap<SessionId, Arc<Session>>;

/// A copy-on-write store whose writers store instead of compare-and-swap.
/// Deliberately buggy: see the module docs.
pub struct LoadStoreCowStore {
    ttl: u64,
    map: CowCell<Map>,
}

impl LoadStoreCowStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: CowCell::new(hash_map_with_capacity(config.capacity)) }
    }

    /// THE BUG: clone the current map, let `change` edit the clone, and publish it without
    /// checking that the cell still holds the map it was cloned from.
    fn load_change_store(&self, change: impl FnOnce(&mut Map)) {
        let mut next = (*self.map.load()).clone();
        change(&mut next);
        // The closure ignores the map it is shown: a blind store of the stale clone.
        self.map.update(|_current| (Some(next.clone()), ()));
    }

    /// Publishes a map without the entries in `doomed` (compared by pointer), the lossy way.
    fn unlink(&self, doomed: &[(SessionId, Arc<Session>)]) {
        if doomed.is_empty() {
            return;
        }
        self.load_change_store(|next| {
            for (id, session) in doomed {
                if next.get(id).is_some_and(|current| Arc::ptr_eq(current, session)) {
                    next.remove(id);
                }
            }
        });
    }
}

impl SessionStore for LoadStoreCowStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let taken = self
            .map
            .load()
            .get(&id)
            .is_some_and(|existing| existing.activity.last_active().is_some());
        if taken {
            return Err(Occupied);
        }
        let session = Arc::new(Session::new(user, now));
        self.load_change_store(|next| {
            next.insert(id, session);
        });
        Ok(())
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.map.load();
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let session = Arc::clone(self.map.load().get(id)?);
        if !session.activity.tombstone() {
            return None;
        }
        let user = session.user;
        self.unlink(&[(*id, session)]);
        Some(user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let doomed: Vec<(SessionId, Arc<Session>)> = self
            .map
            .load()
            .iter()
            .filter(|(_, session)| session.activity.tombstone_if_expired(self.ttl, now))
            .map(|(id, session)| (*id, Arc::clone(session)))
            .collect();
        self.unlink(&doomed);
        doomed.len()
    }

    fn len(&self) -> usize {
        self.map.load().values().filter(|s| s.activity.last_active().is_some()).count()
    }
}
