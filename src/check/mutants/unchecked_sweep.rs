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
//! a session that is live at the instant it removes it
//! ([`docs::semantics`](crate::docs::semantics), "Sweep").
//!
//! **Sequentially it is correct**: with one thread nothing can touch in the gap.
//!
//! **What catches it.** The loom scenario `touch_sweep` (a touch just before the expiry
//! boundary races a sweep at it: never both "touch returned `Some`" and "sweep removed it"),
//! in `loom-tests/mutants.rs`. The fix is to re-check each session's activity word under the
//! write lock (what [`RwLockStore`] does by sweeping under the write lock alone), or to claim
//! each session with a tombstone CAS as the copy-on-write store does. Everything else *is* the
//! [`RwLockStore`]: this store wraps one and overrides `sweep` alone.

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore, forward_to_store};
use crate::stores::RwLockStore;
use crate::time::Tick;

mutant_of! {
    /// A [`RwLockStore`] whose `sweep` decides under the read lock and removes under the write
    /// lock. Deliberately buggy: see the module docs.
    UncheckedSweepStore wraps RwLockStore
}

impl SessionStore for UncheckedSweepStore {
    forward_to_store!(insert, touch, remove, len);

    fn sweep(&self, now: Tick) -> usize {
        // THE BUG: the verdict is taken under the read lock, which is released before the
        // removal; a touch in between makes it stale.
        let ttl = self.store.ttl;
        let doomed: Vec<SessionId> = self
            .store
            .read()
            .iter()
            .filter(|(_, session)| !session.activity.is_live(ttl, now))
            .map(|(id, _)| *id)
            .collect();
        let mut map = self.store.write();
        doomed.iter().filter(|id| map.remove(id).is_some()).count()
    }
}
