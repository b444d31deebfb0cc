//! The activity word: when a session was last active, in one atomic, and the tombstone that
//! marks it removed. It is the heart of every store: a touch is a compare-and-swap on it, so
//! it needs only *read* access to the map that holds it, and a removal that holds no write
//! lock claims the session by swapping the tombstone in.
//!
//! [`is_expired`] is the one definition of expiry every store, model and checker uses.

use crate::sync::{AtomicU64, Ordering};
use crate::time::Tick;

/// Is a session last active at `last_active` expired at `now`, with time-to-live `ttl`?
///
/// The one definition every store uses: expired when `last_active + ttl <= now`. The sum
/// saturates rather than overflowing, so a huge ttl lasts until the end of time (`u64::MAX`).
pub fn is_expired(last_active: Tick, ttl: u64, now: Tick) -> bool {
    last_active.saturating_add(ttl) <= now
}

/// The per-session activity word: the last-activity tick in an atomic, so that a touch needs
/// only *read* access to the map that holds it ([`docs::semantics`](crate::docs::semantics),
/// "The activity word and its tombstone").
///
/// One value, [`Activity::TOMBSTONE`], is reserved: a session whose word holds it is absent to
/// every operation. Stores that do not hold a write lock over the entry while they remove it
/// (copy-on-write, lock-free) first move the word to the tombstone by compare-and-swap, and
/// only then unlink the entry. That CAS is the removal's linearization point, so a touch and a
/// removal of the same session can never both win.
///
/// Orderings: the word guards nothing but itself (the user id beside it is immutable and is
/// published by the map's own synchronisation), and every read-modify-write on one atomic
/// location is totally ordered, so `Relaxed` would give the same outcomes. We use
/// `Acquire`/`AcqRel` anyway so that "the tombstone CAS happens-before the unlink that
/// another thread observes" holds without a second argument; on x86-64 the CAS is a locked
/// instruction either way and the cost is nil.
#[derive(Debug)]
pub struct Activity(AtomicU64);

impl Activity {
    /// The reserved "removed" value. No real tick reaches it (it is 584 million years of ms).
    pub const TOMBSTONE: u64 = u64::MAX;

    /// A live word, last active at `now` (clamped below the tombstone).
    pub fn new(now: Tick) -> Self {
        Self(AtomicU64::new(now.min(Self::TOMBSTONE - 1)))
    }

    /// The last-activity tick, or `None` once tombstoned.
    pub fn last_active(&self) -> Option<Tick> {
        match self.0.load(Ordering::Acquire) {
            Self::TOMBSTONE => None,
            tick => Some(tick),
        }
    }

    /// Is this session live (not tombstoned, not expired) at `now`?
    pub fn is_live(&self, ttl: u64, now: Tick) -> bool {
        self.last_active().is_some_and(|last| !is_expired(last, ttl, now))
    }

    /// Records activity at `now`: fails if the word is tombstoned or expired at `now` (an
    /// expired session is never revived); otherwise moves it to `max(last, now)`, never
    /// backwards. Returns whether the session was live.
    pub fn touch(&self, ttl: u64, now: Tick) -> bool {
        // Expiry is judged at the caller's `now`; only the value stored is kept below the
        // tombstone (judging at the clamped value would let a touch at `u64::MAX` see a
        // session that is already expired there as live).
        let stored = now.min(Self::TOMBSTONE - 1);
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            if current == Self::TOMBSTONE || is_expired(current, ttl, now) {
                return false;
            }
            if current >= stored {
                // Already at or past `now`: nothing to write, and the session is live.
                return true;
            }
            match self.0.compare_exchange_weak(current, now, Ordering::AcqRel, Ordering::Acquire) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }

    /// Tombstones the word if it is expired at `now`. Returns whether *this* call did it, so
    /// that of several sweepers exactly one counts the removal.
    pub fn tombstone_if_expired(&self, ttl: u64, now: Tick) -> bool {
        self.tombstone_when(|last| is_expired(last, ttl, now))
    }

    /// Tombstones a live-or-expired word (a logout). Returns whether *this* call did it, so of
    /// two concurrent removes exactly one wins.
    pub fn tombstone(&self) -> bool {
        self.tombstone_when(|_| true)
    }

    /// The bare atomic, for the one mutant that must bypass the CAS discipline above to show
    /// what it prevents (`check::mutants::BackwardsTouchStore`). Nothing else may use it.
    pub(crate) fn word(&self) -> &AtomicU64 {
        &self.0
    }

    fn tombstone_when(&self, condition: impl Fn(Tick) -> bool) -> bool {
        let mut current = self.0.load(Ordering::Acquire);
        loop {
            if current == Self::TOMBSTONE || !condition(current) {
                return false;
            }
            match self.0.compare_exchange_weak(
                current,
                Self::TOMBSTONE,
                Ordering::AcqRel,
                Ordering::Acquire,
            ) {
                Ok(_) => return true,
                Err(actual) => current = actual,
            }
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn expiry_is_at_last_plus_ttl() {
        assert!(!is_expired(100, 10, 109));
        assert!(is_expired(100, 10, 110));
        // The sum saturates: a huge ttl lasts until the end of time, u64::MAX.
        assert!(!is_expired(u64::MAX - 2, u64::MAX, u64::MAX - 1));
        assert!(is_expired(u64::MAX - 2, u64::MAX, u64::MAX));
    }

    #[test]
    fn touch_moves_forward_only() {
        let a = Activity::new(100);
        assert!(a.touch(50, 120));
        assert!(a.touch(50, 110), "an older now is still live");
        assert_eq!(a.last_active(), Some(120), "never moves backwards");
    }

    #[test]
    fn expiry_at_the_end_of_time_is_judged_at_the_callers_now() {
        let a = Activity::new(u64::MAX - 1);
        assert!(!a.touch(1, u64::MAX), "expired at MAX - 1 + 1");
        assert!(a.touch(5, u64::MAX - 1));
        assert_eq!(a.last_active(), Some(u64::MAX - 1), "stored below the tombstone");
    }

    #[test]
    fn touch_never_revives() {
        let a = Activity::new(100);
        assert!(!a.touch(10, 110));
        assert_eq!(a.last_active(), Some(100));
    }

    #[test]
    fn tombstone_wins_once() {
        let a = Activity::new(0);
        assert!(!a.tombstone_if_expired(10, 5));
        assert!(a.tombstone_if_expired(10, 10));
        assert!(!a.tombstone_if_expired(10, 10));
        assert!(!a.tombstone());
        assert!(!a.touch(10, 1));
        assert_eq!(a.last_active(), None);
    }
}
