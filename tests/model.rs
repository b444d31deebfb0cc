//! Sequential model check: every store, correct or not, against the reference model
//! ([`sessionlab::check::model::Model`]), one call at a time.
//!
//! Sequentially every store must behave exactly like the model, the racy store and the
//! mutants included (their bugs need a second thread). proptest generates call sequences over
//! a small pool of ids, so inserts collide, touches hit expired sessions and sweeps find
//! work, with `now` values that jump back and forth (threads read the clock at different
//! moments). On a mismatch proptest shrinks the sequence to a minimal one and records its seed
//! in `proptest-regressions/model.txt`; that file is committed, so the case is replayed first
//! on every later run.
//!
//! Longer runs: `PROPTEST_CASES=20000 cargo test --release --test model`.

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

mod common;

use proptest::prelude::*;
use sessionlab::check::model::{Model, Op};
use sessionlab::check::mutants;
use sessionlab::{Config, SessionId, SessionStore, StoreKind, Tick, UserId};

type Build = Box<dyn Fn(&Config) -> Box<dyn SessionStore>>;

/// Every store, by name: the registry's (the racy one included: one thread is safe) and the
/// mutants.
fn all_stores() -> Vec<(&'static str, Build)> {
    let registry = StoreKind::ALL.iter().map(|&kind| {
        let build: Build = Box::new(move |config| kind.build(config));
        (kind.name(), build)
    });
    let mutants = mutants::ALL.iter().map(|mutant| {
        let build: Build = Box::new(mutant.build);
        (mutant.name, build)
    });
    registry.chain(mutants).collect()
}

const TTL: u64 = 10;

/// Ticks around a ttl of 10, so that expiries happen, in any order.
fn tick() -> impl Strategy<Value = Tick> {
    0..40u64
}

fn op(pool: u64) -> impl Strategy<Value = Op> {
    let id = (0..pool).prop_map(SessionId::fixed);
    prop_oneof![
        3 => (id.clone(), 1..4u64, tick())
            .prop_map(|(id, user, now)| Op::Insert { id, user: UserId(user), now }),
        4 => (id.clone(), tick()).prop_map(|(id, now)| Op::Touch { id, now }),
        2 => id.prop_map(|id| Op::Remove { id }),
        1 => tick().prop_map(|now| Op::Sweep { now }),
        1 => Just(Op::Len),
    ]
}

fn ops() -> impl Strategy<Value = Vec<Op>> {
    (1..6u64).prop_flat_map(|pool| prop::collection::vec(op(pool), 0..60))
}

/// Runs `ops` on a fresh store and on the model; the first difference fails, naming the step.
fn agrees_with_model(name: &str, build: &Build, ttl: u64, ops: &[Op]) -> Result<(), TestCaseError> {
    let store = build(&Config::new(ttl).with_shards(4));
    let mut model = Model::new(ttl);
    for (step, op) in ops.iter().enumerate() {
        let expected = model.apply(op);
        let got = op.apply(&*store);
        prop_assert_eq!(
            got,
            expected,
            "store {} differs from the model at step {} ({})",
            name,
            step,
            op
        );
    }
    prop_assert_eq!(store.len(), model.len(), "store {} final len", name);
    Ok(())
}

proptest! {
    #![proptest_config(common::proptest_config(512, "model.txt"))]

    #[test]
    fn every_store_matches_the_model_sequentially(ops in ops()) {
        for (name, build) in &all_stores() {
            agrees_with_model(name, build, TTL, &ops)?;
        }
    }
}

/// The model check must be able to fail: a store that forgets to refuse an occupied id is
/// caught, and shrinking reduces the evidence to the two inserts that show it.
#[test]
fn the_check_catches_an_overwriting_store_and_shrinks_it() {
    use proptest::test_runner::{Config as RunnerConfig, TestError, TestRunner};
    use sessionlab::{MutexStore, Occupied};

    struct Overwriting(MutexStore);
    impl SessionStore for Overwriting {
        fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
            self.0.remove(&id);
            self.0.insert(id, user, now)
        }
        fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
            self.0.touch(id, now)
        }
        fn remove(&self, id: &SessionId) -> Option<UserId> {
            self.0.remove(id)
        }
        fn sweep(&self, now: Tick) -> usize {
            self.0.sweep(now)
        }
        fn len(&self) -> usize {
            self.0.len()
        }
    }

    let build: Build = Box::new(|config| Box::new(Overwriting(MutexStore::new(config))));
    let mut runner =
        TestRunner::new(RunnerConfig { failure_persistence: None, ..RunnerConfig::default() });
    let result = runner.run(&ops(), |ops| agrees_with_model("overwriting", &build, TTL, &ops));
    match result {
        Err(TestError::Fail(_, minimal)) => {
            assert_eq!(minimal.len(), 2, "shrunk to two calls: {minimal:?}");
            assert!(minimal.iter().all(|op| matches!(op, Op::Insert { .. })), "{minimal:?}");
        }
        other => panic!("the overwriting store was not caught: {other:?}"),
    }
}

/// Ticks at both ends of time: the activity word reserves `u64::MAX` as its tombstone and
/// clamps `now` below it, which the model does not.
fn extreme_tick() -> impl Strategy<Value = Tick> {
    prop_oneof![0..3u64, (u64::MAX - 3)..=u64::MAX]
}

fn extreme_op() -> impl Strategy<Value = Op> {
    let id = (0..2u64).prop_map(SessionId::fixed);
    prop_oneof![
        (id.clone(), extreme_tick()).prop_map(|(id, now)| Op::Insert { id, user: UserId(1), now }),
        (id.clone(), extreme_tick()).prop_map(|(id, now)| Op::Touch { id, now }),
        id.prop_map(|id| Op::Remove { id }),
        extreme_tick().prop_map(|now| Op::Sweep { now }),
        Just(Op::Len),
    ]
}

proptest! {
    #![proptest_config(common::proptest_config(256, "model.txt"))]

    // Found by this test, minimal case (saved in proptest-regressions/model.txt): ttl = 1,
    // insert(#1, now = u64::MAX - 1), then touch(#1, now = u64::MAX). The model says expired
    // (MAX - 1 + 1 <= MAX) and returns None; the activity-word stores used to clamp `now` to
    // MAX - 1 *before* the expiry check and return Some. Fixed in `Activity::touch`, which
    // now judges expiry at the caller's `now` and clamps only the value stored.
    #[test]
    fn every_store_matches_the_model_at_the_ends_of_time(
        ttl in prop_oneof![Just(1u64), Just(2), Just(u64::MAX - 1), Just(u64::MAX)],
        ops in prop::collection::vec(extreme_op(), 0..20),
    ) {
        for (name, build) in &all_stores() {
            agrees_with_model(name, build, ttl, &ops)?;
        }
    }
}
