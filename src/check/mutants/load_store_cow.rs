//! `LoadStoreCowStore`: copy-on-write whose writers load, clone, change and *store* the map,
//! instead of publishing with compare-and-swap (`rcu`). **Wrong on purpose.**
//!
//! **What is wrong.** The correct [`CowStore`] publishes each new map with
//! [`CowCell::update`], arc-swap's `rcu`: the new map is installed only if the cell still
//! holds the map it was cloned from, and otherwise the change is redone on the newer map.
//! This store's `insert` skips that check:
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
//! `unsafe`, so no race detector can see it. A late store can even put back an entry that a
//! concurrent logout or sweep had unlinked.
//!
//! `CowCell` has no `store`, on purpose; the bug is written as an `update` whose closure
//! ignores the map it is shown and returns the map cloned earlier, which is exactly a blind
//! store.
//!
//! The occupancy check reads the same stale snapshot, so two logins with one id can both
//! succeed.
//!
//! **Sequentially it is correct**: with one writer, the map it loaded is still current.
//!
//! **What catches it.** The loom scenario `insert_distinct` (two threads insert distinct
//! ids; all present after join), and `insert_same`, in `loom-tests/mutants.rs`. Everything
//! else *is* the [`CowStore`]: this store wraps one and overrides `insert` alone.
//!
//! [`CowCell::update`]: crate::sync::CowCell::update

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore, forward_to_store};
use crate::stores::CowStore;
use crate::sync::Arc;
use crate::time::Tick;

mutant_of! {
    /// A [`CowStore`] whose `insert` stores instead of compare-and-swap.
    /// Deliberately buggy: see the module docs.
    LoadStoreCowStore wraps CowStore
}

impl SessionStore for LoadStoreCowStore {
    forward_to_store!(touch, remove, sweep, len);

    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let cell = &self.store.map;
        // THE BUG, step 1: load and clone the current map, and decide on that snapshot.
        let mut next = (*cell.load()).clone();
        if next.get(&id).is_some_and(|existing| existing.activity.last_active().is_some()) {
            return Err(Occupied);
        }
        next.insert(id, Arc::new(Session::new(user, now)));
        // Step 2: publish it whatever the cell holds by now. The closure ignores the map it
        // is shown: a blind store of the stale clone (`CowCell` has no `store`, on purpose).
        cell.update(|_current| (Some(next.clone()), ()));
        Ok(())
    }
}
