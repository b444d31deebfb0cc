//! The session count: striped, so that inserts on different threads do not all write one
//! cache line.
//!
//! The store needs a count for two things: to know when the load factor is exceeded (time to
//! double the directory), and for `len`. A single shared counter would be the one line every
//! insert and every removal writes, which is exactly the contention a lock-free table exists
//! to avoid; so each thread adds to its own stripe (picked once per thread, round robin), and
//! the total is the sum of the stripes. A removal may subtract from a different stripe than
//! the insert added to, so a stripe can go "negative": stripes are wrapping `usize`s and only
//! their wrapping sum means anything.
//!
//! The sum is exact when no insert or removal is in flight, which is all `len` promises. Under
//! loom there is a single stripe (a thread-local stripe index would differ between replays).

use crate::sync::{AtomicUsize, Ordering};
use crossbeam_utils::CachePadded;

/// How many stripes (a power of two). 16 × 128 bytes: 2 KiB per store.
const STRIPES: usize = if cfg!(loom) { 1 } else { 16 };

/// A striped counter of sessions (see the module docs).
pub(crate) struct Count {
    stripes: [CachePadded<AtomicUsize>; STRIPES],
}

/// This thread's stripe.
fn stripe() -> usize {
    #[cfg(not(loom))]
    {
        use std::cell::Cell;
        static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        thread_local! {
            static STRIPE: Cell<usize> = const { Cell::new(usize::MAX) };
        }
        STRIPE.with(|stripe| {
            if stripe.get() == usize::MAX {
                // Relaxed: only spreads threads over stripes; any value is correct.
                stripe.set(NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % STRIPES);
            }
            stripe.get()
        })
    }
    #[cfg(loom)]
    {
        0
    }
}

impl Count {
    /// Zero.
    pub(crate) fn new() -> Self {
        Self { stripes: std::array::from_fn(|_| CachePadded::new(AtomicUsize::new(0))) }
    }

    /// Adds one session; returns this thread's stripe after the add (callers sample on it).
    pub(crate) fn add_one(&self) -> usize {
        // Relaxed: the count publishes nothing; it is read as a number only, and every
        // read-modify-write on a stripe is atomic, so no add is lost.
        self.stripes[stripe()].fetch_add(1, Ordering::Relaxed).wrapping_add(1)
    }

    /// Subtracts `n` removed sessions.
    pub(crate) fn sub(&self, n: usize) {
        if n > 0 {
            // Relaxed: as in `add_one`.
            self.stripes[stripe()].fetch_sub(n, Ordering::Relaxed);
        }
    }

    /// The total: exact when no insert or removal is in flight, and never below zero.
    pub(crate) fn total(&self) -> usize {
        // Relaxed: as in `add_one`.
        let sum = self
            .stripes
            .iter()
            .fold(0usize, |sum, stripe| sum.wrapping_add(stripe.load(Ordering::Relaxed)));
        // A removal counted before the insert it undoes (another stripe, in flight) can make
        // the sum briefly "negative".
        if sum > isize::MAX as usize { 0 } else { sum }
    }
}
