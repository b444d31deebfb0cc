#![cfg(loom)]
//! The sweeper gate: two logouts past the sweep interval both ask "should I sweep?".
//! [`SweepGate`] (one `compare_exchange` on the last-sweep tick) lets exactly one through;
//! the lesson's `dbSessionsCleaned` pattern ([`LessonGate`]: load, compare, then a separate
//! store) lets both through in some interleaving, and loom finds it. The scenario is
//! [`single_flight`].

use sessionlab::SweepGate;
use sessionlab::check::loom::gate::single_flight;
use sessionlab::sweeper::LessonGate;

#[test]
fn sweep_gate_is_single_flight() {
    single_flight("SweepGate::single_flight", SweepGate::new, SweepGate::try_claim);
}

/// The lesson's pattern: loom finds the interleaving where both callers pass the check
/// before either stores, so two sweeps start.
#[test]
#[should_panic(expected = "more than one caller claimed the sweep")]
fn lesson_gate_lets_two_sweeps_start() {
    single_flight("LessonGate::single_flight", LessonGate::new, LessonGate::try_claim);
}
