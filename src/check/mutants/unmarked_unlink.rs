//! `UnmarkedUnlinkStore`: the lock-free store with Harris's mark left out of remove.
//!
//! **The bug.** [`LockFreeStore`] deletes a node in three steps:
//! tombstone the activity word, *mark* the node's `next`, then CAS the predecessor's link past
//! the node. This copy skips the mark: remove tombstones the node and CASes the predecessor's
//! link straight to the successor it read. Sequentially that is the same thing. Concurrently,
//! an insert of a neighbouring id can link its new node after ours (a CAS on *our* `next`,
//! which nothing froze) between our read of `next` and our unlink (a CAS on the
//! *predecessor's* link): different words, so both CASes succeed, and the new node hangs off a
//! node that is no longer in the list. The insert returned `Ok`, and the session is gone.
//!
//! It is the textbook reason for Harris's marked pointers, and why the mark must come before
//! the unlink. Everything else is the correct store, reused rather than copied: insert, touch,
//! sweep and `len` are [`LockFreeStore`]'s own, and this remove is written with the store's own
//! list module (`search`), so it differs from the correct remove in the missing mark alone.
//!
//! **Reclamation.** The node this remove unlinks is leaked rather than handed to the epoch
//! collector. Without the mark, a node can be unlinked twice (once here, once by a helper that
//! still reaches it), and deferring both would be a double free: in the loom scenario that
//! catches it, the bug stays a lost session that the model checker reports. On real threads
//! leaking is not enough. Another thread (a sweep, a correct remove) can mark and unlink our
//! node's successor through our unmarked `next` and hand it to the collector, and our unlink
//! then links that successor back into the list: a use after free, which has taken a test
//! process down ("free(): invalid size"). Suites that run this mutant on real threads
//! therefore run it in a child process (`tests/linearizability.rs`), and the conformance tests
//! leave it out.

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::stores::LockFreeStore;
use crate::stores::lockfree::list;
use crate::sync::Ordering;
use crate::time::Tick;

/// The lock-free store with remove unlinking an unmarked node. Wrong on purpose.
pub struct UnmarkedUnlinkStore {
    store: LockFreeStore,
}

impl UnmarkedUnlinkStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { store: LockFreeStore::new(config) }
    }
}

impl SessionStore for UnmarkedUnlinkStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.store.insert(id, user, now)
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        self.store.touch(id, now)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let store = &self.store;
        let guard = store.pin();
        let (key, start) = store.locate(id, &guard);
        let at = list::search(start, key, id, &guard);
        // SAFETY: `search` returns a pointer loaded under `guard`.
        let node = unsafe { at.curr.as_ref() }.filter(|node| node.is(key, id))?;
        if !node.activity.tombstone() {
            return None;
        }
        store.count_removed();
        // THE BUG: no `fetch_or(MARKED)` first, so `node.next` can still change under us.
        let succ = node.next.load(Ordering::Acquire, &guard);
        // Leaked on success, never deferred (see the module docs); on failure a later search
        // does not unlink it either (it is not marked), so it lingers tombstoned: absent, as
        // far as every operation can tell.
        let _ =
            at.prev.compare_exchange(at.curr, succ, Ordering::Release, Ordering::Relaxed, &guard);
        Some(node.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        self.store.sweep(now)
    }

    fn len(&self) -> usize {
        self.store.len()
    }
}
