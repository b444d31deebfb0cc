//! The graders on real threads: the lab's conformance suite and its linearizability checker,
//! run on each exercise's store. One `#[test]` per exercise, named after it, so
//! `cargo test -p sessionlab-exercises --test grade -- ex03_rwlock --exact` grades one.
//!
//! Whether a test requires the grader to pass or to fail is decided per exercise by
//! `common::expectation` (the not-done marker, or `SESSIONLAB_EXERCISE_EXPECT`).
//!
//! Knobs: `SESSIONLAB_EXERCISE_ROUNDS` (random histories per store, default 300).
#![cfg(not(loom))]

mod common;

use common::{Expect, Report, catching, expectation};
use sessionlab::check::conformance;
use sessionlab::check::history::Recorder;
use sessionlab::check::model::Op;
use sessionlab::{Config, SessionId, SessionStore, UserId};
use sessionlab_exercises::*;
use std::sync::Barrier;

/// The conformance suite's sequential checks: the ones a store with only a concurrency bug
/// passes.
const SEQUENTIAL: [&str; 9] = [
    "insert_then_touch",
    "insert_never_overwrites",
    "touch_absent_is_none",
    "expired_is_never_revived",
    "touch_never_moves_backwards",
    "remove_returns_user_once",
    "ids_are_reusable",
    "sweep_removes_exactly_the_expired",
    "create_gives_fresh_ids",
];

const TTL: u64 = 10;

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every conformance check (or only the sequential ones), one report line each.
fn conformance<S: SessionStore + 'static>(
    report: &mut Report,
    make: impl Fn(&Config) -> S,
    only_sequential: bool,
) {
    for (check, result) in conformance::run_all(&make) {
        if only_sequential && !SEQUENTIAL.contains(&check) {
            continue;
        }
        report.record(format!("conformance::{check}"), result.map_err(|v| v.message));
    }
}

/// Random three-thread histories over two ids, recorded on real threads released together,
/// each checked for linearizability against the lab's sequential model.
fn linearizability<S: SessionStore + 'static>(report: &mut Report, make: impl Fn(&Config) -> S) {
    let rounds = knob("SESSIONLAB_EXERCISE_ROUNDS", 300);
    let result = catching(|| {
        let mut rng = fastrand::Rng::with_seed(7);
        for round in 0..rounds {
            let scenario: Vec<Vec<Op>> =
                (0..3).map(|_| (0..8).map(|_| random_op(&mut rng)).collect()).collect();
            let recorder = Recorder::new(make(&Config::new(TTL)));
            let barrier = Barrier::new(scenario.len());
            let logs: Vec<_> = std::thread::scope(|s| {
                let handles: Vec<_> = scenario
                    .iter()
                    .enumerate()
                    .map(|(thread, ops)| {
                        let (recorder, barrier) = (&recorder, &barrier);
                        s.spawn(move || {
                            let mut log = recorder.log(thread);
                            barrier.wait();
                            for op in ops {
                                log.call(*op);
                            }
                            log.into_calls()
                        })
                    })
                    .collect();
                handles
                    .into_iter()
                    .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                    .collect()
            });
            let history = recorder.finish(logs);
            history.check(TTL).map_err(|e| format!("history {round} of {rounds}: {e}"))?;
        }
        Ok(())
    });
    report.record(format!("linearizability ({rounds} random histories)"), result);
}

fn random_op(rng: &mut fastrand::Rng) -> Op {
    let id = SessionId::fixed(rng.u64(0..2));
    let now = rng.u64(0..3 * TTL);
    match rng.u8(0..10) {
        0..=2 => Op::Insert { id, user: UserId(rng.u64(1..4)), now },
        3..=6 => Op::Touch { id, now },
        7..=8 => Op::Remove { id },
        _ => Op::Sweep { now },
    }
}

/// The full store grader: conformance, then linearizability.
fn grade_store<S: SessionStore + 'static>(name: &str, make: impl Fn(&Config) -> S + Copy) {
    let mut report = Report::default();
    conformance(&mut report, make, false);
    linearizability(&mut report, make);
    report.finish(name, "threads");
}

#[test]
fn ex02_mutex() {
    grade_store("ex02_mutex", ex02_mutex::MutexStore::new);
}

#[test]
fn ex03_rwlock() {
    grade_store("ex03_rwlock", ex03_rwlock::RwLockStore::new);
}

#[test]
fn ex04_sharded() {
    grade_store("ex04_sharded", ex04_sharded::ShardedStore::new);
}

#[test]
fn ex05_cow() {
    grade_store("ex05_cow", ex05_cow::CowStore::new);
}

#[test]
fn ex06_sweep_gate() {
    use ex06_sweep_gate::SweepGate;
    let mut report = Report::default();
    report.record(
        "closed before the interval, open at it, once",
        catching(|| {
            let gate = SweepGate::new(10, 0);
            let got =
                [gate.try_claim(9), gate.try_claim(10), gate.try_claim(15), gate.try_claim(20)];
            if got == [false, true, false, true] {
                Ok(())
            } else {
                Err(format!("claims at 9, 10, 15, 20 gave {got:?}, not [false, true, false, true]"))
            }
        }),
    );
    report.record(
        "four racing callers past the interval: exactly one wins (500 races)",
        catching(|| {
            for race in 0..500 {
                let gate = SweepGate::new(10, 0);
                let barrier = Barrier::new(4);
                let winners: usize = std::thread::scope(|s| {
                    let handles: Vec<_> = (0..4u64)
                        .map(|t| {
                            let (gate, barrier) = (&gate, &barrier);
                            s.spawn(move || {
                                barrier.wait();
                                usize::from(gate.try_claim(10 + t))
                            })
                        })
                        .collect();
                    handles
                        .into_iter()
                        .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
                        .sum()
                });
                if winners != 1 {
                    return Err(format!("race {race}: {winners} callers claimed the sweep"));
                }
            }
            Ok(())
        }),
    );
    report.finish("ex06_sweep_gate", "threads");
}

/// The suspect store passes every sequential check: that is the exercise. While it is
/// unsolved, this grader asserts exactly that (the loom grader is the one that must fail it);
/// once solved, it must pass everything.
#[test]
fn ex07_find_the_bug() {
    let make = |c: &Config| ex07_find_the_bug::SuspectStore::new(c);
    if expectation("ex07_find_the_bug") == Expect::Fail {
        let mut report = Report::default();
        conformance(&mut report, make, true);
        assert_eq!(
            report.failures(),
            0,
            "the find-the-bug stub must pass every sequential check (its bug is concurrent)"
        );
        println!("ex07_find_the_bug [threads]: the stub passes the sequential checks, as it must");
        return;
    }
    grade_store("ex07_find_the_bug", make);
}

#[test]
fn ex08_lockfree_remove() {
    grade_store("ex08_lockfree_remove", ex08_lockfree_remove::LockFreeList::new);
}

/// `exercises.json` (read by `sessionlab exercise`) lists exactly the exercises in `src/`, each
/// with a kept solution that does not carry the not-done marker. (That the committed stubs do
/// carry it is checked by `exercises/ci.sh`, not here: a student deletes it.)
#[test]
fn the_exercise_list_matches_the_files() {
    let list = include_str!("../exercises.json");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut stubs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("ex") && f.ends_with(".rs"))
        .map(|f| f.trim_end_matches(".rs").to_owned())
        .collect();
    stubs.sort();
    assert!(stubs.len() >= 8, "only {} exercises", stubs.len());
    for stub in &stubs {
        assert!(list.contains(&format!("\"name\": \"{stub}\"")), "{stub} is not in exercises.json");
        let solution = format!("{}/solutions/{stub}.rs", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&solution).unwrap_or_else(|e| panic!("{solution}: {e}"));
        assert!(!text.contains(sessionlab_exercises::NOT_DONE_MARKER), "{solution} has the marker");
    }
    assert_eq!(list.matches("\"number\":").count(), stubs.len(), "exercises.json lists others");
}
