//! Linearizability of real-thread histories ([`sessionlab::check::history`]).
//!
//! * The checker itself, on hand-written histories: it accepts what the specification allows
//!   and rejects what it forbids (so the properties below can fail).
//! * Every correct store (`StoreKind::correct()`, so new stores join automatically): random
//!   scenarios of 2–4 threads with 3–20 calls each over a pool of 1–4 ids, each run several
//!   times on real threads released together by a barrier; every history must be
//!   linearizable.
//! * Every mutant (`sessionlab::check::mutants::ALL`): within a bounded number of tries some history
//!   must be *non*-linearizable; the smallest witness found is printed. Three of every four
//!   tries use a "hot session" family (see `hot_scenario`), the fourth the general one.
//! * The racy store, in a child process (this test binary re-executed on one hidden test): it
//!   must report a non-linearizable history, crash, or hang; never take this process down.
//!   Each mutant's hunt runs in a child too: the lock-free mutants can corrupt memory.
//!
//! Knobs (all optional): `PROPTEST_CASES` (scenarios per correct store, default 128),
//! `SESSIONLAB_REPEATS` (runs per scenario, default 4), `SESSIONLAB_MUTANT_TRIES` (bound per
//! mutant, default 40000), `SESSIONLAB_RACY_TRIES` (bound in the racy child, default 20000).
//! Example of a long run: `PROPTEST_CASES=2000 cargo test --release --test linearizability --
//! --nocapture`. The counts of histories checked are printed (visible with `--nocapture`).

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

mod common;

use common::knob;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use sessionlab::check::history::{Call, History, NotLinearizable, record_threads};
use sessionlab::check::isolate::{ChildOutcome, run_child};
use sessionlab::check::model::{Op, Ret};
use sessionlab::check::mutants;
use sessionlab::{Config, Occupied, SessionId, SessionStore, StoreKind, Tick, UserId};
use std::cell::Cell;
use std::time::Duration;

const TTL: u64 = 10;

// ---------------------------------------------------------------------------------------------
// Scenarios

type Scenario = Vec<Vec<Op>>;

fn op(pool: u64) -> impl Strategy<Value = Op> {
    let id = (0..pool).prop_map(SessionId::fixed);
    let now = 0..3 * TTL;
    prop_oneof![
        3 => (id.clone(), 1..4u64, now.clone())
            .prop_map(|(id, user, now)| Op::Insert { id, user: UserId(user), now }),
        4 => (id.clone(), now.clone()).prop_map(|(id, now)| Op::Touch { id, now }),
        2 => id.prop_map(|id| Op::Remove { id }),
        1 => now.prop_map(|now| Op::Sweep { now }),
        1 => Just(Op::Len),
    ]
}

/// 2–4 threads, 3–20 calls each, over a pool of 1–4 ids.
fn scenario() -> impl Strategy<Value = Scenario> {
    (1..=4u64, 2..=4usize).prop_flat_map(|(pool, threads)| {
        prop::collection::vec(prop::collection::vec(op(pool), 3..=20), threads)
    })
}

/// The hunt's second family: one hot session and per-thread clocks that move forward at
/// about one tick per call, a few ticks apart between threads, the way real request clocks
/// do. Most calls touch (so activity words are written all the time and two threads' writes
/// race); sweeps land about one ttl behind the clock, where a session whose activity slipped
/// backwards by a tick or two expires early; inserts bring the session back after a
/// legitimate expiry. Two threads (this machine's core count) of 50–200 calls: the
/// backwards-touch race window is a few nanoseconds, and the general family's short threads
/// rarely overlap in it; long runs of touches on two cores do within a few thousand tries.
/// (The 2–4 threads of 3–20 calls in the issue are the correct stores' property; a hunt is
/// free to use any shape.)
fn hot_scenario() -> impl Strategy<Value = Scenario> {
    let id = SessionId::fixed(0);
    let thread = prop::collection::vec((0..10u8, 0..4u64), 50..=200).prop_map(move |draws| {
        draws
            .into_iter()
            .enumerate()
            .map(|(i, (kind, jitter))| {
                let clock = i as u64 + jitter;
                match kind {
                    0 => Op::Insert { id, user: UserId(1), now: clock },
                    1 | 2 => Op::Sweep { now: clock + TTL },
                    _ => Op::Touch { id, now: clock },
                }
            })
            .collect::<Vec<Op>>()
    });
    prop::collection::vec(thread, 2..=2)
}

fn config() -> Config {
    Config::new(TTL).with_shards(2)
}

/// What a hunt found: the smallest witness among the first few, with how many histories it
/// took to find the first, and how many runs ended in a panicking store call.
struct Hunt {
    best: Option<(NotLinearizable, u64)>,
    panics: u64,
}

/// Runs random scenarios on stores from `build` until one history is not linearizable or
/// `tries` histories were checked. A run whose store call panicked counts in `panics`, and
/// the hunt goes on with a fresh store.
/// Builds an empty store to hunt in.
type Build = dyn Fn(&Config) -> Box<dyn SessionStore>;

fn hunt(build: &Build, tries: u64) -> Hunt {
    let mut runner = TestRunner::default();
    let (general, hot) = (scenario(), hot_scenario());
    let mut best: Option<(NotLinearizable, u64)> = None;
    let (mut found, mut panics) = (0, 0);
    for attempt in 1..=tries {
        let scenario = if attempt % 4 == 0 {
            general.new_tree(&mut runner).expect("scenario").current()
        } else {
            hot.new_tree(&mut runner).expect("scenario").current()
        };
        let history = match record_threads(build(&config()), &scenario) {
            Ok(history) => history,
            Err(_) => {
                panics += 1;
                continue;
            }
        };
        if let Err(violation) = history.check(TTL) {
            found += 1;
            let first = best.as_ref().map_or(attempt, |(_, at)| *at);
            if best.as_ref().is_none_or(|(b, _)| violation.witness.len() < b.witness.len()) {
                best = Some((violation, first));
            }
        }
        // A few more witnesses, within a hundred more tries, often give a smaller one to print.
        if best.as_ref().is_some_and(|(_, first)| found == 5 || attempt >= first + 100) {
            break;
        }
    }
    Hunt { best, panics }
}

// ---------------------------------------------------------------------------------------------
// The checker on hand-written histories

fn id(n: u64) -> SessionId {
    SessionId::fixed(n)
}

/// A call on `thread` spanning stamps `invoked..returned`.
fn call(thread: usize, invoked: u64, returned: u64, op: Op, ret: Ret) -> Call {
    Call { thread, op, ret, invoked, returned }
}

fn insert(n: u64, now: Tick) -> Op {
    Op::Insert { id: id(n), user: UserId(n), now }
}

#[test]
fn checker_accepts_a_concurrent_insert_and_remove_either_way() {
    // Overlapping: the remove may go first (None) or second (Some).
    for removed in [None, Some(UserId(1))] {
        let history = History::new(vec![
            call(0, 0, 3, insert(1, 0), Ret::Insert(Ok(()))),
            call(1, 1, 2, Op::Remove { id: id(1) }, Ret::Remove(removed)),
        ]);
        assert!(history.check(TTL).is_ok(), "{history}");
    }
}

#[test]
fn checker_rejects_two_successful_inserts_of_one_id() {
    let history = History::new(vec![
        call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
        call(1, 2, 3, insert(1, 0), Ret::Insert(Ok(()))),
    ]);
    let error = history.check(TTL).expect_err("two Ok inserts");
    assert!(error.reason.contains("#1"), "{error}");
}

#[test]
fn checker_respects_real_time_order() {
    // The remove returned before the insert began: it must see nothing.
    let history = History::new(vec![
        call(1, 0, 1, Op::Remove { id: id(1) }, Ret::Remove(Some(UserId(1)))),
        call(0, 2, 3, insert(1, 0), Ret::Insert(Ok(()))),
    ]);
    assert!(history.check(TTL).is_err(), "{history}");
    // Overlapping, the same results are fine.
    let history = History::new(vec![
        call(1, 0, 3, Op::Remove { id: id(1) }, Ret::Remove(Some(UserId(1)))),
        call(0, 1, 2, insert(1, 0), Ret::Insert(Ok(()))),
    ]);
    assert!(history.check(TTL).is_ok(), "{history}");
}

#[test]
fn checker_rejects_a_revived_session() {
    let history = History::new(vec![
        call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
        call(0, 2, 3, Op::Touch { id: id(1), now: 10 }, Ret::Touch(Some(UserId(1)))),
    ]);
    assert!(history.check(TTL).is_err(), "expired at 0 + 10 <= 10");
}

#[test]
fn checker_counts_sweeps_per_key() {
    let setup = [
        call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
        call(0, 2, 3, insert(2, 5), Ret::Insert(Ok(()))),
    ];
    // At 12, only #1 (0 + 10 <= 12) is expired.
    for (count, ok) in [(0, false), (1, true), (2, false)] {
        let mut calls = setup.to_vec();
        calls.push(call(1, 4, 5, Op::Sweep { now: 12 }, Ret::Sweep(count)));
        let history = History::new(calls);
        assert_eq!(history.check(TTL).is_ok(), ok, "sweep returned {count}\n{history}");
    }
}

#[test]
fn checker_lets_a_sweep_remove_each_key_at_its_own_instant() {
    // A touch overlaps the sweep: the sweep may take #1 before the touch (touch: None) or
    // find it touched (sweep: 0). "Touch Some and sweep 1" is the one forbidden pair.
    for (touched, swept, ok) in
        [(None, 1, true), (Some(UserId(1)), 0, true), (Some(UserId(1)), 1, false), (None, 0, false)]
    {
        let history = History::new(vec![
            call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
            call(0, 2, 5, Op::Touch { id: id(1), now: 9 }, Ret::Touch(touched)),
            call(1, 3, 4, Op::Sweep { now: 10 }, Ret::Sweep(swept)),
            call(2, 6, 7, Op::Touch { id: id(1), now: 10 }, Ret::Touch(touched.map(|_| UserId(1)))),
        ]);
        assert_eq!(history.check(TTL).is_ok(), ok, "{history}");
    }
}

#[test]
fn checker_judges_quiescent_len_and_ignores_overlapping_len() {
    let base = [
        call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
        call(0, 2, 3, insert(2, 0), Ret::Insert(Ok(()))),
    ];
    let quiescent = |n| {
        let mut calls = base.to_vec();
        calls.push(call(1, 4, 5, Op::Len, Ret::Len(n)));
        History::new(calls)
    };
    assert!(quiescent(2).check(TTL).is_ok());
    assert!(quiescent(1).check(TTL).is_err());
    let mut calls = base.to_vec();
    calls.push(call(1, 2, 5, Op::Len, Ret::Len(7)));
    let overlapping = History::new(calls);
    assert!(overlapping.check(TTL).is_ok(), "len is only exact when nothing is in flight");
}

#[test]
fn checker_rejects_results_of_the_wrong_kind() {
    let history = History::new(vec![call(0, 0, 1, insert(1, 0), Ret::Touch(None))]);
    assert!(history.check(TTL).is_err());
}

#[test]
fn checker_witness_is_the_shortest_failing_prefix() {
    let mut calls = vec![
        call(0, 0, 1, insert(1, 0), Ret::Insert(Ok(()))),
        call(1, 2, 3, insert(1, 0), Ret::Insert(Ok(()))),
    ];
    for i in 0..10 {
        calls.push(call(
            0,
            4 + 2 * i,
            5 + 2 * i,
            Op::Touch { id: id(1), now: 1 },
            Ret::Touch(Some(UserId(1))),
        ));
    }
    let error = History::new(calls).check(TTL).expect_err("two Ok inserts");
    assert_eq!(error.witness.len(), 2, "{error}");
}

#[test]
fn a_pending_call_may_or_may_not_have_taken_effect() {
    // Cut while the insert is in flight: a touch that saw the session, and one that did not,
    // are both explained by some choice.
    for seen in [None, Some(UserId(1))] {
        let history = History::new(vec![
            call(0, 0, 9, insert(1, 0), Ret::Insert(Ok(()))),
            call(1, 1, 2, Op::Touch { id: id(1), now: 1 }, Ret::Touch(seen)),
        ])
        .prefix(3);
        assert!(history.is_pending(&history.calls()[0]));
        assert!(history.check(TTL).is_ok(), "{history}");
    }
    // But a pending call cannot explain a result that no order gives.
    let history = History::new(vec![
        call(0, 0, 9, insert(1, 0), Ret::Insert(Ok(()))),
        call(1, 1, 2, Op::Touch { id: id(1), now: 1 }, Ret::Touch(Some(UserId(2)))),
    ])
    .prefix(3);
    assert!(history.check(TTL).is_err(), "{history}");
}

#[test]
fn recorder_stamps_agree_with_program_order() {
    let history = record_threads(config_store(), &[vec![insert(1, 0), Op::Remove { id: id(1) }]])
        .expect("no panic");
    let calls = history.calls();
    assert_eq!(calls.len(), 3, "two calls and the final len");
    assert!(calls.windows(2).all(|w| w[0].returned < w[1].invoked), "{history}");
    assert_eq!(calls[2].ret, Ret::Len(0));
    assert_eq!(calls[0].ret, Ret::Insert(Ok(())));
    assert_ne!(calls[0].ret, Ret::Insert(Err(Occupied)));
}

fn config_store() -> Box<dyn SessionStore> {
    StoreKind::Mutex.build(&config())
}

// ---------------------------------------------------------------------------------------------
// Correct stores: every history linearizable

#[test]
fn every_correct_store_gives_linearizable_histories() {
    let repeats = knob("SESSIONLAB_REPEATS", 4);
    for kind in StoreKind::correct() {
        let mut runner = TestRunner::new(common::proptest_config(128, "linearizability.txt"));
        let histories = Cell::new(0u64);
        let longest = Cell::new(0usize);
        let result = runner.run(&scenario(), |scenario| {
            for _ in 0..repeats {
                let history = record_threads(kind.build(&config()), &scenario)
                    .map_err(|panic| TestCaseError::fail(format!("store {kind}: {panic}")))?;
                histories.set(histories.get() + 1);
                longest.set(longest.get().max(history.len()));
                if let Err(violation) = history.check(TTL) {
                    return Err(TestCaseError::fail(format!("store {kind}: {violation}")));
                }
            }
            Ok(())
        });
        if let Err(error) = result {
            panic!("{error}");
        }
        let (histories, longest) = (histories.get(), longest.get());
        eprintln!(
            "{kind}: {histories} histories checked, all linearizable (longest {longest} calls)"
        );
        assert!(histories > 0);
    }
}

// ---------------------------------------------------------------------------------------------
// Mutants: some history is not linearizable

/// Every mutant's hunt runs in a child process, as the racy store's does: the lock-free
/// mutants' bugs can also free a node that is still reachable (a use after free on real
/// threads), and corrupted memory in this process would take down the tests beside it. A
/// mutant is caught when its child prints a non-linearizable history; one of the lock-free
/// mutants may instead crash, which is reported as what it is.
#[test]
fn every_mutant_gives_a_non_linearizable_history() {
    let mut missed = Vec::new();
    for mutant in mutants::ALL {
        let outcome = hunt_in_child(mutant.name);
        match &outcome {
            ChildOutcome::Exited { code: VIOLATION_EXIT, stdout, .. } => {
                assert!(stdout.contains("not linearizable"), "{stdout}");
                let report =
                    stdout.find("caught after").map_or(stdout.as_str(), |at| &stdout[at..]);
                eprintln!("mutant {}: {report}", mutant.name);
            }
            ChildOutcome::Signaled { .. } if LOCK_FREE_MUTANTS.contains(&mutant.name) => {
                eprintln!(
                    "mutant {}: crashed before a history was judged (its bug frees nodes still \
                     reachable): {}",
                    mutant.name,
                    outcome.describe()
                );
            }
            _ => missed.push(format!("{}: {}", mutant.name, outcome.describe())),
        }
    }
    assert!(missed.is_empty(), "mutants not caught: {missed:#?}");
}

/// The mutants in `mutants::ALL` built on the lock-free store, whose bugs can corrupt memory
/// on real threads (a node freed by a helper is linked back by the unmarked unlink).
const LOCK_FREE_MUTANTS: [&str; 1] = ["unmarked-unlink"];

// ---------------------------------------------------------------------------------------------
// Hunts in a child process: the racy store, and every mutant

const CHILD_STORE: &str = "SESSIONLAB_LINEARIZABILITY_CHILD";
const VIOLATION_EXIT: i32 = 3;
const PANIC_EXIT: i32 = 4;

/// The child's side: not a test of its own. Without the environment variable it returns at
/// once; with it, it hunts the store it names (`racy` or a mutant's name) and exits
/// `VIOLATION_EXIT` with the witness on stdout; else `PANIC_EXIT` if store calls panicked (a
/// corrupted map trips an overflow check or an assertion inside `HashMap`); else 0: every
/// history was linearizable. A panicking run does not end the hunt: the next run gets a fresh
/// store (this is a child process, so undefined behaviour cannot reach the test run).
#[test]
fn child_entry() {
    let Some(name) = std::env::var_os(CHILD_STORE) else {
        return;
    };
    let name = name.to_string_lossy().into_owned();
    let racy = |config: &Config| StoreKind::Racy.build(config);
    let (build, tries): (&Build, u64) = if name == "racy" {
        (&racy, knob("SESSIONLAB_RACY_TRIES", 20_000))
    } else {
        let mutant = mutants::ALL.iter().find(|mutant| mutant.name == name);
        let mutant = mutant.unwrap_or_else(|| panic!("no store named {name:?} to hunt"));
        (&mutant.build, knob("SESSIONLAB_MUTANT_TRIES", 40_000))
    };
    let found = hunt(build, tries);
    if let Some((violation, after)) = found.best {
        println!(
            "caught after {after} histories ({} runs panicked); smallest witness ({} calls):\n\
             {violation}",
            found.panics,
            violation.witness.len()
        );
        std::process::exit(VIOLATION_EXIT);
    }
    if found.panics > 0 {
        println!("{} runs panicked inside the {name} store (see stderr)", found.panics);
        std::process::exit(PANIC_EXIT);
    }
    println!("all {tries} histories were linearizable");
}

/// Runs [`child_entry`] on the store `name` in a child process, with a time limit.
fn hunt_in_child(name: &str) -> ChildOutcome {
    let exe = std::env::current_exe().expect("the test binary's path");
    let mut command = std::process::Command::new(exe);
    command
        .args(["child_entry", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_STORE, name);
    run_child(command, Duration::from_secs(120)).expect("start the child")
}

#[test]
fn the_racy_store_is_caught_in_a_child_process() {
    let outcome = hunt_in_child("racy");
    match &outcome {
        ChildOutcome::Exited { code: VIOLATION_EXIT, stdout, .. } => {
            eprintln!("racy store: not linearizable, {stdout}");
            assert!(stdout.contains("not linearizable"), "{stdout}");
        }
        ChildOutcome::Exited { code: PANIC_EXIT, stderr, .. } => {
            eprintln!("racy store: a call panicked in the child: {}", outcome.describe());
            assert!(stderr.contains("panicked"), "{stderr}");
        }
        ChildOutcome::Signaled { .. } | ChildOutcome::Hung { .. } => {
            eprintln!("racy store: {}", outcome.describe());
        }
        ChildOutcome::Exited { code, stdout, stderr } => {
            panic!("the racy store survived the hunt (exit {code}):\n{stdout}\n{stderr}")
        }
    }
}

/// A failure points at the call that cannot be placed: the one whose return turns the
/// shortest failing prefix from linearizable into not.
#[test]
fn the_call_that_cannot_be_placed_is_marked() {
    let user = UserId(1);
    let history = History::new(vec![
        call(0, 0, 1, Op::Insert { id: id(1), user, now: 0 }, Ret::Insert(Ok(()))),
        call(0, 2, 3, Op::Remove { id: id(1) }, Ret::Remove(Some(user))),
        call(1, 4, 5, Op::Remove { id: id(1) }, Ret::Remove(Some(user))),
        call(0, 6, 7, Op::Len, Ret::Len(0)),
    ]);
    let error = history.check(10).expect_err("a second remove cannot return the user again");
    assert_eq!(error.culprit, Some((1, 4)), "{error}");
    let text = error.to_string();
    let marked: Vec<&str> = text.lines().filter(|l| l.ends_with("<- cannot be placed")).collect();
    assert_eq!(marked.len(), 1, "{text}");
    assert!(marked[0].contains("t1"), "the second remove (thread 1) is the culprit: {text}");
    assert!(!text.contains("len"), "the minimal history stops at the culprit: {text}");
}
