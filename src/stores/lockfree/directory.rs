//! The bucket directory: for each bucket index, a *slot* that holds the bucket's sentinel
//! itself, in place, and a word that says whether that sentinel is in the split-ordered list
//! yet.
//!
//! The slots live in *segments* that double in size: segment 0 holds buckets
//! `0..FIRST`, segment `k >= 1` holds buckets `FIRST << (k - 1) .. FIRST << k`. A table of
//! `SEGMENTS` segment pointers, fixed in size, therefore covers every bucket up to
//! [`MAX_BUCKETS`], and growing the table never copies or moves a slot: a doubling only makes
//! the next segment's buckets reachable, and that segment is allocated by the first operation
//! that needs one of its slots.
//!
//! **Why the sentinel lives in the slot.** An operation jumps to its bucket's sentinel and
//! reads the sentinel's `next`. With the sentinel allocated on its own, that is two dependent
//! cache misses before the first session node (the slot, then the sentinel); with the sentinel
//! inside a 64-byte, 64-aligned slot, the state word, the key and `next` share one cache line:
//! one miss. It is sound because a sentinel is never unlinked, never freed before the store
//! drops, and never moves: segments are never freed before the directory drops, and never
//! copied. So a `&Node` into a segment is as good as a pointer to a heap node for the list, and
//! the list's links may point into segments.
//!
//! **Linking a slot's sentinel.** Two threads that both find a bucket unlinked must not both
//! write its one sentinel's `next` (they would each set it to what *their* search found, and
//! the later write could cut off nodes linked after the earlier one's CAS). So the slot's state
//! goes `UNLINKED -> CLAIMED -> LINKED`: the one thread whose CAS claims the slot links the
//! sentinel into the list (the only writer of its `next` before it is reachable) and then
//! publishes `LINKED`. A thread that finds the slot claimed does not wait: it starts its walk
//! from the parent bucket's sentinel, which sorts before every node of this bucket at every
//! size (exactly what a thread with a stale bucket count does). A claimant that stalls therefore
//! slows walks in its bucket and blocks nobody: the store stays lock-free.

use super::list::Node;
use crate::sync::{AtomicUsize, Ordering};
use crossbeam_epoch::{Atomic, Guard, Owned};

/// log2 of segment 0's size: 16 buckets (1 under loom, so a model grows at its second
/// session).
const FIRST_BITS: u32 = if cfg!(loom) { 0 } else { 4 };

/// The buckets in segment 0, and the fewest a store has.
pub(crate) const FIRST: usize = 1 << FIRST_BITS;

/// log2 of the most buckets a table reaches (2^31 buckets of 64 bytes: 128 GiB of slots, far
/// more sessions than a machine holds; 4 buckets under loom, more than any model needs).
const MAX_BITS: u32 = if cfg!(loom) { 2 } else { 31 };

/// The most buckets a table reaches.
pub(crate) const MAX_BUCKETS: usize = 1 << MAX_BITS;

/// How many segments cover `0..MAX_BUCKETS`.
const SEGMENTS: usize = (MAX_BITS - FIRST_BITS + 1) as usize;

/// A slot's sentinel is not in the list, and no thread is linking it.
const UNLINKED: usize = 0;
/// One thread has claimed the slot and is linking its sentinel.
const CLAIMED: usize = 1;
/// The slot's sentinel is in the list: walks may start from it.
const LINKED: usize = 2;

/// One bucket's slot: its sentinel, in place, and how far linking it has got. 64 bytes,
/// 64-aligned, so the state, the sentinel's key and its `next` are one cache line.
#[repr(align(64))]
pub(crate) struct Slot {
    state: AtomicUsize,
    /// The bucket's sentinel. Its key is set when the segment is made; its `next` is written
    /// by the claiming thread before the sentinel is linked, and by list CASes after.
    pub(crate) sentinel: Node,
}

impl Slot {
    /// The sentinel, if it is in the list.
    pub(crate) fn linked(&self) -> Option<&Node> {
        // Acquire: pairs with the Release store in `publish`, so a walk starting here reads
        // the sentinel's `next` as the claimant linked it, or later (without it, a walk could
        // read the initial null `next`, see an empty bucket and miss its sessions).
        (self.state.load(Ordering::Acquire) == LINKED).then_some(&self.sentinel)
    }

    /// Claims the right to link this slot's sentinel: true for exactly one caller, ever.
    pub(crate) fn claim(&self) -> bool {
        // Relaxed: the claim only elects one writer of the sentinel's `next` (a single word's
        // CAS is totally ordered, so one claimant wins); it publishes no memory. The sentinel's
        // key came with the segment (Acquire in `Directory::slot`), and whatever the claimant
        // writes is published by its own Release CASes.
        self.state.compare_exchange(UNLINKED, CLAIMED, Ordering::Relaxed, Ordering::Relaxed).is_ok()
    }

    /// Says the sentinel is in the list: the claimant calls it after its link CAS succeeded.
    pub(crate) fn publish(&self) {
        // Release: see `linked`.
        self.state.store(LINKED, Ordering::Release);
    }

    /// Marks bucket 0's slot linked: its sentinel heads the list, with nothing before it to
    /// link it into. Only while the store is not yet shared.
    pub(crate) fn publish_head(&self) {
        // Relaxed: the store is not shared yet; whoever gets it gets it through a
        // synchronising hand-over (a move, an `Arc`).
        self.state.store(LINKED, Ordering::Relaxed);
    }
}

/// One segment: a fixed run of bucket slots.
struct Segment {
    slots: Box<[Slot]>,
}

/// The bucket directory (see the module docs).
pub(crate) struct Directory {
    segments: [Atomic<Segment>; SEGMENTS],
}

/// Which segment holds `bucket`, and where in it.
fn locate(bucket: usize) -> (usize, usize) {
    if bucket < FIRST {
        return (0, bucket);
    }
    // The highest set bit says which doubling made this bucket reachable.
    let high = usize::BITS - 1 - bucket.leading_zeros();
    ((high - FIRST_BITS + 1) as usize, bucket - (1 << high))
}

/// The first bucket in segment `segment`.
fn segment_start(segment: usize) -> usize {
    if segment == 0 { 0 } else { FIRST << (segment - 1) }
}

/// How many slots segment `segment` has.
fn segment_len(segment: usize) -> usize {
    if segment == 0 { FIRST } else { FIRST << (segment - 1) }
}

impl Directory {
    /// A directory with no segment allocated.
    pub(crate) fn new() -> Self {
        Self { segments: std::array::from_fn(|_| Atomic::null()) }
    }

    /// The slot for `bucket` (below [`MAX_BUCKETS`]), allocating its segment if no thread has
    /// yet. Lock-free: threads that race to allocate a segment all allocate one, one CAS wins,
    /// and the losers free theirs and use the winner's.
    pub(crate) fn slot<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g Slot {
        let (segment, offset) = locate(bucket);
        let link = &self.segments[segment];
        // Acquire: pairs with the Release CAS below, so the segment's slots (unlinked, each
        // sentinel's key set) are initialised before we read them.
        let mut current = link.load(Ordering::Acquire, guard);
        if current.is_null() {
            let first = segment_start(segment);
            let slots = (first..first + segment_len(segment))
                .map(|bucket| Slot {
                    state: AtomicUsize::new(UNLINKED),
                    sentinel: Node::sentinel(bucket),
                })
                .collect();
            // Release: publishes the segment's contents (its slots) with the pointer.
            // Acquire on failure: we read the winner's segment, published by its Release.
            current = match link.compare_exchange(
                current,
                Owned::new(Segment { slots }),
                Ordering::Release,
                Ordering::Acquire,
                guard,
            ) {
                Ok(published) => published,
                // Ours was never shared: dropping it here frees it.
                Err(lost) => lost.current,
            };
        }
        // SAFETY: non-null (allocated above or by the winner), loaded under `guard`, and
        // segments are freed only when the directory drops, which needs `&mut self`.
        &unsafe { current.deref() }.slots[offset]
    }

    /// The slot for `bucket` if its segment exists, without allocating.
    pub(crate) fn existing_slot<'g>(&'g self, bucket: usize, guard: &'g Guard) -> Option<&'g Slot> {
        let (segment, offset) = locate(bucket);
        // Acquire: as in `slot`.
        let current = self.segments[segment].load(Ordering::Acquire, guard);
        // SAFETY: as in `slot`.
        unsafe { current.as_ref() }.map(|segment| &segment.slots[offset])
    }

    /// Bytes this directory has allocated: the segment table and every segment (the
    /// sentinels included: they live in the slots).
    pub(crate) fn allocated_bytes(&self, guard: &Guard) -> usize {
        let slot = std::mem::size_of::<Slot>();
        let mut bytes = std::mem::size_of::<Self>();
        for (index, link) in self.segments.iter().enumerate() {
            if !link.load(Ordering::Acquire, guard).is_null() {
                bytes += std::mem::size_of::<Segment>() + segment_len(index) * slot;
            }
        }
        bytes
    }
}

impl Drop for Directory {
    fn drop(&mut self) {
        // SAFETY: `&mut self`: nobody else can reach the segments. The store has already
        // freed the session nodes (its `Drop` runs before its fields'); the sentinels are part
        // of the segments and go with them.
        let guard = unsafe { crossbeam_epoch::unprotected() };
        for link in &self.segments {
            // Relaxed: `&mut self` already orders every earlier access before this one.
            let segment = link.load(Ordering::Relaxed, guard);
            if !segment.is_null() {
                // SAFETY: non-null, allocated by `slot` with `Owned::new`, freed once here.
                drop(unsafe { segment.into_owned() });
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn segments_cover_every_bucket_once() {
        // Each segment starts where the last ended: check both ends of every segment.
        let mut first = 0;
        for segment in 0..SEGMENTS {
            let last = first + segment_len(segment) - 1;
            assert_eq!(locate(first), (segment, 0), "bucket {first}");
            assert_eq!(locate(last), (segment, segment_len(segment) - 1), "bucket {last}");
            first = last + 1;
        }
        assert_eq!(first, MAX_BUCKETS);
    }

    #[test]
    fn a_segment_is_allocated_on_first_use_only() {
        let directory = Directory::new();
        let guard = crossbeam_epoch::pin();
        assert!(directory.existing_slot(FIRST * 3, &guard).is_none());
        let slot: *const _ = directory.slot(FIRST * 3, &guard);
        assert!(std::ptr::eq(directory.existing_slot(FIRST * 3, &guard).unwrap(), slot));
        assert!(directory.existing_slot(0, &guard).is_none(), "segment 0 is untouched");
    }

    #[test]
    fn a_slot_is_one_cache_line_and_holds_its_buckets_sentinel() {
        assert_eq!((std::mem::size_of::<Slot>(), std::mem::align_of::<Slot>()), (64, 64));
        let directory = Directory::new();
        let guard = crossbeam_epoch::pin();
        for bucket in [0, 1, FIRST - 1, FIRST, FIRST * 3 + 5, FIRST << 10] {
            let slot = directory.slot(bucket, &guard);
            assert_eq!(slot.sentinel.key, super::super::list::sentinel_key(bucket));
            assert!(slot.linked().is_none(), "bucket {bucket} starts unlinked");
        }
        let slot = directory.slot(FIRST * 3 + 5, &guard);
        assert!(slot.claim() && !slot.claim(), "one claim wins");
        assert!(slot.linked().is_none(), "claimed is not linked");
        slot.publish();
        assert!(std::ptr::eq(slot.linked().unwrap(), &slot.sentinel));
    }
}
