//! # Exercise 8 (advanced): the lock-free list's `remove`
//!
//! The lab's lock-free store is one Harris–Michael sorted list on crossbeam-epoch, split into
//! buckets by sentinel nodes (read `src/stores/lockfree/mod.rs` and `list.rs` first: their
//! module docs explain every step). Here it is cut down to one list, with everything but
//! `remove` written for you.
//!
//! A deletion is three steps, and you write them:
//!
//! 1. **Tombstone** the node's `Activity` word by CAS ([`Activity::tombstone`]). This is the
//!    linearization point: of two removes (or a remove and a sweep) exactly one wins, and no
//!    touch succeeds after it. A word already tombstoned means the session is absent.
//! 2. **Mark** the node's `next` pointer (set the `MARKED` tag with `fetch_or`). A marked
//!    link is frozen: every CAS on a link expects an unmarked pointer, so nothing can be
//!    linked after this node any more. Without the mark, a login that links its node after
//!    ours while we unlink ours is lost with it (Harris's insight).
//! 3. **Unlink**: CAS the predecessor's link from this node to its successor, and on success
//!    hand the node to the epoch collector (`Guard::defer_destroy`): threads still walking
//!    over it are pinned, and it is freed only after they unpin. If the CAS fails, someone
//!    changed the predecessor; a fresh `LockFreeList::search` unlinks every marked node it
//!    passes, ours included.
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **Skipping the tombstone CAS**: loom's `remove_remove` and `remove_sweep` (crossbeam's
//!   loom mode, a one-list store) and the real-thread remove-vs-sweep race.
//! - **Unlinking without marking `next` first**: loom's `remove_insert_next_id` (a login linked
//!   after the node meanwhile is lost).
//! - **Never handing the node to the collector**, **tombstoning without unlinking**: the
//!   memory check (the live bytes must stay flat as sessions come and go).
//!
//! Grading (`cargo run -- exercise check 8`): the conformance suite and the linearizability
//! checker, on real threads (see exercises/README.md for why not loom).
//!
//! [`Activity::tombstone`]: sessionlab::activity::Activity::tombstone
//!
//! TODO: write `remove`: tombstone, mark, unlink.
//! Hint: `cargo run -- exercise hint 8`. Check: `cargo run -- exercise check 8`.

// I AM NOT DONE

use crossbeam_epoch::{Atomic, Guard, Owned, Shared};
use sessionlab::activity::Activity;
use sessionlab::sync::Ordering;
use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use std::cmp;

/// The tag bit on a node's `next` that says the node is being unlinked.
pub const MARKED: usize = 1;

struct Node {
    id: SessionId,
    user: UserId,
    activity: Activity,
    /// The successor, tagged `MARKED` once this node is being unlinked.
    next: Atomic<Node>,
}

/// Under crossbeam's loom mode there is no global collector, so the list has its own; each
/// thread registers with it once (as `crossbeam_epoch::pin` does with the global one), not
/// once per call, which would multiply the atomics loom must interleave (given code).
#[cfg(crossbeam_loom)]
mod loom_handle {
    use crossbeam_epoch::{Collector, Guard, LocalHandle};
    use std::cell::RefCell;

    loom::thread_local! {
        static HANDLE: RefCell<Option<(Collector, LocalHandle)>> = RefCell::new(None);
    }

    /// Pins this thread on `collector`, registering it the first time.
    pub(super) fn pin(collector: &Collector) -> Guard {
        HANDLE.with(|slot| {
            let mut slot = slot.borrow_mut();
            if let Some((registered, handle)) = &*slot
                && registered == collector
            {
                return handle.pin();
            }
            let handle = collector.register();
            let guard = handle.pin();
            *slot = Some((collector.clone(), handle));
            guard
        })
    }
}

/// Where a search stopped: `prev` is an unmarked link and `curr` what it held when read.
struct Position<'g> {
    prev: &'g Atomic<Node>,
    curr: Shared<'g, Node>,
}

/// One Harris–Michael sorted list, reclaimed with epochs.
pub struct LockFreeList {
    ttl: u64,
    head: Atomic<Node>,
    #[cfg(crossbeam_loom)]
    collector: crossbeam_epoch::Collector,
}

impl LockFreeList {
    /// An empty list built from `config` (only its ttl matters).
    pub fn new(config: &Config) -> Self {
        Self {
            ttl: config.ttl,
            head: Atomic::null(),
            #[cfg(crossbeam_loom)]
            collector: crossbeam_epoch::Collector::new(),
        }
    }

    fn pin(&self) -> Guard {
        #[cfg(crossbeam_loom)]
        return loom_handle::pin(&self.collector);
        #[cfg(not(crossbeam_loom))]
        crossbeam_epoch::pin()
    }

    /// Walks to the first unmarked node whose id is at least `key` (to the end for `None`),
    /// unlinking every marked node it passes.
    fn search<'g>(&'g self, key: Option<&SessionId>, guard: &'g Guard) -> Position<'g> {
        'restart: loop {
            let mut prev = &self.head;
            let mut curr = prev.load(Ordering::Acquire, guard);
            loop {
                // SAFETY: loaded under `guard` from a link reached under `guard`: null or a
                // node the collector does not free before `guard` drops.
                let Some(node) = (unsafe { curr.as_ref() }) else {
                    return Position { prev, curr };
                };
                let succ = node.next.load(Ordering::Acquire, guard);
                if succ.tag() == MARKED {
                    let unmarked = succ.with_tag(0);
                    match prev.compare_exchange(
                        curr,
                        unmarked,
                        Ordering::Release,
                        Ordering::Relaxed,
                        guard,
                    ) {
                        Ok(_) => {
                            // SAFETY: our CAS unlinked `curr`; walks holding it are pinned.
                            unsafe { guard.defer_destroy(curr) };
                            curr = unmarked;
                            continue;
                        }
                        Err(_) => continue 'restart,
                    }
                }
                if key.is_some_and(|key| node.id >= *key) {
                    return Position { prev, curr };
                }
                prev = &node.next;
                curr = succ;
            }
        }
    }

    /// The node for `id`, marked or not, by a read-only walk.
    fn lookup<'g>(&'g self, id: &SessionId, guard: &'g Guard) -> Option<&'g Node> {
        let mut curr = self.head.load(Ordering::Acquire, guard);
        // SAFETY: as in `search`.
        while let Some(node) = unsafe { curr.as_ref() } {
            match node.id.cmp(id) {
                cmp::Ordering::Less => curr = node.next.load(Ordering::Acquire, guard),
                cmp::Ordering::Equal => return Some(node),
                cmp::Ordering::Greater => return None,
            }
        }
        None
    }
}

impl SessionStore for LockFreeList {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let guard = self.pin();
        let mut new =
            Owned::new(Node { id, user, activity: Activity::new(now), next: Atomic::null() });
        loop {
            let at = self.search(Some(&id), &guard);
            // SAFETY: `search` returns a pointer loaded under `guard`.
            if let Some(node) = unsafe { at.curr.as_ref() }.filter(|node| node.id == id) {
                if node.activity.last_active().is_some() {
                    return Err(Occupied);
                }
                // Tombstoned, not yet marked: mark it for its remover so it gets unlinked.
                node.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
                continue;
            }
            new.next.store(at.curr, Ordering::Relaxed);
            match at.prev.compare_exchange(
                at.curr,
                new,
                Ordering::Release,
                Ordering::Relaxed,
                &guard,
            ) {
                Ok(_) => return Ok(()),
                Err(lost) => new = lost.new,
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let guard = self.pin();
        let node = self.lookup(id, &guard)?;
        node.activity.touch(self.ttl, now).then_some(node.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        todo!("tombstone, mark, unlink")
    }

    fn sweep(&self, now: Tick) -> usize {
        let guard = self.pin();
        let mut swept = 0;
        let mut curr = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: as in `lookup`.
        while let Some(node) = unsafe { curr.as_ref() } {
            if node.activity.tombstone_if_expired(self.ttl, now) {
                swept += 1;
                node.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
            }
            curr = node.next.load(Ordering::Acquire, &guard);
        }
        // A search to the end unlinks every marked node.
        self.search(None, &guard);
        swept
    }

    fn len(&self) -> usize {
        let guard = self.pin();
        let mut len = 0;
        let mut curr = self.head.load(Ordering::Acquire, &guard);
        // SAFETY: as in `lookup`.
        while let Some(node) = unsafe { curr.as_ref() } {
            len += usize::from(node.activity.last_active().is_some());
            curr = node.next.load(Ordering::Acquire, &guard);
        }
        len
    }
}

impl Drop for LockFreeList {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: no other thread can reach the list, and every node still linked
        // is owned by the list alone (unlinked ones belong to the collector).
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let mut curr = self.head.load(Ordering::Relaxed, guard);
        while !curr.is_null() {
            // SAFETY: non-null, linked, owned by the list (see above).
            let owned = unsafe { curr.with_tag(0).into_owned() };
            curr = owned.next.load(Ordering::Relaxed, guard);
            drop(owned);
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    #[ignore = "an unsolved stub: `cargo run -- exercise check 8` runs these"]
    fn remove_unlinks_the_node() {
        let list = LockFreeList::new(&Config::new(10));
        for n in 1..=3 {
            list.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        assert_eq!(list.remove(&SessionId::fixed(2)), Some(UserId(2)));
        assert_eq!(list.remove(&SessionId::fixed(2)), None);
        let guard = list.pin();
        assert!(list.lookup(&SessionId::fixed(2), &guard).is_none(), "the node is still linked");
        assert_eq!(list.len(), 2);
    }
}
