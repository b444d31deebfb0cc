//! The Harris–Michael list the lock-free store keeps every session in: one sorted, singly
//! linked list with marked `next` pointers, walked and edited by compare-and-swap only.
//!
//! This module knows nothing of buckets or hashing: it sorts nodes by a [`Node::key`] (the
//! split-order key, see the parent module) and then by id, and every walk starts at a
//! *sentinel*, a node that is never removed. The store (`super`) decides which sentinel an
//! operation starts from; the weakened copies in [`crate::check::mutants`] reuse these functions
//! rather than copying them.
//!
//! Deletion is three steps, and every function here keeps to them: (1) the caller CASes the
//! node's activity word to the tombstone (the linearization point, in the store), (2) the
//! mark goes on the node's `next` ([`MARKED`]), which freezes it, (3) a CAS on the
//! predecessor's link unlinks it, and the one thread whose CAS succeeded hands it to the epoch
//! collector.

use crate::activity::Activity;
use crate::id::SessionId;
use crate::session::UserId;
use crate::sync::Ordering;
use crate::time::Tick;
use crossbeam_epoch::{Atomic, Guard, Owned, Shared};

/// The tag bit on a node's `next` that says the node is being physically deleted.
pub(crate) const MARKED: usize = 1;

/// One node of the list: a session, or a bucket's sentinel.
pub(crate) struct Node {
    /// The split-order key: the bit-reversed hash, odd for a session ([`session_key`]), even
    /// for a sentinel ([`sentinel_key`]), so no session ever ties with a sentinel.
    pub(crate) key: u64,
    /// The session id (a sentinel's is a fixed, unused one). Breaks ties between sessions
    /// whose hashes are equal.
    pub(crate) id: SessionId,
    /// The session's user. Immutable.
    pub(crate) user: UserId,
    /// The session's activity word. A sentinel's is never read or written: every operation
    /// tells a sentinel by its key before it looks at the word.
    pub(crate) activity: Activity,
    /// The successor, tagged [`MARKED`] once this node is being unlinked. A sentinel's is
    /// never marked.
    pub(crate) next: Atomic<Node>,
}

/// The split-order key of a session whose id hashes to `hash`: the hash with its top bit set,
/// bit-reversed. Reversal puts the bucket bits (the *low* bits of the hash) at the top, so
/// sorting by key groups a bucket's sessions together, and the set top bit becomes the low bit:
/// odd, after its bucket's sentinel (same top bits, low bit 0).
pub(crate) fn session_key(hash: u64) -> u64 {
    (hash | 1 << 63).reverse_bits()
}

/// The split-order key of bucket `bucket`'s sentinel: the bucket index bit-reversed (even,
/// since indices stay below 2^63).
pub(crate) fn sentinel_key(bucket: usize) -> u64 {
    (bucket as u64).reverse_bits()
}

impl Node {
    /// A session node, not yet linked.
    pub(crate) fn session(key: u64, id: SessionId, user: UserId, now: Tick) -> Self {
        Self { key, id, user, activity: Activity::new(now), next: Atomic::null() }
    }

    /// Bucket `bucket`'s sentinel, not yet linked.
    pub(crate) fn sentinel(bucket: usize) -> Self {
        Self {
            key: sentinel_key(bucket),
            id: SessionId::fixed(0),
            user: UserId(0),
            activity: Activity::new(0),
            next: Atomic::null(),
        }
    }

    /// Whether this node is a bucket's sentinel (never removed, holds no session).
    pub(crate) fn is_sentinel(&self) -> bool {
        self.key & 1 == 0
    }

    /// Whether this node is the session `(key, id)`.
    pub(crate) fn is(&self, key: u64, id: &SessionId) -> bool {
        self.key == key && self.id == *id
    }

    /// Whether this node sorts at or after the session `(key, id)`.
    pub(crate) fn at_or_after(&self, key: u64, id: &SessionId) -> bool {
        self.key > key || (self.key == key && self.id >= *id)
    }
}

/// Where a walk stopped: `prev` is an unmarked link and `curr` the pointer it held when read
/// (null, or the node the walk stopped at).
pub(crate) struct Position<'g> {
    /// The link to CAS to insert before `curr` or to unlink `curr`.
    pub(crate) prev: &'g Atomic<Node>,
    /// The node the walk stopped at, or null at the end of the list.
    pub(crate) curr: Shared<'g, Node>,
}

/// What a [`walk`] does with an unmarked node.
pub(crate) enum Step {
    /// Stop here: the walk returns this node's position.
    Stop,
    /// Go on to the next node.
    Pass,
    /// The caller has just tombstoned this node: mark it, unlink it, go on.
    Delete,
}

/// Walks the list from the sentinel `start`, asking `visit` about each unmarked node, and
/// unlinks every marked node it meets (those `visit` asked to delete included). Returns where
/// `visit` said [`Step::Stop`], or the end of the list.
///
/// After a lost unlink race it restarts from the last sentinel it passed (sentinels are never
/// removed, so their link is always in the list), so `visit` may see a node twice: it must be
/// idempotent (a second tombstone CAS fails, so a sweep still counts each removal once).
pub(crate) fn walk<'g>(
    start: &'g Node,
    guard: &'g Guard,
    mut visit: impl FnMut(&Node) -> Step,
) -> Position<'g> {
    let mut cursor = Cursor::new(start, guard);
    loop {
        if let Some(stop) = cursor.step(guard, &mut visit) {
            return stop;
        }
    }
}

/// A [`walk`] taken one node at a time, so that a caller can interleave several walks (the
/// sweep does: their cache misses overlap).
pub(crate) struct Cursor<'g> {
    /// The last sentinel passed: where the walk restarts after a lost unlink race.
    anchor: &'g Node,
    /// An unmarked link, as in [`Position`].
    prev: &'g Atomic<Node>,
    /// The pointer `prev` held when read.
    curr: Shared<'g, Node>,
}

impl<'g> Cursor<'g> {
    /// A walk about to visit the first node after the sentinel `start`.
    pub(crate) fn new(start: &'g Node, guard: &'g Guard) -> Self {
        let prev = &start.next;
        // Acquire: we read the node it points to, whose fields were written before the
        // Release CAS that published it (insert) or moved it here (unlink).
        Self { anchor: start, prev, curr: prev.load(Ordering::Acquire, guard) }
    }

    /// One step of the walk: visits the current node if it is unmarked (and moves past it,
    /// unless `visit` says stop), or unlinks it if it is marked. `Some` when the walk is over:
    /// where `visit` said [`Step::Stop`], or the end of the list.
    pub(crate) fn step(
        &mut self,
        guard: &'g Guard,
        visit: &mut impl FnMut(&Node) -> Step,
    ) -> Option<Position<'g>> {
        let (prev, curr) = (self.prev, self.curr);
        // SAFETY: `curr` was loaded under `guard` from a link we reached under `guard`, so it
        // is null or a node that is not freed before `guard` drops (epoch reclamation: it was
        // in the list at some instant while we were pinned).
        let Some(node) = (unsafe { curr.as_ref() }) else {
            return Some(Position { prev, curr });
        };
        // Acquire: the successor's fields are read next (same reason as in `new`).
        let mut succ = node.next.load(Ordering::Acquire, guard);
        prefetch(succ);
        if succ.tag() != MARKED {
            match visit(node) {
                Step::Stop => return Some(Position { prev, curr }),
                Step::Pass => {
                    if node.is_sentinel() {
                        self.anchor = node;
                    }
                    (self.prev, self.curr) = (&node.next, succ);
                    return None;
                }
                // The caller tombstoned it (step 1); step 2, the mark. AcqRel: see
                // `mark_and_unlink`.
                Step::Delete => succ = node.next.fetch_or(MARKED, Ordering::AcqRel, guard),
            }
        }
        // Step 3, physical deletion of a marked node. The expected value is `curr` unmarked,
        // so the CAS fails if `prev`'s own node has been marked meanwhile: we never write into
        // a marked node's link.
        // Release: readers of `prev` go on to read `succ`'s fields, published to us by our
        // Acquire load of `node.next`; Release passes that on.
        // Relaxed on failure: we restart and reload with Acquire.
        let unmarked = succ.with_tag(0);
        match prev.compare_exchange(curr, unmarked, Ordering::Release, Ordering::Relaxed, guard) {
            Ok(_) => {
                // SAFETY: our CAS unlinked `curr`, so no new walk can reach it and no other
                // thread unlinks it again (its only link now skips it); walks already holding
                // it are pinned, and the collector frees it only after they unpin.
                unsafe { guard.defer_destroy(curr) };
                self.curr = unmarked;
            }
            // Restart from the last sentinel passed (never removed, so still linked).
            Err(_) => *self = Self::new(self.anchor, guard),
        }
        None
    }
}

/// Asks the CPU to start bringing `node` into cache, so that its miss overlaps whatever the
/// caller does before it reads the node. The sweep interleaves several walks: each walk's
/// next node is fetched while the others take their steps, including their CASes, which on
/// x86 wait for earlier loads but never for a prefetch. A hint only: it reads nothing the
/// program sees and never faults, so any pointer will do, null or freed (no `Ordering`
/// applies, and loom has nothing to model).
#[inline(always)]
fn prefetch(node: Shared<'_, Node>) {
    // SAFETY: `_mm_prefetch` needs the `sse` target feature, which every x86_64 CPU has (it
    // is in the x86_64 baseline that rustc compiles for). It does not dereference its
    // argument in the program's sense: a prefetch of any address, even an unmapped one, has
    // no effect but on the cache.
    #[cfg(target_arch = "x86_64")]
    unsafe {
        std::arch::x86_64::_mm_prefetch::<{ std::arch::x86_64::_MM_HINT_T0 }>(
            node.with_tag(0).as_raw().cast(),
        );
    }
    #[cfg(not(target_arch = "x86_64"))]
    let _ = node;
}

/// The Harris–Michael search: the first unmarked node at or after the session `(key, id)`,
/// from the sentinel `start` (which must sort before it), unlinking every marked node on the
/// way.
pub(crate) fn search<'g>(
    start: &'g Node,
    key: u64,
    id: &SessionId,
    guard: &'g Guard,
) -> Position<'g> {
    walk(start, guard, |node| if node.at_or_after(key, id) { Step::Stop } else { Step::Pass })
}

/// The node `(key, id)` if one is reachable from `start`, marked or not, without helping
/// anyone: a read-only walk. A marked node is tombstoned, so touching it fails as it should.
pub(crate) fn lookup<'g>(
    start: &'g Node,
    key: u64,
    id: &SessionId,
    guard: &'g Guard,
) -> Option<&'g Node> {
    // Acquire on every link: we read the node it points to (see `walk`).
    let mut curr = start.next.load(Ordering::Acquire, guard);
    // SAFETY: as in `walk`: loaded under `guard` from a link reached under `guard`. `as_ref`
    // ignores the tag, so a marked predecessor's link is followed like any other: every node
    // reached this way was in the list at some instant during the walk.
    while let Some(node) = unsafe { curr.as_ref() } {
        if node.at_or_after(key, id) {
            return node.is(key, id).then_some(node);
        }
        curr = node.next.load(Ordering::Acquire, guard);
    }
    None
}

/// Links `new` at its place after `start`, or finds the unmarked node already there with the
/// same key and id. `Ok` is the linked node; `Err` gives back the node found and `new`.
pub(crate) fn link<'g>(
    start: &'g Node,
    mut new: Owned<Node>,
    guard: &'g Guard,
) -> Result<Shared<'g, Node>, (&'g Node, Owned<Node>)> {
    loop {
        let at = search(start, new.key, &new.id, guard);
        // SAFETY: `search` returns a pointer loaded under `guard` (see `walk`).
        if let Some(node) = unsafe { at.curr.as_ref() }.filter(|node| node.is(new.key, &new.id)) {
            return Err((node, new));
        }
        // Relaxed: the node is still private; the CAS below publishes it.
        new.next.store(at.curr, Ordering::Relaxed);
        // Release: publishes the node's fields (key, id, user, activity, next) to every thread
        // that reaches it by an Acquire load. Relaxed on failure: we search again.
        match at.prev.compare_exchange(at.curr, new, Ordering::Release, Ordering::Relaxed, guard) {
            Ok(linked) => return Ok(linked),
            Err(lost) => new = lost.new,
        }
    }
}

/// Steps 2 and 3 of a deletion, for a node this thread tombstoned at `at` (found by a search
/// from `start`): mark it, try the one CAS that unlinks it, and if another thread changed
/// `at.prev` meanwhile, search again from `start`, which unlinks every marked node on the way
/// (ours included, or someone helped).
pub(crate) fn mark_and_unlink(start: &Node, at: Position<'_>, guard: &Guard) {
    // SAFETY: the caller found `at.curr` non-null under `guard`.
    let node = unsafe { at.curr.deref() };
    // AcqRel: Acquire because we read the successor's fields through the returned pointer
    // (see `walk`); Release so that whoever sees the mark also sees our tombstone
    // (marked => tombstoned, on every thread).
    let succ = node.next.fetch_or(MARKED, Ordering::AcqRel, guard).with_tag(0);
    // Release / Relaxed: as for the unlink in `walk`.
    match at.prev.compare_exchange(at.curr, succ, Ordering::Release, Ordering::Relaxed, guard) {
        // SAFETY: as in `walk`: our CAS unlinked it, walks holding it are pinned.
        Ok(_) => unsafe { guard.defer_destroy(at.curr) },
        Err(_) => {
            search(start, node.key, &node.id, guard);
        }
    }
}

/// Links `sentinel` (a bucket's sentinel, in its directory slot, not yet reachable) at its
/// place after `start`: a CAS like [`link`]'s, retried until it lands. The caller must have
/// claimed the slot, so no other thread writes the sentinel's `next` and no other copy of its
/// key is linked. The correct way to initialise a bucket (the mutant
/// [`crate::check::mutants::BlindSentinelStore`] replaces it).
pub(crate) fn link_sentinel<'g>(start: &'g Node, sentinel: &'g Node, guard: &'g Guard) {
    let new = Shared::from(sentinel as *const Node);
    loop {
        let at = search(start, sentinel.key, &sentinel.id, guard);
        debug_assert!(at.curr != new, "a claimed sentinel is linked once");
        // Relaxed: the sentinel is not reachable yet (only its claimant writes it); the CAS
        // below publishes it.
        sentinel.next.store(at.curr, Ordering::Relaxed);
        // Release: publishes the sentinel's `next` (and its key, which came with its segment)
        // to every thread that reaches it by an Acquire load. Relaxed on failure: we search
        // again.
        if at
            .prev
            .compare_exchange(at.curr, new, Ordering::Release, Ordering::Relaxed, guard)
            .is_ok()
        {
            return;
        }
    }
}
