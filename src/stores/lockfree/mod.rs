//! `LockFreeStore`: a split-ordered list (Shalev & Shavit, 2006), a lock-free hash table that
//! grows without ever moving a node: one Harris–Michael list, reclaimed with
//! [`crossbeam_epoch`], and a bucket directory of shortcuts into it that doubles as sessions
//! arrive.
//!
//! **The list.** Every session is a node of one singly linked list, sorted by a *split-order
//! key*: the bits of the id's hash, reversed ([`list::session_key`]). Each bucket `b` has a
//! *sentinel* node whose key is `b` reversed ([`list::sentinel_key`]), and the bucket's
//! sessions are exactly the nodes between its sentinel and the next one. The directory
//! ([`directory`]) holds, for each bucket, a link to its sentinel, so an operation on an id
//! hashes it, takes bucket `hash mod size`, jumps to that sentinel and walks only the few
//! nodes of its bucket. Nothing ever takes a lock:
//!
//! * *touch* walks from the sentinel to the id and CASes the activity word
//!   (`Activity::touch`): a read-only walk, it writes no shared memory but the one word (and,
//!   once per bucket, the bucket's sentinel; see growth below).
//! * *insert* finds the link where the id belongs and CASes a new node into it.
//! * *remove* and *sweep* delete in three steps: (1) CAS the activity word to the tombstone,
//!   (2) set the mark on the node's `next`, (3) CAS the predecessor's link past the node and
//!   hand the node to the epoch collector ([`Guard::defer_destroy`]).
//!
//! **How the table grows.** Reversing the bits puts a hash's *low* bits at the top of its
//! key, so sorting by key sorts by bucket first, for every table size at once: bucket `b` of a
//! table of `2n` buckets is the second half of bucket `b mod n` of a table of `n`. Doubling the
//! table is therefore one CAS on the bucket count (`size`), and nothing moves. A new bucket
//! `b + n` is *initialised lazily*, by the first operation that needs it. Each bucket's sentinel
//! lives inside its directory slot (never allocated on its own: one cache miss fewer per
//! operation, see [`directory`]); the first operation to need the bucket claims the slot by
//! CAS, inserts the sentinel into the list by CAS, starting from its parent bucket `b`'s
//! sentinel (initialising the parent first if need be), and marks the slot linked. A thread
//! that finds the slot claimed but not yet linked does not wait: it walks from the parent's
//! sentinel, as a thread with a stale bucket count does.
//! Sessions with hashes 4, 6, 1, 3 and 7 (3 bits shown; `Sb` is bucket `b`'s sentinel):
//!
//! ```text
//! 2 buckets        dir[0]           dir[1]
//!                    |                |
//!                    v                v
//!          list:    S0 -> 4 -> 6 ---> S1 -> 1 -> 3 -> 7 -> null
//!
//! 4 buckets        dir[0]     dir[2]  dir[1]     dir[3]
//! (after one         |          |       |          |
//!  doubling and      v          v       v          v
//!  a use of 2, 3)   S0 -> 4 -> S2 -> 6 -> S1 -> 1 -> S3 -> 3 -> 7 -> null
//! ```
//!
//! (Key order is reversed-bit order: 0, 4, 2, 6, 1, 5, 3, 7.) The doubling spliced in two
//! sentinels; 6 and 3 did not move, their buckets now start closer to them. The directory is
//! a fixed table of segments that double in size ([`directory`]): growing allocates the next
//! segment (lazily, by whoever first needs one of its slots, published by CAS), and never
//! copies a slot.
//!
//! **When it grows.** Sessions are counted in a striped counter ([`count`]: one cache line per
//! thread, summed on demand), and every [`CHECK_EVERY`]th insert on a stripe compares the
//! total with [`LOAD_FACTOR`] × buckets and doubles when it is exceeded: a bucket holds
//! between 2 and 4 sessions on average. A capacity hint ([`Config::capacity`]) only pre-sets
//! the bucket count; the store is as correct and, once grown, as fast without one.
//!
//! **After a mass expiry** the directory does not shrink: the segments and the sentinels in
//! them stay, so a store that once held 1M sessions keeps a 64-byte slot per bucket (16 MiB
//! for its 262k buckets), and a sweep still walks the 262k sentinels (a quarter of a full
//! walk's nodes). Shrinking would mean unlinking sentinels that concurrent
//! operations may be standing on; Shalev and Shavit leave it out, and so does this store.
//! Touch, insert and remove cost what they did before the expiry: a bucket walk.
//!
//! **How the tombstone and the mark fit together.** Step 1 is the removal's *linearization
//! point*: it decides, by one CAS on one word, who removed the session (exactly one of two
//! removes, or of a remove and a sweep, succeeds) and that no touch succeeds after it. From
//! then on the node is *absent* to every operation: touch fails on the word, remove returns
//! `None`, insert treats the id as free, and the count no longer includes it. Steps 2 and 3
//! are the *physical* deletion, which anyone who meets the node may finish (helping): the
//! mark freezes the node's `next` (every CAS on a link expects an unmarked pointer, so nothing
//! can be inserted after a marked node nor can its successor be unlinked through it), and only
//! a marked node is ever unlinked. An insert that finds a tombstoned but unmarked node with
//! its id sets the mark itself, so the old node is unlinked before the new one goes in. Hence
//! the invariants:
//!
//! * marked ⇒ tombstoned; a node is unlinked only after it is marked, and exactly once (the
//!   unlinking CAS succeeds for one thread, and that thread alone defers its destruction);
//!   sentinels are never tombstoned, marked or unlinked, so a walk may always restart from
//!   the last sentinel it passed;
//! * the reachable nodes are sorted by (key, id) with no pair twice, so "the node for this
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
//! keeps exactly that bug; [`BlindSentinelStore`](crate::check::mutants::BlindSentinelStore) links a
//! new bucket's sentinel with a plain store instead of a CAS, and loses the session a
//! concurrent insert had just linked there. The loom suite catches both
//! (`loom-tests/lockfree.rs`).
//!
//! **ABA and reclamation.** A thread that has loaded a pointer to node B may be paused while
//! another thread unlinks B. If B's memory were freed at once, the paused thread would read
//! freed memory (use-after-free); if the allocator then handed the same address to a new node,
//! the paused thread's CAS "A.next: B -> C" would succeed against a *different* node that
//! happens to live at B's address (ABA) and corrupt the list. Epoch-based reclamation removes
//! both problems at the source: every operation runs *pinned* (it holds a [`Guard`]), and an
//! unlinked node is only freed once every thread that was pinned when it was unlinked has
//! unpinned. A pointer loaded under a guard therefore stays valid, and its address cannot be
//! reused, for as long as the guard lives. Sentinels (in the directory's segments) are never
//! unlinked and segments never freed or moved, so they need no epochs: they live, at one
//! address, until the store drops.
//!
//! **Cost.** Every operation pins (a thread-local epoch announcement with a `SeqCst` fence, a
//! few nanoseconds) and hashes the id (keyed SipHash, as in the other stores). A lookup then
//! reads the directory slot (the sentinel is in it: one cache line) and one to four session
//! nodes: two to five dependent cache misses once the table outgrows the cache, where a
//! `HashMap` probe takes one or two. Every insert allocates one 48-byte node (key 8, id 16, user 8, activity 8, next
//! 8), and every removal frees one later, in a batch, on whichever thread advances the epoch.
//! Each bucket adds a 64-byte slot holding its sentinel, 16 to 32 bytes per session, allocated
//! a segment at a time by the first operation that needs a bucket in it (the largest segment
//! at 1M sessions, 131072 slots, is 8 MiB written at once). A doubling costs one CAS; the new
//! buckets' sentinels are linked one at a time by the operations that first need them, each a
//! short walk, two CASes and a store, so no operation ever waits for a resize. A sweep walks the
//! whole list in key order, a pointer chase through memory in no particular order: a cache
//! miss per node at 1M sessions. It walks [`SWEEP_LANES`] ranges of the key space at once,
//! a node of each in turn, and each walk prefetches its next node as soon as it reads the
//! link to it, so that as many misses are in flight together (a CAS on x86 waits for the
//! loads before it, but not for a prefetch). A thread that stays pinned (a slow reader)
//! delays every free: memory grows, correctness does not suffer.
//! Measured numbers are in `BENCHMARKS.md` (the lock-free section).
//!
//! **Where it still breaks.** The directory never shrinks (see above). The sweep is a
//! pointer chase (a few of them interleaved), many times slower than walking a flat table. The count is striped over
//! 16 cache lines; with many more threads than that, inserts share lines again. A hash
//! function an attacker can predict would pile sessions into one bucket, as in any hash table;
//! the keyed SipHash prevents it.
//!
//! **Memory orderings** are justified where they occur. The short version: a node's fields are
//! written before it is published by a `Release` CAS, and every load of a link that is followed
//! by reading the node it points to is `Acquire`; the same holds for sentinels published in
//! directory slots and for segments published in the segment table. CASes whose failure only
//! leads to a retry (which reloads with `Acquire`) fail with `Relaxed`. The bucket count and
//! the session count are `Relaxed`: they publish no memory (see `bucket_start`).
//!
//! **Under loom** (`RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`) the store owns an explicit
//! [`Collector`](crossbeam_epoch::Collector) instead of the process-wide one, so each model
//! starts from an empty collector (each loom thread registers with it once, in a loom
//! thread-local); it starts with one bucket, doubles as soon as it holds more sessions than
//! buckets and stops at four, so a model with two or three sessions sees a resize in flight.

mod count;
mod directory;
mod epochs;
pub(crate) mod list;

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{AtomicUsize, Ordering, SessionHasher};
use crate::time::Tick;
use count::Count;
use crossbeam_epoch::{Guard, Owned};
use directory::{Directory, FIRST, MAX_BUCKETS};
use epochs::Epochs;
use list::{MARKED, Node, Step};
use std::hash::BuildHasher;

/// Sessions per bucket, on average, beyond which the table doubles (1 under loom).
pub const LOAD_FACTOR: usize = if cfg!(loom) { 1 } else { 4 };

/// An insert checks the load every this many inserts on its thread's stripe of the count (every
/// insert under loom): summing the stripes reads 16 cache lines, too many for every insert.
pub const CHECK_EVERY: usize = if cfg!(loom) { 1 } else { 32 };

/// A sweep re-pins after walking about this many sessions (each of its lanes walks its share and
/// stops at its next sentinel), so a sweep over a million sessions does not hold back every
/// free in the process for its whole length.
const SWEEP_CHUNK: usize = 256;

/// How many walks a sweep interleaves (a power of two; 2 under loom, so the models check two
/// lanes). One walk is a chain of dependent loads, a cache miss per node at 1M sessions; a
/// core that steps several independent chains in turn, each prefetching its next node, has
/// that many misses in flight. Measured at 1M sessions (`BENCHMARKS.md`, third round): 16
/// lanes with prefetching sweep in about half the time of 8 lanes without; 32 gave nothing
/// more.
const SWEEP_LANES: usize = if cfg!(loom) { 2 } else { 16 };

/// One of a sweep's interleaved walks: a range of split-order keys, and how far it has got.
struct SweepLane {
    /// The sentinel the lane's next walk starts from (a sentinel outlives every guard).
    from: *const Node,
    /// The first key of this lane's range: nodes before it belong to another lane (a lane
    /// whose own sentinel was still being linked starts from an ancestor's).
    start: u64,
    /// The first key of the next lane's range; `None` for the last lane (to the list's end).
    end: Option<u64>,
    /// The last session position `(key, id)` this lane has decided on. A node at or before it
    /// was decided already, or was inserted after this sweep's instant for its id (a new
    /// session under an id the lane has just swept lands at the same position): either way
    /// the sweep leaves it alone. Without this, one sweep could remove an id twice.
    decided: Option<(u64, SessionId)>,
    /// Whether the lane has walked its whole range.
    done: bool,
}

/// How a new bucket's sentinel (second argument, in its directory slot) is linked into the
/// list after the sentinel `start` (first argument): [`list::link_sentinel`], or a
/// deliberately broken stand-in for the mutants.
pub(crate) type SentinelLinker = for<'g> fn(&'g Node, &'g Node, &'g Guard);

/// A lock-free store that grows: a split-ordered Harris–Michael list on crossbeam-epoch.
pub struct LockFreeStore {
    ttl: u64,
    hasher: SessionHasher,
    /// The bucket count: a power of two, at least [`FIRST`], at most [`MAX_BUCKETS`]. Only
    /// ever doubles.
    size: AtomicUsize,
    directory: Directory,
    count: Count,
    link_sentinel: SentinelLinker,
    epochs: Epochs,
}

impl LockFreeStore {
    /// An empty store built from `config`. It grows as sessions arrive; a
    /// [`Config::capacity`] hint pre-sets the bucket count to fit that many sessions.
    pub fn new(config: &Config) -> Self {
        Self::with_sentinel_linker(config, list::link_sentinel)
    }

    /// [`new`](Self::new), with the way a bucket's sentinel is linked replaced (mutants).
    pub(crate) fn with_sentinel_linker(config: &Config, link_sentinel: SentinelLinker) -> Self {
        let wanted = (config.capacity / LOAD_FACTOR).clamp(FIRST, MAX_BUCKETS);
        let store = Self {
            ttl: config.ttl,
            hasher: SessionHasher::default(),
            size: AtomicUsize::new(wanted.next_power_of_two()),
            directory: Directory::new(),
            count: Count::new(),
            link_sentinel,
            epochs: Epochs::new(),
        };
        // Bucket 0's sentinel heads the list and is every other sentinel's ancestor: it is
        // linked from the start, with nothing to link it into.
        // SAFETY: nothing can reach the store yet, so no guard is needed.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        store.directory.slot(0, guard).publish_head();
        store
    }

    /// How many buckets the table has now (it only grows).
    pub fn bucket_count(&self) -> usize {
        // Relaxed: a number for reports, see `bucket_start`.
        self.size.load(Ordering::Relaxed)
    }

    /// Pins the current thread: pointers loaded under the guard stay valid while it lives.
    pub(crate) fn pin(&self) -> Guard {
        self.epochs.pin()
    }

    /// The split-order key of `id`, and the sentinel its bucket's walk starts from
    /// (initialising the bucket if it is new).
    pub(crate) fn locate<'g>(&'g self, id: &SessionId, guard: &'g Guard) -> (u64, &'g Node) {
        let hash = self.hasher.hash_one(id);
        // Relaxed: the bucket count publishes nothing. A stale (smaller) count is harmless:
        // bucket `hash mod n` of an older size still holds `id`'s place, just with more nodes
        // to walk, since the list is sorted for every size at once. What we read through the
        // bucket (segment, slot, sentinel) is synchronised by its own Acquire loads.
        let size = self.size.load(Ordering::Relaxed);
        // `size` is at most 2^31, so the masked hash fits in a usize.
        let bucket = (hash & (size as u64 - 1)) as usize;
        (list::session_key(hash), self.sentinel(bucket, guard))
    }

    /// Where a walk in bucket `bucket` starts: the bucket's sentinel, linking it first if no
    /// thread has claimed it yet; while another thread is linking it, the nearest linked
    /// ancestor's sentinel (see [`directory`]: never wait for the claimant).
    fn sentinel<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g Node {
        let slot = self.directory.slot(bucket, guard);
        if let Some(sentinel) = slot.linked() {
            return sentinel;
        }
        // Bucket 0 is linked by `new`, so `bucket > 0`: its parent is the bucket it split
        // from, itself with the highest bit cleared. The recursion is at most 31 deep.
        let parent = bucket & !(1 << (usize::BITS - 1 - bucket.leading_zeros()));
        let start = self.sentinel(parent, guard);
        if !slot.claim() {
            // Another thread is linking this bucket's sentinel (or has just linked it). The
            // parent's walk start sorts before every node of this bucket at every size, so a
            // walk from there finds every node of it, only through more nodes: what a thread
            // with a stale bucket count does anyway.
            return start;
        }
        // We alone write this sentinel's `next` until it is reachable (the claim), and the
        // linker's Release CAS publishes it; `publish` then lets walks start from it.
        (self.link_sentinel)(start, &slot.sentinel, guard);
        slot.publish();
        &slot.sentinel
    }

    /// Doubles the table if it holds more than [`LOAD_FACTOR`] sessions per bucket.
    fn grow_if_loaded(&self) {
        // Relaxed: see `locate`. The CAS doubles at most once per size: of racing growers one
        // wins, and the others find the new size next time.
        let size = self.size.load(Ordering::Relaxed);
        if size < MAX_BUCKETS && self.count.total() > size * LOAD_FACTOR {
            let _ =
                self.size.compare_exchange(size, size * 2, Ordering::Relaxed, Ordering::Relaxed);
        }
    }

    /// The sweep's lanes: buckets `0..n`'s sentinels (`n` = [`SWEEP_LANES`] or the bucket
    /// count, if smaller) cut the key space into `n` ranges of equal width, whatever the size,
    /// since the list is sorted by bit-reversed bucket for every size at once. Lane `i` walks
    /// from the `i`th of those sentinels in key order to the next. If another thread is still
    /// linking one of them, the lane starts from an ancestor's sentinel instead
    /// ([`Self::sentinel`]) and walks part of the lane before it too: a node visited twice is
    /// harmless (a second tombstone CAS fails, so nothing is counted twice).
    fn sweep_lanes(&self) -> Vec<SweepLane> {
        let guard = self.pin();
        let mut buckets: Vec<usize> = (0..SWEEP_LANES.min(self.bucket_count())).collect();
        buckets.sort_by_key(|&bucket| list::sentinel_key(bucket));
        (0..buckets.len())
            .map(|i| SweepLane {
                from: self.sentinel(buckets[i], &guard),
                start: list::sentinel_key(buckets[i]),
                end: buckets.get(i + 1).map(|&next| list::sentinel_key(next)),
                decided: None,
                done: false,
            })
            .collect()
    }

    /// Counts one session removed by a caller outside this module (the mutants' removes).
    pub(crate) fn count_removed(&self) {
        self.count.sub(1);
    }

    /// The first sentinel (bucket 0's): the head of the whole list.
    #[cfg(all(test, not(loom)))]
    fn head<'g>(&'g self, guard: &'g Guard) -> &'g Node {
        self.sentinel(0, guard)
    }

    /// Bytes the table's structure holds beyond its session nodes: the directory's segments,
    /// whose slots hold the sentinels. For the memory lesson and its benchmark.
    pub fn overhead_bytes(&self) -> usize {
        self.directory.allocated_bytes(&self.pin())
    }
}

impl SessionStore for LockFreeStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let guard = self.pin();
        let (key, start) = self.locate(&id, &guard);
        let mut new = Owned::new(Node::session(key, id, user, now));
        loop {
            match list::link(start, new, &guard) {
                Ok(_) => break,
                Err((node, back)) => {
                    if node.activity.last_active().is_some() {
                        // Live or expired but not removed: insert never overwrites.
                        return Err(Occupied);
                    }
                    // Tombstoned but not yet marked: its remover is between steps 1 and 2.
                    // Mark it for them (AcqRel: see `list::mark_and_unlink`) so the next
                    // search unlinks it and the id's new node never shares the list with the
                    // old one.
                    node.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
                    new = back;
                }
            }
        }
        drop(guard);
        if self.count.add_one() % CHECK_EVERY == 0 {
            self.grow_if_loaded();
        }
        Ok(())
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let guard = self.pin();
        let (key, start) = self.locate(id, &guard);
        let node = list::lookup(start, key, id, &guard)?;
        node.activity.touch(self.ttl, now).then_some(node.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let guard = self.pin();
        let (key, start) = self.locate(id, &guard);
        let at = list::search(start, key, id, &guard);
        // SAFETY: `search` returns a pointer loaded under `guard`.
        let node = unsafe { at.curr.as_ref() }.filter(|node| node.is(key, id))?;
        // Step 1, the linearization point: of concurrent removers (and sweepers) exactly one
        // moves the word to the tombstone. A word already tombstoned means "absent".
        if !node.activity.tombstone() {
            return None;
        }
        self.count.sub(1);
        let user = node.user;
        list::mark_and_unlink(start, at, &guard);
        Some(user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let mut swept = 0;
        let mut lanes = self.sweep_lanes();
        let lane_count = lanes.len();
        // Per lane per pin, so one pin still covers about `SWEEP_CHUNK` sessions in all.
        let chunk = (SWEEP_CHUNK / lane_count).max(1);
        while lanes.iter().any(|lane| !lane.done) {
            // One pin per chunk of the list, not per sweep (see `SWEEP_CHUNK`).
            let guard = self.pin();
            let mut walks: Vec<Option<(list::Cursor<'_>, usize)>> = lanes
                .iter()
                // SAFETY: `from` is a sentinel, and sentinels live until the store drops,
                // pinned or not.
                .map(|lane| {
                    (!lane.done).then(|| (list::Cursor::new(unsafe { &*lane.from }, &guard), 0))
                })
                .collect();
            let mut walking = walks.iter().flatten().count();
            // The lanes' walks, one node each in turn: each step's load of a node is
            // independent of the other lanes', so their cache misses overlap.
            while walking > 0 {
                for (lane, walk) in lanes.iter_mut().zip(&mut walks) {
                    let Some((cursor, passed)) = walk else { continue };
                    let (start, end) = (lane.start, lane.end);
                    let decided = &mut lane.decided;
                    // One walk does all three steps: tombstone each expired session (step 1,
                    // counted only if this CAS did it), and the walk marks and unlinks it, so
                    // each session this sweep removed is out of the list when it returns.
                    // Sentinels are told by key, never by their (unused) activity word.
                    let stop = cursor.step(&guard, &mut |node| {
                        if node.key < start {
                            // An ancestor's range, walked through: another lane's to sweep.
                            return Step::Pass;
                        }
                        if end.is_some_and(|end| node.key >= end) {
                            // The next lane's range: its walk covers it.
                            return Step::Stop;
                        }
                        if node.is_sentinel() {
                            return if *passed >= chunk { Step::Stop } else { Step::Pass };
                        }
                        // Each id once per sweep (see `SweepLane::decided`).
                        let position = (node.key, node.id);
                        if decided.is_some_and(|last| position <= last) {
                            return Step::Pass;
                        }
                        *decided = Some(position);
                        *passed += 1;
                        if node.activity.tombstone_if_expired(self.ttl, now) {
                            swept += 1;
                            Step::Delete
                        } else {
                            Step::Pass
                        }
                    });
                    let Some(stop) = stop else { continue };
                    // SAFETY: `stop.curr` was loaded under `guard` (see `list::walk`).
                    match unsafe { stop.curr.as_ref() } {
                        // Stopped at one of our sentinels after a chunk: resume there.
                        Some(node) if end.is_none_or(|end| node.key < end) => lane.from = node,
                        // The end of the list or of the lane's range.
                        _ => lane.done = true,
                    }
                    *walk = None;
                    walking -= 1;
                }
            }
        }
        self.count.sub(swept);
        swept
    }

    fn len(&self) -> usize {
        self.count.total()
    }
}

impl Drop for LockFreeStore {
    fn drop(&mut self) {
        // SAFETY: `&mut self` means no other thread can reach the store, so nobody walks the
        // list and no guard can be watching these nodes; every session node still linked is
        // owned by the list alone (unlinked nodes belong to the collector and are not
        // reachable from the list), so each is freed exactly once here. Sentinels live in the
        // directory's slots and go with its segments, freed by its own `Drop` after this.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        let Some(head) = self.directory.existing_slot(0, guard) else { return };
        // Relaxed: `&mut self` already orders every earlier access before this one.
        let mut curr = head.sentinel.next.load(Ordering::Relaxed, guard);
        // SAFETY: non-null nodes reached from the head are linked (see above).
        while let Some(node) = unsafe { curr.as_ref() } {
            let next = node.next.load(Ordering::Relaxed, guard);
            if !node.is_sentinel() {
                // SAFETY: a linked session node, owned by the list, freed once here; `next`
                // was read before.
                drop(unsafe { curr.with_tag(0).into_owned() });
            }
            curr = next;
        }
    }
}
#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    fn store(ttl: u64) -> LockFreeStore {
        LockFreeStore::new(&Config::new(ttl))
    }

    /// The whole list in order: `(key, Some(id))` for a session, `(key, None)` for a sentinel,
    /// with whether the node is marked.
    fn nodes(store: &LockFreeStore) -> Vec<(u64, Option<SessionId>, bool)> {
        let guard = store.pin();
        let mut nodes = vec![(0, None, false)];
        let mut curr = store.head(&guard).next.load(Ordering::Acquire, &guard);
        // SAFETY: loaded under `guard`.
        while let Some(node) = unsafe { curr.as_ref() } {
            let next = node.next.load(Ordering::Acquire, &guard);
            nodes.push((node.key, (!node.is_sentinel()).then_some(node.id), next.tag() == MARKED));
            curr = next;
        }
        nodes
    }

    /// The invariants: sorted by (key, id) with no pair twice, and every session after the
    /// sentinel of its bucket at the current size, if that bucket is initialised.
    fn assert_well_formed(store: &LockFreeStore) {
        let nodes = nodes(store);
        for pair in nodes.windows(2) {
            let order = |(key, id, _): &(u64, Option<SessionId>, bool)| (*key, *id);
            assert!(order(&pair[0]) < order(&pair[1]), "out of order: {pair:?}");
        }
        let mut sentinel = 0;
        for (key, id, _) in &nodes {
            match id {
                None => sentinel = *key,
                Some(_) => assert!(sentinel < *key, "a session before its sentinel"),
            }
        }
    }

    fn sessions(store: &LockFreeStore) -> Vec<SessionId> {
        nodes(store).into_iter().filter_map(|(_, id, _)| id).collect()
    }

    fn node<'g>(store: &'g LockFreeStore, id: &SessionId, guard: &'g Guard) -> &'g Node {
        let (key, start) = store.locate(id, guard);
        list::lookup(start, key, id, guard).expect("the session is in the list")
    }

    #[test]
    fn bucket_count_follows_the_capacity_hint() {
        assert_eq!(store(1).bucket_count(), FIRST);
        let big = LockFreeStore::new(&Config::new(1).with_capacity(5000));
        assert_eq!(big.bucket_count(), 2048, "5000 sessions at 4 per bucket");
    }

    #[test]
    fn split_order_keys_sort_buckets_for_every_size() {
        // A session sorts after its bucket's sentinel and before the next bucket's, at every
        // size: the property that lets the table double without moving a node.
        for hash in [0u64, 1, 2, 3, 6, 7, 0xdead_beef, u64::MAX] {
            for bits in 0..8 {
                let bucket = (hash & ((1 << bits) - 1)) as usize;
                let key = list::session_key(hash);
                assert!(list::sentinel_key(bucket) < key, "hash {hash:x} at 2^{bits}");
                assert_eq!(key & 1, 1, "session keys are odd");
            }
        }
        assert_eq!(list::sentinel_key(1), 1 << 63);
        assert_eq!(list::sentinel_key(2), 1 << 62);
    }

    #[test]
    fn the_table_grows_without_a_hint_and_nothing_moves() {
        let store = store(100);
        let ids: Vec<_> = (0..20_000).map(SessionId::fixed).collect();
        for (n, id) in ids.iter().enumerate() {
            store.insert(*id, UserId(n as u64), 0).unwrap();
        }
        // 20k sessions at most 4 per bucket (checked every 32 inserts per thread).
        assert!(store.bucket_count() >= 4096, "only {} buckets", store.bucket_count());
        assert_eq!(store.len(), ids.len());
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(store.touch(id, 1), Some(UserId(n as u64)), "lost after growth: {id}");
        }
        assert_well_formed(&store);
        assert_eq!(sessions(&store).len(), ids.len());
        // A mass expiry: the sessions go, the buckets stay (no shrinking).
        let buckets = store.bucket_count();
        assert_eq!(store.sweep(1000), ids.len());
        assert_eq!((store.len(), store.bucket_count()), (0, buckets));
        assert!(sessions(&store).is_empty());
        assert_well_formed(&store);
    }

    #[test]
    fn a_bucket_whose_claimant_stalls_is_walked_from_its_parent() {
        // A thread claimed bucket 4's slot and stalled before linking its sentinel. Nothing
        // waits for it: bucket 4 and every bucket split from it start from bucket 0's
        // sentinel, and bucket 4 is also the start of one of the sweep's lanes.
        let store = store(10);
        let guard = store.pin();
        assert!(store.directory.slot(4, &guard).claim());
        let ids: Vec<_> = (0..3000).map(SessionId::fixed).collect();
        for (n, id) in ids.iter().enumerate() {
            store.insert(*id, UserId(n as u64), 0).unwrap();
        }
        assert!(store.bucket_count() >= 512, "it grew past the stalled bucket");
        assert!(store.directory.slot(4, &guard).linked().is_none(), "still stalled");
        for (n, id) in ids.iter().enumerate() {
            assert_eq!(store.touch(id, 5), Some(UserId(n as u64)), "lost: {id}");
        }
        assert_well_formed(&store);
        assert_eq!(sessions(&store).len(), ids.len(), "every session is reachable from the head");
        assert_eq!(store.sweep(6), 0, "all touched at 5");
        assert_eq!(store.sweep(1000), ids.len());
        assert_eq!((store.len(), sessions(&store).len()), (0, 0));
        drop(guard);
    }

    #[test]
    fn the_sweep_counts_each_removal_once_across_its_lanes() {
        let store = store(10);
        for n in 0..5000u64 {
            store.insert(SessionId::fixed(n), UserId(n), n % 2 * 100).unwrap();
        }
        assert!(store.bucket_count() >= SWEEP_LANES, "every lane has a range");
        assert_eq!(store.sweep(105), 2500, "the ones idle since 0 expired");
        assert_eq!(store.len(), 2500);
        assert_eq!(sessions(&store).len(), 2500, "each swept node was unlinked");
        assert_well_formed(&store);
    }

    #[test]
    fn lists_stay_sorted_and_unique() {
        let store = store(100);
        for n in [5, 1, 9, 3, 7] {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        assert_eq!(store.insert(SessionId::fixed(3), UserId(0), 0), Err(Occupied));
        assert_well_formed(&store);
        assert_eq!(sessions(&store).len(), 5);
        assert_eq!(store.remove(&SessionId::fixed(5)), Some(UserId(5)));
        assert_eq!(store.remove(&SessionId::fixed(5)), None);
        assert!(!sessions(&store).contains(&SessionId::fixed(5)), "remove unlinks the node");
        assert_eq!(store.len(), 4);
    }

    #[test]
    fn sweep_tombstones_then_unlinks_only_expired_nodes() {
        let store = store(10);
        for n in 1..=600 {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        for n in [2, 4] {
            assert_eq!(store.touch(&SessionId::fixed(n), 5), Some(UserId(n)));
        }
        // 600 sessions: more than one sweep chunk, so the sweep re-pins on the way.
        assert_eq!(store.sweep(10), 598);
        let mut left = sessions(&store);
        left.sort();
        assert_eq!(left, vec![SessionId::fixed(2), SessionId::fixed(4)]);
        assert_eq!(store.sweep(10), 0, "a sweep counts only what it tombstoned");
        assert_eq!(store.touch(&SessionId::fixed(2), 14), Some(UserId(2)));
        assert_eq!(store.touch(&SessionId::fixed(1), 10), None);
        assert_eq!(store.len(), 2);
    }

    #[test]
    fn a_tombstoned_node_is_absent_and_its_id_reusable() {
        let store = store(100);
        let id = SessionId::fixed(2);
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        store.insert(id, UserId(2), 0).unwrap();
        store.insert(SessionId::fixed(3), UserId(3), 0).unwrap();
        // A remover stopped between step 1 (tombstone) and step 2 (mark).
        let guard = store.pin();
        assert!(node(&store, &id, &guard).activity.tombstone());
        store.count.sub(1);
        assert_eq!(store.touch(&id, 1), None);
        assert_eq!(store.remove(&id), None);
        assert_eq!(store.len(), 2);
        // Insert helps: it marks and unlinks the old node, then links a new one.
        store.insert(id, UserId(20), 1).unwrap();
        drop(guard);
        assert_eq!(sessions(&store).iter().filter(|s| **s == id).count(), 1);
        assert_eq!(store.touch(&id, 2), Some(UserId(20)));
        assert_eq!(store.len(), 3);
    }

    #[test]
    fn marked_nodes_are_unlinked_by_any_search() {
        let store = store(100);
        for n in 1..=3 {
            store.insert(SessionId::fixed(n), UserId(n), 0).unwrap();
        }
        // A remover stopped between step 2 (mark) and step 3 (unlink).
        let guard = store.pin();
        let stopped = node(&store, &SessionId::fixed(2), &guard);
        assert!(stopped.activity.tombstone());
        store.count.sub(1);
        stopped.next.fetch_or(MARKED, Ordering::AcqRel, &guard);
        assert_eq!(store.len(), 2);
        assert_eq!(nodes(&store).iter().filter(|(_, _, marked)| *marked).count(), 1);
        assert_eq!(store.touch(&SessionId::fixed(3), 1), Some(UserId(3)), "walks past it");
        // A sweep walks the whole list: it unlinks the marked node on the way.
        assert_eq!(store.sweep(1), 0);
        assert!(nodes(&store).iter().all(|(_, _, marked)| !marked));
        assert!(!sessions(&store).contains(&SessionId::fixed(2)));
    }

    #[test]
    fn concurrent_inserts_removes_and_sweeps_on_real_threads() {
        use crate::sync::{AtomicUsize, Ordering::Relaxed};
        // Conservation: every successful insert ends as exactly one successful remove, one
        // sweep count, or one session still stored. A lost insert, a double removal or a
        // resurrection breaks the sum. 3000 ids from an empty table: it grows meanwhile.
        let store = LockFreeStore::new(&Config::new(50));
        let inserted = AtomicUsize::new(0);
        let removed = AtomicUsize::new(0);
        std::thread::scope(|s| {
            for t in 0..4u64 {
                let (store, inserted, removed) = (&store, &inserted, &removed);
                s.spawn(move || {
                    for i in 0..10_000u64 {
                        let id = SessionId::fixed((i * 7 + t) % 3000);
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
                        if i % 1000 == 0 {
                            removed.fetch_add(store.sweep(i), Relaxed);
                        }
                    }
                });
            }
        });
        let len = store.len();
        assert!(inserted.load(Relaxed) > 3000, "the run exercised reuse of ids");
        assert!(store.bucket_count() > FIRST, "the run exercised growth");
        assert_eq!(inserted.load(Relaxed), removed.load(Relaxed) + len);
        assert_eq!(sessions(&store).len(), len, "the count matches the list");
        assert_well_formed(&store);
        assert_eq!(store.sweep(u64::MAX - 1), len);
        assert_eq!(store.len(), 0);
        assert!(sessions(&store).is_empty());
    }
}
