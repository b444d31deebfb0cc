// WRONG: the gate stays closed exactly at the interval (<= instead of <).
// expect: gate::closed_before_the_interval_open_at_it_once
//! # Exercise 3: the single-flight sweep gate
//!
//! The Go lesson sweeps from its logout handler, guarded by a global timestamp:
//!
//! ```go
//! if time.Now().Sub(dbSessionsCleaned) > (time.Second * 30) {
//!     go cleanSessions()            // ... which ends with dbSessionsCleaned = time.Now()
//! }
//! ```
//!
//! Two logouts that read the timestamp before either writes it both start a sweep (and in Go
//! the timestamp itself is a second data race). Write `SweepGate::try_claim` so that, of any
//! number of callers at or past the interval, *exactly one* is told to sweep, however their
//! steps interleave. An atomic `load`, a comparison and a `store` is not enough: that is the
//! lesson's check-then-act, and loom finds the interleaving where both pass the check.
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **Check-then-act with atomics** (`load`, compare, `store`): loom's two-caller model finds
//!   both callers claiming the sweep.
//! - **`swap` or `fetch_max`**: every caller writes its own tick, so a refused caller moves the
//!   claimed tick (backwards, or forwards past the winner's). Only the winner writes: checked
//!   sequentially (deterministic) and under loom.
//! - **Ignoring the CAS's result**, **an off-by-one at the interval**: sequential and racing
//!   checks. Lesson 3 (`sessionlab::docs::atomics`) teaches the compare-and-swap used here.
//!
//! Grading (`cargo run -- exercise check 3`): sequential rules, racing real threads, and a
//! loom model of two callers.

use sessionlab::Tick;
use sessionlab::sync::{AtomicU64, Ordering};

/// At most one caller per interval is told to sweep.
#[derive(Debug)]
pub struct SweepGate {
    interval: u64,
    last_sweep: AtomicU64,
}

impl SweepGate {
    /// A gate that opens once per `interval` ticks, counting from `start`.
    pub fn new(interval: u64, start: Tick) -> Self {
        Self { interval, last_sweep: AtomicU64::new(start) }
    }

    /// The tick of the last claimed sweep (given: the grader reads it to check that only the
    /// winner writes it, and that it never moves backwards).
    pub fn last_claim(&self) -> Tick {
        self.last_sweep.load(Ordering::Acquire)
    }

    /// Whether the caller should sweep now (`now` is at least `interval` past the last
    /// claimed sweep). Of several callers past the interval, exactly one gets `true`.
    pub fn try_claim(&self, now: Tick) -> bool {
        let last = self.last_sweep.load(Ordering::Acquire);
        if now <= last.saturating_add(self.interval) {
            return false;
        }
        // The claim and the check are one step: only the caller whose CAS moves the tick from
        // the value it checked wins; everyone else sees the tick already moved.
        self.last_sweep.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn opens_once_per_interval() {
        let gate = SweepGate::new(10, 0);
        assert!(!gate.try_claim(9));
        assert!(gate.try_claim(10));
        assert!(!gate.try_claim(19));
        assert!(gate.try_claim(20));
    }
}
