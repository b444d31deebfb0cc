//! The sweep gate's scenario: two logouts past the sweep interval both ask "should I sweep?",
//! and in every interleaving exactly one may be told yes.
//!
//! Written over two functions rather than a trait, so that any gate (the lab's
//! [`SweepGate`](crate::SweepGate), the lesson's [`LessonGate`](crate::sweeper::LessonGate), a
//! student's in the exercises) can be checked without implementing anything for it.

use super::run_model;
use crate::sync::{Arc, thread};
use crate::time::Tick;

/// Two callers past the interval (at 10 and 12, interval 10 from 0): exactly one sweeps.
///
/// `make(interval, start)` builds the gate; `try_claim(gate, now)` asks it. Panics with
/// "more than one caller claimed the sweep" or "neither caller past the interval swept".
pub fn single_flight<G>(name: &str, make: fn(u64, Tick) -> G, try_claim: fn(&G, Tick) -> bool)
where
    G: Send + Sync + 'static,
{
    run_model(name, 3, move || {
        let gate = Arc::new(make(10, 0));
        let other = {
            let gate = Arc::clone(&gate);
            thread::spawn(move || try_claim(&gate, 12))
        };
        let mine = try_claim(&gate, 10);
        let theirs = other.join().unwrap();
        assert!(mine || theirs, "neither caller past the interval swept");
        assert!(!(mine && theirs), "more than one caller claimed the sweep");
    });
}
