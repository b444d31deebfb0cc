#![cfg(loom)]
//! The sweeper gate: two logouts past the sweep interval both ask "should I sweep?".
//! [`SweepGate`] (one `compare_exchange` on the last-sweep tick) lets exactly one through;
//! the lesson's `dbSessionsCleaned` pattern ([`LessonGate`]: load, compare, then a separate
//! store) lets both through in some interleaving, and loom finds it.

use crate::model::run_model;
use sessionlab::SweepGate;
use sessionlab::sweeper::LessonGate;
use sessionlab::sync::{Arc, thread};

/// What the scenario needs of a gate.
trait Gate: Send + Sync + 'static {
    fn new(interval: u64, start: u64) -> Self;
    fn try_claim(&self, now: u64) -> bool;
}

impl Gate for SweepGate {
    fn new(interval: u64, start: u64) -> Self {
        SweepGate::new(interval, start)
    }
    fn try_claim(&self, now: u64) -> bool {
        SweepGate::try_claim(self, now)
    }
}

impl Gate for LessonGate {
    fn new(interval: u64, start: u64) -> Self {
        LessonGate::new(interval, start)
    }
    fn try_claim(&self, now: u64) -> bool {
        LessonGate::try_claim(self, now)
    }
}

/// Two callers past the interval (at 10 and 12, interval 10 from 0): exactly one sweeps.
fn single_flight<G: Gate>(name: &str) {
    run_model(name, 3, || {
        let gate = Arc::new(G::new(10, 0));
        let other = {
            let gate = Arc::clone(&gate);
            thread::spawn(move || gate.try_claim(12))
        };
        let mine = gate.try_claim(10);
        let theirs = other.join().unwrap();
        assert!(mine || theirs, "neither caller past the interval swept");
        assert!(!(mine && theirs), "more than one caller claimed the sweep");
    });
}

#[test]
fn sweep_gate_is_single_flight() {
    single_flight::<SweepGate>("SweepGate::single_flight");
}

/// The lesson's pattern: loom finds the interleaving where both callers pass the check
/// before either stores, so two sweeps start.
#[test]
#[should_panic(expected = "more than one caller claimed the sweep")]
fn lesson_gate_lets_two_sweeps_start() {
    single_flight::<LessonGate>("LessonGate::single_flight");
}
