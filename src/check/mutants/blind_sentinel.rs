//! `BlindSentinelStore`: the growing lock-free store with a new bucket's sentinel linked by a
//! plain store instead of a compare-and-swap.
//!
//! **The bug.** When [`LockFreeStore`] doubles, each new bucket is initialised lazily: the first
//! operation that needs bucket `b` claims `b`'s directory slot and inserts the sentinel that
//! lives there into the one list, starting from the parent bucket's sentinel, with the same
//! compare-and-swap as any insert. This copy finds the sentinel's place with the store's own
//! search and then *stores* the link instead of CASing it. Sequentially that is the same
//! thing. Concurrently, a thread that read the bucket count before the doubling, or found
//! the slot claimed but not yet linked, inserts its session through the parent bucket, into
//! the very link the sentinel goes into; if its CAS lands between the search and the store,
//! the store overwrites it, and the session that insert returned `Ok` for is no longer in the
//! list.
//!
//! It is the resizing counterpart of [`UnmarkedUnlinkStore`](super::UnmarkedUnlinkStore): in
//! a lock-free structure every write to a shared link must be a CAS against the value the
//! decision was based on. Everything else is the correct store, reused rather than copied:
//! the mutant only hands [`LockFreeStore`] a different sentinel-linking function.
//!
//! **Reclamation.** A node the blind store overwrites is leaked (no thread can reach it to
//! unlink it, so nobody frees it); the scenario that catches the bug removes nothing, so the
//! bug stays a lost session the model checker reports, not memory corruption.

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::stores::LockFreeStore;
use crate::stores::lockfree::list::{self, Node};
use crate::sync::Ordering;
use crate::time::Tick;
use crossbeam_epoch::{Guard, Shared};

/// The growing lock-free store with sentinels linked by a plain store. Wrong on purpose.
pub struct BlindSentinelStore {
    store: LockFreeStore,
}

impl BlindSentinelStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { store: LockFreeStore::with_sentinel_linker(config, link_sentinel_blindly) }
    }
}

/// Links a new bucket's sentinel (claimed, in its slot) after `start`.
fn link_sentinel_blindly<'g>(start: &'g Node, sentinel: &'g Node, guard: &'g Guard) {
    let at = list::search(start, sentinel.key, &sentinel.id, guard);
    // Relaxed: the sentinel is not reachable yet; the store below publishes it.
    sentinel.next.store(at.curr, Ordering::Relaxed);
    // THE BUG: a plain store where `link_sentinel` CASes from `at.curr`: whatever another
    // thread linked here since our search is overwritten. (Release publishes the sentinel's
    // fields, as the CAS would: the bug is the lost update, not the ordering.)
    at.prev.store(Shared::from(sentinel as *const Node), Ordering::Release);
}

impl SessionStore for BlindSentinelStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.store.insert(id, user, now)
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        self.store.touch(id, now)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.store.remove(id)
    }

    fn sweep(&self, now: Tick) -> usize {
        self.store.sweep(now)
    }

    fn len(&self) -> usize {
        self.store.len()
    }
}
