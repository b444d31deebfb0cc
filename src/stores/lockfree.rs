//! `LockFreeStore`: a fixed array of Harris–Michael lock-free sorted lists, reclaimed with
//! [`crossbeam_epoch`].
//!
//! **Technique.** The id's hash picks one of a fixed, power-of-two number of buckets (sized
//! once from [`Config::capacity`], at least [`MIN_BUCKETS`]). Each bucket is a singly linked
//! list of nodes sorted by id. A node holds the id, the user and the session's [`Activity`]
//! word, and a `next` pointer whose lowest bit is the *mark* (crossbeam-epoch's pointer tags).
//! Nothing ever takes a lock:
//!
//! * *touch* walks the list to the id and CASes the activity word (`Activity::touch`): a
//!   read-only walk, it writes no shared memory but the one word.
//! * *insert* finds the link where the id belongs and CASes a new node into it.
//! * *remove* and *sweep* delete in three steps: (1) CAS the activity word to the tombstone,
//!   (2) set the mark on the node's `next`, (3) CAS the predecessor's link past the node and
//!   hand the node to the epoch collector ([`Guard::defer_destroy`]).
//!
//! **How the tombstone and the mark fit together.** Step 1 is the removal's *linearization
//! point*: it decides, by one CAS on one word, who removed the session (exactly one of two
//! removes, or of a remove and a sweep, succeeds) and that no touch succeeds after it. From
//! then on the node is *absent* to every operation: touch fails on the word, remove returns
//! `None`, insert treats the id as free, `len` does not count it. Steps 2 and 3 are the
//! *physical* deletion, which anyone who meets the node may finish (helping): the mark freezes
//! the node's `next` (every CAS on a link expects an unmarked pointer, so nothing can be
//! inserted after a marked node nor can its successor be unlinked through it), and only a
//! marked node is ever unlinked. An insert that finds a tombstoned but unmarked node with its
//! id sets the mark itself, so the old node is unlinked before the new one goes in. Hence the
//! invariants:
//!
//! * marked ⇒ tombstoned; a node is unlinked only after it is marked, and exactly once (the
//!   unlinking CAS succeeds for one thread, and that thread alone defers its destruction);
//! * the reachable nodes of a bucket are sorted by id with no id twice, so "the node for this
//!   id" is well defined, and the unlink step can only remove the very node that was
//!   tombstoned (it CASes by pointer, not by id): a new session that reuses the id is a new
//!   node and is never unlinked by the old removal;
//! * every node a walk reaches was in the list at some instant during the walk, even if it
//!   has been unlinked since (an unlinked node is marked, so its `next` is frozen at a
//!   successor that was unlinked later still). This is why touch may walk without helping.
//!
//! **Why marking is needed at all (the Harris insight).** Without the mark, "unlink B" is a
//! CAS on A's link while "insert C after B" is a CAS on B's link: different words, so both
//! succeed, and C hangs off a node that is no longer in the list: a lost insert. The
//! deliberately weakened copy [`UnmarkedUnlinkStore`](crate::check::mutants::UnmarkedUnlinkStore)
//! keeps exactly that bug, and the loom suite catches it (`loom-tests/lockfree.rs`).
//!
//! **ABA and reclamation.** A thread that has loaded a pointer to node B may be paused while
//! another thread unlinks B. If B's memory were freed at once, the paused thread would read
//! freed memory (use-after-free); if the allocator then handed the same address to a new node,
//! the paused thread's CAS "A.next: B -> C" would succeed against a *different* node that
//! happens to live at B's address (ABA) and corrupt the list. Epoch-based reclamation removes
//! both problems at the source: every operation runs *pinned* (it holds a [`Guard`]), and an
//! unlinked node is only freed once every thread that was pinned when it was unlinked has
//! unpinned. A pointer loaded under a guard therefore stays valid, and its address cannot be
//! reused, for as long as the guard lives.
//!
//! **Cost.** Every operation pins (a thread-local epoch announcement with a `SeqCst` fence, a
//! few nanoseconds) and hashes the id (keyed SipHash, as in the other stores). Every insert
//! allocates one node (40 bytes: id 16, user 8, activity 8, next 8), and every removal frees
//! one later, in a batch, on whichever thread advances the epoch. Reads chase one pointer per
//! node in the bucket, a cache miss each where a `HashMap` probes a flat table. A thread that
//! stays pinned (a slow reader) delays every free: memory grows, correctness does not suffer.
//! `len` walks every bucket (O(n + buckets)): there is no shared counter, because a counter
//! every insert and remove had to update would be the one contended cache line this design
//! exists to avoid.
//!
//! Measured (release build, one thread, a loaded 2-core VM, one run each, ratios from the same
//! run): a touch takes 1.13x the mutex store's time with 1k sessions and 1.69x with 100k (the
//! pointer chase misses the cache where a `HashMap` probe hits its flat table). At 1M sessions
//! with a 1M capacity hint it allocates 48.4 bytes per session (the 40-byte node and 8 bytes
//! of bucket array), 0.70x the sharded store's 69.2; bytes requested, so malloc's per-node
//! header (about 8 bytes) comes on top, where a `HashMap`'s one big table pays it once.
//!
//! **Where it breaks.** The bucket array never grows: with many more sessions than buckets the
//! lists get long and every operation walks them (the capacity hint really matters). Resizing
//! without locks needs split-ordered lists (Shalev & Shavit), which this store does not do.
//!
//! **Memory orderings** are justified where they occur. The short version: a node's fields are
//! written before it is published by a `Release` CAS, and every load of a link that is followed
//! by reading the node it points to is `Acquire`; CASes whose failure only leads to a retry
//! (which reloads with `Acquire`) fail with `Relaxed`.
//!
//! **Under loom** (`RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`) the store owns an explicit
//! [`Collector`](crossbeam_epoch::Collector) instead of the process-wide one, so each model
//! starts from an empty collector (each loom thread registers with it once, in a loom
//! thread-local), and it has a single bucket so that every scenario's ids share one list: the
//! list is what is worth model checking, not the hash.

use crate::activity::Activity;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{Ordering, SessionHasher};
use crate::time::Tick;
use crossbeam_epoch::{Atomic, Guard, Owned, Shared};
use std::cmp;
use std::hash::BuildHasher;

/// The fewest buckets a store gets, whatever the capacity hint: a store without a hint still
/// holds a few thousand sessions in short lists. One bucket under loom (see the module docs).
pub(crate) const MIN_BUCKETS: usize = if cfg!(loom) { 1 } else { 1024 };

/// The most buckets a store gets (2^26 links, 512 MiB), whatever the hint.
const MAX_BUCKETS: usize = if cfg!(loom) { 1 } else { 1 << 26 };

/// The tag bit on a node's `next` that says the node is being physically deleted.
pub(crate) const MARKED: usize = 1;

/// One session in a bucket's list.
pub(crate) struct Node {
    pub(crate) id: SessionId,
    pub(crate) user: UserId,
    pub(crate) activity: Activity,
    /// The successor, tagged [`MARKED`] once this node is being unlinked.
    pub(crate) next: Atomic<Node>,
}

/// Where a search stopped: `prev` is an unmarked link and `curr` the pointer it held when read
/// (null, or the first node at or after the key).
pub(crate) struct Position<'g> {
    pub(crate) prev: &'g Atomic<Node>,
    pub(crate) curr: Shared<'g, Node>,
}

/// What a [`LockFreeStore::walk`] does with an unmarked node.
pub(crate) enum Step {
    /// Stop here: the walk returns this node's position.
    Stop,
    /// Go on to the next node.
    Pass,
    /// The caller has just tombstoned this node: mark it, unlink it, go on.
    Delete,
}

/// Who tracks epochs. Normally the process-wide collector (`crossbeam_epoch::pin`: a
/// thread-local handle, nothing to allocate per call).
#[cfg(not(crossbeam_loom))]
pub(crate) struct Epochs;

#[cfg(not(crossbeam_loom))]
impl Epochs {
    fn new() -> Self {
        Self
    }

    pub(crate) fn pin(&self) -> Guard {
        crossbeam_epoch::pin()
    }
}

/// Under crossbeam's loom mode, an explicit collector per store, so a model owns all of its
/// epoch state, with one handle per (loom) thread kept in a loom thread-local. Registering a
/// handle per call instead costs a registration, a first-pin collection and a finalisation
/// per operation, all of which loom explores: 473k executions instead of 3.2k for the
/// two-sweeps scenario. (The one place outside `sync` that names loom: it exists only in
/// crossbeam's loom mode, and only this store needs it.)
#[cfg(crossbeam_loom)]
pub(crate) struct Epochs(crossbeam_epoch::Collector);

#[cfg(crossbeam_loom)]
impl Epochs {
    fn new() -> Self {
        Self(crossbeam_epoch::Collector::new())
    }

    pub(crate) fn pin(&self) -> Guard {
        use crossbeam_epoch::LocalHandle;
        use std::cell::RefCell;
        loom::thread_local! {
            static HANDLES: RefCell<Vec<LocalHandle>> = RefCell::new(Vec::new());
        }
        HANDLES.with(|handles| {
            let mut handles = handles.borrow_mut();
            if let Some(handle) = handles.iter().find(|h| h.collector() == &self.0) {
                return handle.pin();
            }
            let handle = self.0.register();
            let guard = handle.pin();
            handles.push(handle);
            guard
        })
    }
}

/// A lock-free store: a fixed array of Harris–Michael sorted lists on crossbeam-epoch.
pub struct LockFreeStore {
    ttl: u64,
    hasher: SessionHasher,
    /// `buckets.len() - 1`; the length is a power of two.
    mask: u64,
    buckets: Box<[Atomic<Node>]>,
    epochs: Epochs,
}

impl LockFreeStore {
    /// An empty store built from `config`, with [`Config::capacity`] buckets rounded up to a
    /// power of two (at least 1024; one under loom).
    pub fn new(config: &Config) -> Self {
        let count = config.capacity.clamp(MIN_BUCKETS, MAX_BUCKETS).next_power_of_two();
        Self {
            ttl: config.ttl,
            hasher: SessionHasher::default(),
            mask: count as u64 - 1,
            buckets: (0..count).map(|_| Atomic::null()).collect(),
            epochs: Epochs::new(),
        }
    }

    /// How many buckets (lists) this store has.
    pub fn bucket_count(&self) -> usize {
        self.buckets.len()
    }

    /// Pins the current thread: pointers loaded under the guard stay valid while it lives.
    pub(crate) fn pin(&self) -> Guard {
        self.epochs.pin()
    }

    /// The head link of `id`'s bucket.
    pub(crate) fn bucket(&self, id: &SessionId) -> &Atomic<Node> {
        // `mask < buckets.len() <= usize::MAX`, so the masked hash fits in a usize.
        &self.buckets[(self.hasher.hash_one(id) & self.mask) as usize]
    }

    /// The Harris–Michael search: the first unmarked node in `head`'s list whose id is at
    /// least `key`, unlinking every marked node on the way.
    pub(crate) fn search<'g>(
        &'g self,
        head: &'g Atomic<Node>,
        key: &SessionId,
        guard: &'g Guard,
    ) -> Position<'g> {
        self.walk(head, guard, |node| if node.id >= *key { Step::Stop } else { Step::Pass })
    }

    /// Walks `head`'s list, asking `visit` about each unmarked node, and unlinks every marked
    /// node it meets (those `visit` asked to delete included). Returns where `visit` said
    /// [`Step::Stop`], or the end of the list. After a lost unlink race it restarts from the
    /// head, so `visit` may see a node twice: it must be idempotent (a second tombstone CAS
    /// fails, so a sweep still counts each removal once).
    fn walk<'g>(
        &'g self,
        head: &'g Atomic<Node>,
        guard: &'g Guard,
        mut visit: impl FnMut(&Node) -> Step,
    ) -> Position<'g> {
        'restart: loop {
            let mut prev = head;
            // Acquire: we read the node it points to, whose fields were written before the
            // Release CAS that published it (insert) or moved it here (unlink).
            let mut curr = prev.load(Ordering::Acquire, guard);
            loop {
                // SAFETY: `curr` was loaded under `guard` from a link we reached under
                // `guard`, so it is null or a node that is not freed before `guard` drops
                // (epoch reclamation: it was in the list at some instant while we were pinned).
                let Some(node) = (unsafe { curr.as_ref() }) else {
                    return Position { prev, curr };
                };
                // Acquire: the successor's fields are read next (same reason as above).
                let mut succ = node.next.load(Ordering::Acquire, guard);
                if succ.tag() != MARKED {
                    match visit(node) {
                        Step::Stop => return Position { prev, curr },
                        Step::Pass => {
                            prev = &node.next;
                            curr = succ;
                            continue;
                        }
                        // The caller tombstoned it (step 1); step 2, the mark. AcqRel: see
                        // `mark_and_unlink`.
                        Step::Delete => {
                            succ = node.next.fetch_or(MARKED, Ordering::AcqRel, guard);
                        }
                    }
                }
                // Step 3, physical deletion of a marked node. The expected value is `curr`
                // unmarked, so the CAS fails if `prev`'s own node has been marked meanwhile:
                // we never write into a marked node's link.
                // Release: readers of `prev` go on to read `succ`'s fields, published to us by
                // our Acquire load of `node.next`; Release passes that on.
                // Relaxed on failure: we restart and reload with Acquire.
                let unmarked = succ.with_tag(0);
                match prev.compare_exchange(
                    curr,
                    unmarked,
                    Ordering::Release,
                    Ordering::Relaxed,
                    guard,
                ) {
                    Ok(_) => {
                        // SAFETY: our CAS unlinked `curr`, so no new walk can reach it and no
                        // other thread unlinks it again (its only link now skips it); walks
                        // already holding it are pinned, and the collector frees it only
                        // after they unpin.
                        unsafe { guard.defer_destroy(curr) };
                        curr = unmarked;
                    }
                    Err(_) => continue 'restart,
                }
            }
        }
    }

    /// The node for `id` if one is reachable, marked or not, without helping anyone: a
    /// read-only walk. A marked node is tombstoned, so touching it fails as it should.
    fn lookup<'g>(&'g self, id: &SessionId, guard: &'g Guard) -> Option<&'g Node> {
        // Acquire on every link: we read the node it points to (see `search`).
        let mut curr = self.bucket(id).load(Ordering::Acquire, guard);
        // SAFETY: as in `search`: loaded under `guard` from a link reached under `guard`.
        // `as_ref` ignores the tag, so a marked predecessor's link is followed like any other.
        while let Some(node) = unsafe { curr.as_ref() } {
            match node.id.cmp(id) {
                cmp::Ordering::Less => curr = node.next.load(Ordering::Acquire, guard),
                cmp::Ordering::Equal => return Some(node),
                cmp::Ordering::Greater => return None,
            }
        }
        None
    }

    /// Steps 2 and 3 of a deletion, for a node this thread tombstoned at `at`: mark it, try
    /// the one CAS that unlinks it, and if another thread changed `at.prev` meanwhile, search
    /// again, which unlinks every marked node on the way (ours included, or someone helped).
    fn mark_and_unlink(&self, at: Position<'_>, guard: &Guard) {
        // SAFETY: the caller found `at.curr` non-null under `guard`.
        let node = unsafe { at.curr.deref() };
        // AcqRel: Acquire because we read the successor's fields through the returned pointer
        // (see `search`); Release so that whoever sees the mark also sees our tombstone
        // (marked => tombstoned, on every thread).
        let succ = node.next.fetch_or(MARKED, Ordering::AcqRel, guard).with_tag(0);
        // Release / Relaxed: as for the unlink in `search`.
        match at.prev.compare_exchange(at.curr, succ, Ordering::Release, Ordering::Relaxed, guard) {
            // SAFETY: as in `search`: our CAS unlinked it, walks holding it are pinned.
            Ok(_) => unsafe { guard.defer_destroy(at.curr) },
            Err(_) => {
                self.search(self.bucket(&node.id), &node.id, guard);
            }
        }
    }
}

impl SessionStore for LockFreeStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let guard = self.pin();
        let head = self.bucket(&id);
        let mut new =
            Owned::new(Node { id, user, activity: Activity::new(now), next: Atomic::null() });
        loop {
            let at = self.search(head, &id, &guard);
            // SAFETY: `search` returns a pointer loaded under `guard` (see there).
            if let Some(node) = unsafe { at.curr.as_ref() }.filter(|node| node.id == id) {
                if node.activity.last_active().is_some() {
                    // Live or expired but not removed: insert never overwrites.
                    return Err(Occupied);
                }
                // Tombstoned but not yet marked: its remover is between steps 1 and 2. Mark it
                // for them (AcqRel: see `mark_and_unlink`) so the next search unlinks it and
                // the id's new node never shares the list with the old one.
                node.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
                continue;
            }
            // Relaxed: the node is still private; the CAS below publishes it.
            new.next.store(at.curr, Ordering::Relaxed);
            // Release: publishes the node's fields (id, user, activity, next) to every thread
            // that reaches it by an Acquire load. Relaxed on failure: we search again.
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
        let guard = self.pin();
        let at = self.search(self.bucket(id), id, &guard);
        // SAFETY: `search` returns a pointer loaded under `guard`.
        let node = unsafe { at.curr.as_ref() }.filter(|node| node.id == *id)?;
        // Step 1, the linearization point: of concurrent removers (and sweepers) exactly one
        // moves the word to the tombstone. A word already tombstoned means "absent".
        if !node.activity.tombstone() {
            return None;
        }
        let user = node.user;
        self.mark_and_unlink(at, &guard);
        Some(user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut swept = 0;
        for head in self.buckets.iter() {
            // One pin per bucket, not per sweep: a sweep over a million sessions must not
            // hold back every free in the process for its whole length.
            let guard = self.pin();
            // One walk does all three steps: tombstone each expired node (step 1, counted
            // only if this CAS did it), and the walk marks and unlinks it, so each session
            // this sweep removed is out of the list when it returns.
            self.walk(head, &guard, |node| {
                if node.activity.tombstone_if_expired(self.ttl, now) {
                    swept += 1;
                    Step::Delete
                } else {
                    Step::Pass
                }
            });
        }
        swept
    }

    fn len(&self) -> usize {
        let mut len = 0;
        for head in self.buckets.iter() {
            let guard = self.pin();
            // Acquire: see `search`.
            let mut curr = head.load(Ordering::Acquire, &guard);
            // SAFETY: as in `lookup`.
            while let Some(node) = unsafe { curr.as_ref() } {
                // Tombstoned nodes (marked ones included) are absent. Ids are unique among
                // untombstoned reachable nodes, so nothing is counted twice.
                len += usize::from(node.activity.last_active().is_some());
                curr = node.next.load(Ordering::Acquire, &guard);
            }
        }
        len
    }
}

impl Drop for LockFreeStore {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other thread can reach the store, so nobody walks the
        // lists and no guard can be watching these nodes; every node still linked is owned by
        // the list alone (unlinked nodes belong to the collector and are not reachable from
        // the buckets), so each is freed exactly once here.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        for head in self.buckets.iter() {
            // Relaxed: `&mut self` already orders every earlier access before this one.
            let mut curr = head.load(Ordering::Relaxed, guard);
            while !curr.is_null() {
                // SAFETY: non-null, linked, owned by the list (see above).
                let owned = unsafe { curr.with_tag(0).into_owned() };
                curr = owned.next.load(Ordering::Relaxed, guard);
                drop(owned);
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn store(ttl: u64) -> LockFreeStore {
        LockFreeStore::new(&Config::new(ttl))
    }

    /// A store with one bucket: every id shares a list, so list order and unlinking matter.
    fn one_list(ttl: u64) -> LockFreeStore {
        let mut store = store(ttl);
        store.buckets = vec![Atomic::null()].into_boxed_slice();
        store.mask = 0;
        store
    }

    fn ids_in_list(store: &LockFreeStore) -> Vec<SessionId> {
        let guard = store.pin();
        let mut ids = Vec::new();
        let mut curr = store.buckets[0].load(Ordering::Acquire, &guard);
        // SAFETY: loaded under `guard`.
        while let Some(node) = unsafe { curr.as_ref() } {
            ids.push(node.id);
            curr = node.next.load(Ordering::Acquire, &guard);
        }
        ids
    }

    #[test]
    fn bucket_count_follows_the_capacity_hint() {
        assert_eq!(store(1).bucket_count(), MIN_BUCKETS);
        let big = LockFreeStore::new(&Config::new(1).with_capacity(5000));
        assert_eq!(big.bucket_count(), 8192);
    }

    #[test]
    fn lists_stay_sorted_and_unique() {
        let store = one_list(100);
        for n in [5, 1, 9, 3, 7] {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        assert_eq!(store.insert(SessionId::fixed(3), UserId(0), 0), Err(Occupied));
        let expected: Vec<_> = [1, 3, 5, 7, 9].map(SessionId::fixed).to_vec();
        assert_eq!(ids_in_list(&store), expected);
        assert_eq!(store.remove(&SessionId::fixed(5)), Some(UserId(5)));
        assert_eq!(store.remove(&SessionId::fixed(5)), None);
        let expected: Vec<_> = [1, 3, 7, 9].map(SessionId::fixed).to_vec();
        assert_eq!(ids_in_list(&store), expected, "remove unlinks the node");
        assert_eq!(store.len(), 4);
    }

    #[test]
    fn sweep_tombstones_then_unlinks_only_expired_nodes() {
        let store = one_list(10);
        for n in 1..=6 {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        for n in [2, 4] {
            assert_eq!(store.touch(&SessionId::fixed(n), 5), Some(UserId(n)));
        }
        assert_eq!(store.sweep(10), 4);
        assert_eq!(ids_in_list(&store), vec![SessionId::fixed(2), SessionId::fixed(4)]);
        assert_eq!(store.sweep(10), 0, "a sweep counts only what it tombstoned");
        assert_eq!(store.touch(&SessionId::fixed(2), 14), Some(UserId(2)));
        assert_eq!(store.touch(&SessionId::fixed(1), 10), None);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_tombstoned_node_is_absent_and_its_id_reusable() {
        let store = one_list(100);
        let id = SessionId::fixed(2);
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        store.insert(id, UserId(2), 0).unwrap();
        store.insert(SessionId::fixed(3), UserId(3), 0).unwrap();
        // A remover stopped between step 1 (tombstone) and step 2 (mark).
        let guard = store.pin();
        let node = store.lookup(&id, &guard).unwrap();
        assert!(node.activity.tombstone());
        assert_eq!(store.touch(&id, 1), None);
        assert_eq!(store.remove(&id), None);
        assert_eq!(store.len(), 2);
        // Insert helps: it marks and unlinks the old node, then links a new one.
        store.insert(id, UserId(20), 1).unwrap();
        drop(guard);
        assert_eq!(ids_in_list(&store), [1, 2, 3].map(SessionId::fixed).to_vec());
        assert_eq!(store.touch(&id, 2), Some(UserId(20)));
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn marked_nodes_are_unlinked_by_any_search() {
        let store = one_list(100);
        for n in 1..=3 {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        // A remover stopped between step 2 (mark) and step 3 (unlink).
        let guard = store.pin();
        let node = store.lookup(&SessionId::fixed(2), &guard).unwrap();
        assert!(node.activity.tombstone());
        node.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
        assert_eq!(store.len(), 2);
        assert_eq!(store.touch(&SessionId::fixed(3), 1), Some(UserId(3)), "walks past it");
        store.insert(SessionId::fixed(4), UserId(4), 0).unwrap();
        assert_eq!(ids_in_list(&store), [1, 3, 4].map(SessionId::fixed).to_vec());
    }

    #[test]
    fn concurrent_inserts_removes_and_sweeps_on_real_threads() {
        use crate::sync::{AtomicUsize, Ordering::Relaxed};
        // Conservation: every successful insert ends as exactly one successful remove, one
        // sweep count, or one session still stored. A lost insert, a double removal or a
        // resurrection breaks the sum.
        let store = LockFreeStore::new(&Config::new(50));
        let inserted = AtomicUsize::new(0);
        let removed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (store, inserted, removed) = (&store, &inserted, &removed);
                s.spawn(move || {
                    for i in 0..5_000u64 {
                        let id = SessionId::fixed(i % 300);
                        match (i + t) % 4 {
                            0 | 1 => {
                                if store.insert(id, UserId(t), i).is_ok() {
                                    inserted.fetch_add(1, Relaxed);
                                }
                            }
                            2 => {
                                if store.remove(&id).is_some() {
                                    removed.fetch_add(1, Relaxed);
                                }
                            }
                            _ => {
                                let _ = store.touch(&id, i);
                            }
                        }
                        if i % 500 == 0 {
                            removed.fetch_add(store.sweep(i), Relaxed);
                        }
                    }
                });
            }
        });
        let len = store.len();
        assert!(inserted.load(Relaxed) > 300, "the run exercised reuse of ids");
        assert_eq!(inserted.load(Relaxed), removed.load(Relaxed) + len);
        assert_eq!(store.sweep(u64::MAX - 1), len);
        assert_eq!(store.len(), 0);
        let guard = store.pin();
        assert!(store.buckets.iter().all(|head| head.load(Ordering::Acquire, &guard).is_null()));
    }
}
