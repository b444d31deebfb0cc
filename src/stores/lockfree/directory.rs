//! The bucket directory: for each bucket index, one link to that bucket's sentinel in the
//! split-ordered list, or null while the bucket is not initialised.
//!
//! The slots live in *segments* that double in size: segment 0 holds buckets
//! `0..FIRST`, segment `k >= 1` holds buckets `FIRST << (k - 1) .. FIRST << k`. A table of
//! `SEGMENTS` segment pointers, fixed in size, therefore covers every bucket up to
//! [`MAX_BUCKETS`], and growing the table never copies or moves a slot: a doubling only makes
//! the next segment's buckets reachable, and that segment is allocated by the first operation
//! that needs one of its slots.
//!
//! Segments are never freed before the store drops, so a slot reference stays valid for as
//! long as the store does.

use super::list::Node;
use crate::sync::Ordering;
use crossbeam_epoch::{Atomic, Guard, Owned};

/// log2 of segment 0's size: 16 buckets (1 under loom, so a model grows at its second
/// session).
const FIRST_BITS: u32 = if cfg!(loom) { 0 } else { 4 };

/// The buckets in segment 0, and the fewest a store has.
pub(crate) const FIRST: usize = 1 << FIRST_BITS;

/// log2 of the most buckets a table reaches (2^31 buckets: 16 GiB of slots and sentinels'
/// worth of sessions; 4 under loom, more than any model needs).
const MAX_BITS: u32 = if cfg!(loom) { 2 } else { 31 };

/// The most buckets a table reaches.
pub(crate) const MAX_BUCKETS: usize = 1 << MAX_BITS;

/// How many segments cover `0..MAX_BUCKETS`.
const SEGMENTS: usize = (MAX_BITS - FIRST_BITS + 1) as usize;

/// One segment: a fixed run of bucket slots.
struct Segment {
    slots: Box<[Atomic<Node>]>,
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
    pub(crate) fn slot<'g>(&'g self, bucket: usize, guard: &'g Guard) -> &'g Atomic<Node> {
        let (segment, offset) = locate(bucket);
        let link = &self.segments[segment];
        // Acquire: pairs with the Release CAS below, so the segment's slots (all null when
        // published) are initialised before we read them.
        let mut current = link.load(Ordering::Acquire, guard);
        if current.is_null() {
            let len = segment_len(segment);
            let fresh = Owned::new(Segment { slots: (0..len).map(|_| Atomic::null()).collect() });
            // Release: publishes the segment's contents (its null slots) with the pointer.
            // Acquire on failure: we read the winner's segment, published by its Release.
            current = match link.compare_exchange(
                current,
                fresh,
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
    pub(crate) fn existing_slot<'g>(
        &'g self,
        bucket: usize,
        guard: &'g Guard,
    ) -> Option<&'g Atomic<Node>> {
        let (segment, offset) = locate(bucket);
        // Acquire: as in `slot`.
        let current = self.segments[segment].load(Ordering::Acquire, guard);
        // SAFETY: as in `slot`.
        unsafe { current.as_ref() }.map(|segment| &segment.slots[offset])
    }

    /// Bytes this directory has allocated: the segment table and every segment.
    pub(crate) fn allocated_bytes(&self, guard: &Guard) -> usize {
        let slot = std::mem::size_of::<Atomic<Node>>();
        let mut bytes = 0;
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
        // SAFETY: `&mut self`: nobody else can reach the segments. The sentinels the slots
        // point to belong to the list, which the store frees; only the segments are ours.
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
}
