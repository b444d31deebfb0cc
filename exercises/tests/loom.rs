//! The loom graders: the lab's own generic loom scenarios (`sessionlab::check::loom::scenarios`,
//! with its `run_model` runner) run on each exercise's store, plus each
//! exercise's own scenarios (exercise 3's gate, exercise 4's `touch_word`, exercise 8's
//! removals). Run them with the lab's documented loom command, for one exercise:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 \
//!     cargo test --release -p sessionlab-exercises --test loom -- ex04_rwlock --exact
//! ```
//!
//! Exercise 8 runs in crossbeam's own loom mode, where the epochs are loom's too:
//! `RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`.
//!
//! Each scenario runs in a child process (this test binary, re-executed on the hidden `child`
//! test) under a time limit: a store that panics inside a loom model can make loom panic again
//! while unwinding, which aborts the process, and one exercise's test must report every
//! scenario's verdict. Whether the verdicts must all pass, or some fail, is decided as in
//! `tests/grade.rs`.
#![cfg(loom)]
// Each exercise's grader is compiled only with its feature (`--features ex04_rwlock`).
#![allow(dead_code, unused_imports)]

mod common;

use common::{CHILD_VAR, Report, catching, check_timeout, child_verdict, in_child};
use sessionlab::check::loom::{run_model, scenarios};
use sessionlab::sync::{Arc, AtomicU64, Ordering, thread};
use sessionlab::{Config, SessionId, SessionStore, UserId};
use std::time::Duration;

/// The scenarios of the store exercises: the lab's generic ones (`sessionlab::check::loom::scenarios`), in
/// order, then the removals' own.
const STORE_SCENARIOS: [&str; 13] = [
    "insert_distinct",
    "insert_same",
    "remove_remove",
    "touch_remove",
    "touch_touch",
    "touch_sweep",
    "touch_expired_sweep",
    "insert_sweep",
    "sweep_sweep",
    "len_insert",
    "remove_sweep",
    "remove_insert_same_id",
    "remove_vs_remove_and_relogin",
];

/// Exercise 8's scenarios: only removals, on a tiny list, so crossbeam's loom mode finishes.
const REMOVALS: [&str; 4] =
    ["remove_remove", "remove_sweep", "remove_insert_same_id", "remove_insert_next_id"];

/// One scenario in a child, under the loom time limit.
fn loom_child(exercise: &str, scenario: &str) -> Result<(), String> {
    in_child(&format!("{exercise}:{scenario}"), check_timeout(120))
}

/// Runs `scenario` on stores built by `make` (in the child).
fn run_scenario<S: SessionStore + 'static>(
    scenario: &str,
    make: impl Fn(&Config) -> S + Copy + Send + Sync + 'static,
) {
    match scenario {
        "insert_distinct" => scenarios::insert_distinct(make),
        "insert_same" => scenarios::insert_same(make),
        "remove_remove" => scenarios::remove_remove(make),
        "touch_remove" => scenarios::touch_remove(make),
        "touch_touch" => scenarios::touch_touch(make),
        "touch_sweep" => scenarios::touch_sweep(make),
        "touch_expired_sweep" => scenarios::touch_expired_sweep(make),
        "insert_sweep" => scenarios::insert_sweep(make),
        "sweep_sweep" => scenarios::sweep_sweep(make),
        "len_insert" => scenarios::len_insert(make),
        "remove_sweep" => remove_sweep(make),
        "remove_insert_same_id" => remove_insert_same_id(make),
        "remove_insert_next_id" => remove_insert_next_id(make),
        "remove_vs_remove_and_relogin" => remove_vs_remove_and_relogin(make),
        other => panic!("no scenario {other}"),
    }
}

/// A logout racing the sweep on one expired session: exactly one removes it.
fn remove_sweep<S: SessionStore + 'static>(
    make: impl Fn(&Config) -> S + Copy + Send + Sync + 'static,
) {
    run_model("remove_sweep", 3, move || {
        let store = Arc::new(make(&scenarios::model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let other = {
            let store = Arc::clone(&store);
            thread::spawn(move || store.remove(&id))
        };
        let swept = store.sweep(scenarios::TTL);
        let removed = other.join().unwrap();
        assert_eq!(
            usize::from(removed.is_some()) + swept,
            1,
            "remove returned {removed:?} and the sweep removed {swept}: exactly one may remove \
             the session (the tombstone CAS decides: lesson 7)"
        );
        assert_eq!(store.len(), 0, "the session is gone, whoever removed it");
    });
}

/// A logout racing a login of the same id: the login succeeds only if it comes after the
/// removal, and then its session must survive (an unlink that did not freeze the removed
/// node's `next` can lose it).
fn remove_insert_same_id<S: SessionStore + 'static>(
    make: impl Fn(&Config) -> S + Copy + Send + Sync + 'static,
) {
    run_model("remove_insert_same_id", 3, move || {
        let store = Arc::new(make(&scenarios::model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let other = {
            let store = Arc::clone(&store);
            thread::spawn(move || store.remove(&id))
        };
        let inserted = store.insert(id, UserId(2), 1);
        let removed = other.join().unwrap();
        assert_eq!(removed, Some(UserId(1)), "the only remove of a live session must get it");
        if inserted.is_ok() {
            assert_eq!(
                store.touch(&id, 2),
                Some(UserId(2)),
                "the second login succeeded after the logout, but its session was lost"
            );
            assert_eq!(store.len(), 1);
        } else {
            assert_eq!(store.touch(&id, 2), None, "the login was refused, yet a session is there");
            assert_eq!(store.len(), 0);
        }
    });
}

/// A logout racing a login of the next id (which a sorted list links right after the removed
/// node): the login must survive. An unlink that did not first mark (freeze) the removed
/// node's `next` can unlink the new node with it (Harris's lost insert: lesson 7).
fn remove_insert_next_id<S: SessionStore + 'static>(
    make: impl Fn(&Config) -> S + Copy + Send + Sync + 'static,
) {
    run_model("remove_insert_next_id", 3, move || {
        let store = Arc::new(make(&scenarios::model_config()));
        let (one, two) = (SessionId::fixed(1), SessionId::fixed(2));
        store.insert(one, UserId(1), 0).unwrap();
        let other = {
            let store = Arc::clone(&store);
            thread::spawn(move || store.remove(&one))
        };
        let inserted = store.insert(two, UserId(2), 1);
        let removed = other.join().unwrap();
        assert_eq!(removed, Some(UserId(1)), "the only remove of a live session must get it");
        assert_eq!(inserted, Ok(()), "a login of a fresh id must succeed");
        assert_eq!(
            store.touch(&two, 2),
            Some(UserId(2)),
            "a login that raced the removal of another session was lost: the removed node's \
             `next` must be marked before the unlink (lesson 7)"
        );
        assert_eq!(store.len(), 1);
    });
}

/// A logout racing another logout followed by a re-login of the same id: the racing logout
/// gets nothing (it came second) or the *new* session's user (it came after the re-login),
/// never the old user again. A remove that reads the user under one lock acquisition and
/// deletes under another deletes the new session and reports the old user (check-then-act).
fn remove_vs_remove_and_relogin<S: SessionStore + 'static>(
    make: impl Fn(&Config) -> S + Copy + Send + Sync + 'static,
) {
    run_model("remove_vs_remove_and_relogin", 3, move || {
        let store = Arc::new(make(&scenarios::model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let other = {
            let store = Arc::clone(&store);
            thread::spawn(move || store.remove(&id))
        };
        let mine = store.remove(&id);
        let relogin = store.insert(id, UserId(2), 1);
        let theirs = other.join().unwrap();
        assert!(
            !(mine == Some(UserId(1)) && theirs == Some(UserId(1))),
            "both logouts got user 1 (and the re-login is {relogin:?}): one logout removed a \
             session it had not looked at; decide and delete under one lock acquisition"
        );
    });
}

/// Exercise 4: two touches of one word at 5 and 7 leave it at 7, in every interleaving.
#[cfg(feature = "ex04_rwlock")]
fn touch_word_race() {
    use sessionlab_exercises::ex04_rwlock::touch_word;
    run_model("ex04 touch_word: touches at 5 and 7 on one word", 3, || {
        let word = Arc::new(AtomicU64::new(0));
        let other = {
            let word = Arc::clone(&word);
            thread::spawn(move || touch_word(&word, 100, 5))
        };
        let mine = touch_word(&word, 100, 7);
        let theirs = other.join().unwrap();
        assert!(mine && theirs, "both touches of a live session must succeed");
        let last = word.load(Ordering::SeqCst);
        assert_eq!(
            last, 7,
            "touches at 5 and 7 left the word at {last}: the touch at 5 wrote last. A load \
             then a store is two steps; only a CAS loop (lesson 3) keeps activity from moving \
             backwards"
        );
    });
}

/// The hidden entry of a child process: runs the one scenario `CHILD_VAR` names
/// (`exercise:scenario`) and prints its verdict; does nothing in a normal test run.
#[test]
fn child() {
    let Ok(target) = std::env::var(CHILD_VAR) else { return };
    common::exit_when_parent_dies();
    let (exercise, scenario) = target.split_once(':').expect("exercise:scenario");
    let scenario = scenario.to_owned();
    let exercise = exercise.to_owned();
    child_verdict(catching(move || {
        run_in_child(&exercise, &scenario);
        Ok(())
    }));
}

fn run_in_child(exercise: &str, scenario: &str) {
    use sessionlab_exercises::*;
    match exercise {
        #[cfg(feature = "ex01_mutex")]
        "ex01_mutex" => run_scenario(scenario, ex01_mutex::MutexStore::new),
        #[cfg(feature = "ex02_racy_loom")]
        "ex02_racy_loom" => {
            let racy = scenario == "racy";
            run_model(&format!("ex02 scenario on {scenario}"), 3, move || {
                let config = scenarios::model_config();
                if racy {
                    // SAFETY: inside a loom model, which checks every access to the racy
                    // store's cell before it is made and panics on the first race.
                    let store = unsafe { sessionlab::RacyStore::new(&config) };
                    ex02_racy_loom::scenario(Arc::new(store));
                } else {
                    ex02_racy_loom::scenario(Arc::new(sessionlab::MutexStore::new(&config)));
                }
            });
        }
        #[cfg(feature = "ex03_sweep_gate")]
        "ex03_sweep_gate" => gate_single_flight(),
        #[cfg(feature = "ex04_rwlock")]
        "ex04_rwlock" if scenario == "touch_word_race" => touch_word_race(),
        #[cfg(feature = "ex04_rwlock")]
        "ex04_rwlock" => run_scenario(scenario, ex04_rwlock::RwLockStore::new),
        #[cfg(feature = "ex05_sharded")]
        "ex05_sharded" => run_scenario(scenario, ex05_sharded::ShardedStore::new),
        #[cfg(feature = "ex06_cow")]
        "ex06_cow" => run_scenario(scenario, ex06_cow::CowStore::new),
        #[cfg(feature = "ex07_find_the_bug")]
        "ex07_find_the_bug" => run_scenario(scenario, ex07_find_the_bug::SuspectStore::new),
        #[cfg(all(crossbeam_loom, feature = "ex08_lockfree_remove"))]
        "ex08_lockfree_remove" => run_scenario(scenario, ex08_lockfree_remove::LockFreeList::new),
        other => panic!("no loom grader for {other} in this build (is its feature on?)"),
    }
}

/// Every scenario in `scenarios` on one exercise's store, each in its own child.
fn grade_store(exercise: &str, scenarios: &[&str]) {
    let mut report = Report::default();
    for scenario in scenarios {
        report.timed(format!("loom::{scenario}"), || loom_child(exercise, scenario));
    }
    report.finish(exercise, "loom");
}

/// Prints loom's report, indented, so a student reads it whatever the verdict.
fn show_report(title: &str, text: &str) {
    println!("        {title}");
    for line in text.lines().take(40) {
        println!("        | {line}");
    }
}

#[cfg(feature = "ex02_racy_loom")]
#[test]
fn ex02_racy_loom() {
    use sessionlab_exercises::ex02_racy_loom::{LoomReport, what_loom_reported};
    let mut report = Report::default();
    let on_racy = loom_child("ex02_racy_loom", "racy");
    match &on_racy {
        Ok(()) => show_report("loom's report on the racy store: every interleaving passed", ""),
        Err(text) => show_report("loom's report on the racy store (read it: lesson 2):", text),
    }
    let race = match &on_racy {
        Err(message) if message.contains("Causality violation") => Some(message.clone()),
        _ => None,
    };
    report.record(
        "the scenario makes loom report a data race on the racy store",
        match (&on_racy, &race) {
            (_, Some(_)) => Ok(()),
            (Ok(()), None) => Err("every interleaving passed: do two threads use the store \
                                   at once, after the spawn and before the join?"
                .to_owned()),
            (Err(other), None) => Err(format!(
                "it failed, but not with a data race (loom's report is above): {}",
                other.lines().next().unwrap_or_default()
            )),
        },
    );
    report.record(
        "the scenario passes on a correct store (MutexStore)",
        loom_child("ex02_racy_loom", "mutex").map_err(|why| {
            format!("{why}\n(a scenario may assert only what the specification promises)")
        }),
    );
    report.record(
        "what_loom_reported names the race loom found",
        catching(|| {
            let answer = what_loom_reported();
            let Some(message) = &race else {
                return Err(format!("answered {answer:?}, but loom found no data race yet"));
            };
            let expected = if message.contains("Concurrent write accesses") {
                LoomReport::ConcurrentWrites
            } else {
                LoomReport::ConcurrentReadAndWrite
            };
            if answer == expected {
                Ok(())
            } else {
                Err(format!("answered {answer:?}; loom's report above says otherwise"))
            }
        }),
    );
    report.finish("ex02_racy_loom", "loom");
}

#[cfg(feature = "ex01_mutex")]
#[test]
fn ex01_mutex() {
    grade_store("ex01_mutex", &STORE_SCENARIOS);
}

/// Two callers past the interval (at 10 and 12): in every interleaving exactly one sweeps,
/// and the claimed tick is the winner's (only the winner writes).
#[cfg(feature = "ex03_sweep_gate")]
fn gate_single_flight() {
    use sessionlab_exercises::ex03_sweep_gate::SweepGate;
    run_model("ex03 SweepGate::single_flight", 3, || {
        let gate = Arc::new(SweepGate::new(10, 0));
        let other = {
            let gate = Arc::clone(&gate);
            thread::spawn(move || gate.try_claim(12))
        };
        let mine = gate.try_claim(10);
        let theirs = other.join().unwrap();
        assert!(mine || theirs, "neither caller past the interval swept");
        assert!(
            !(mine && theirs),
            "both callers claimed the sweep: the check and the claim must be one \
             compare_exchange (lesson 3)"
        );
        let winner = if mine { 10 } else { 12 };
        let last = gate.last_claim();
        assert_eq!(
            last, winner,
            "the caller at {winner} won, but the claimed tick is {last}: the loser wrote it \
             (only the winner's CAS may write: lesson 3)"
        );
    });
}

#[cfg(feature = "ex03_sweep_gate")]
#[test]
fn ex03_sweep_gate() {
    let mut report = Report::default();
    report.timed("loom::single_flight", || loom_child("ex03_sweep_gate", "single_flight"));
    report.finish("ex03_sweep_gate", "loom");
}

#[cfg(feature = "ex04_rwlock")]
#[test]
fn ex04_rwlock() {
    let mut scenarios = vec!["touch_word_race"];
    scenarios.extend(STORE_SCENARIOS);
    grade_store("ex04_rwlock", &scenarios);
}

#[cfg(feature = "ex05_sharded")]
#[test]
fn ex05_sharded() {
    grade_store("ex05_sharded", &STORE_SCENARIOS);
}

#[cfg(feature = "ex06_cow")]
#[test]
fn ex06_cow() {
    grade_store("ex06_cow", &STORE_SCENARIOS);
}

#[cfg(feature = "ex07_find_the_bug")]
#[test]
fn ex07_find_the_bug() {
    grade_store("ex07_find_the_bug", &STORE_SCENARIOS);
}

/// Only in crossbeam's own loom mode, where the epochs and links are loom's too
/// (`RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`): the removal scenarios on a one-list store.
#[cfg(all(crossbeam_loom, feature = "ex08_lockfree_remove"))]
#[test]
fn ex08_lockfree_remove() {
    grade_store("ex08_lockfree_remove", &REMOVALS);
}
