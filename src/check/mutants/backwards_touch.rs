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
//! ([`docs::semantics`](crate::docs::semantics), "Touch"). Each step is atomic, so there is no data race and no `unsafe`: it is
//! a *logic* race, which no race detector reports.
//!
//! **Sequentially it is correct**: with one thread the `if now > last` really is a max.
//!
//! **What catches it.** The loom scenario `touch_touch` (two touches of one session at
//! different ticks; afterwards the session must be live until the later tick's expiry), in
//! `loom-tests/mutants.rs`. Everything else *is* the [`RwLockStore`]: this store wraps
//! one and overrides `touch` alone.

use crate::activity::{Activity, is_expired};
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore, forward_to_store};
use crate::stores::RwLockStore;
use crate::sync::Ordering;
use crate::time::Tick;

mutant_of! {
    /// A [`RwLockStore`] whose `touch` uses load + store instead of compare-and-swap.
    /// Deliberately buggy: see the module docs.
    BackwardsTouchStore wraps RwLockStore
}

impl SessionStore for BackwardsTouchStore {
    forward_to_store!(insert, remove, sweep, len);

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.store.read();
        let session = map.get(id)?;
        let word = session.activity.word();
        let last = word.load(Ordering::Acquire);
        if last == Activity::TOMBSTONE || is_expired(last, self.store.ttl, now) {
            return None;
        }
        // THE BUG: `last` may be stale by now; another touch under the same read lock may
        // have stored a later tick, which this store overwrites. The fix is a CAS loop
        // (or `fetch_max`), as in `Activity::touch`.
        if now > last {
            word.store(now.min(Activity::TOMBSTONE - 1), Ordering::Release);
        }
        Some(session.user)
    }
}
