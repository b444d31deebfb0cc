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
//! does ([`docs::semantics`](crate::docs::semantics), "Two removes, one winner"). It is the
//! textbook check-then-act race, made tempting by the wish to keep the expensive write lock
//! short.
//!
//! **Sequentially it is correct**: every single-threaded test passes. Only an interleaving
//! shows the bug.
//!
//! **What catches it.** The loom scenario `remove_remove` (two threads remove one id; exactly
//! one `Some`), in `loom-tests/mutants.rs`. Everything else *is* the [`RwLockStore`]: this
//! store wraps one and overrides `remove` alone.

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore, forward_to_store};
use crate::stores::RwLockStore;
use crate::time::Tick;

mutant_of! {
    /// A [`RwLockStore`] whose `remove` checks and acts under two different locks.
    /// Deliberately buggy: see the module docs.
    UncheckedRemoveStore wraps RwLockStore
}

impl SessionStore for UncheckedRemoveStore {
    forward_to_store!(insert, touch, sweep, len);

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        // THE BUG: the read guard is dropped at the end of this statement...
        let user = self.store.read().get(id)?.user;
        // ...so by now another remove may have taken the session, and this one still
        // reports success. The fix: one write lock, `self.write().remove(id).map(..)`.
        self.store.write().remove(id);
        Some(user)
    }
}
