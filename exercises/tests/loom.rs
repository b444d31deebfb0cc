//! The loom graders: the lab's own generic loom scenarios
//! (`sessionlab::check::loom::scenarios`, with its `run_model` runner) run on each exercise's store. Run them with
//! the lab's documented loom command, for one exercise:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 \
//!     cargo test --release -p sessionlab-exercises --test loom -- ex03_rwlock --exact
//! ```
//!
//! Each scenario runs in a child process (this test binary, re-executed on the hidden
//! `loom_child` test): a store that panics inside a loom model can make loom panic again while
//! unwinding, which aborts the process, and one exercise's test must report every scenario's
//! verdict. Whether the verdicts must all pass, or some fail, is decided as in `tests/grade.rs`.
#![cfg(loom)]

mod common;

use common::{Report, catching};
use sessionlab::check::loom::gate::single_flight;
use sessionlab::check::loom::{run_model, scenarios};
use sessionlab::sync::Arc;
use sessionlab::{Config, SessionStore};
use sessionlab_exercises::*;
use std::process::Command;

/// Names the scenario a `loom_child` process runs: `exercise:scenario`.
const CHILD_VAR: &str = "SESSIONLAB_LOOM_CHILD";

/// What a child run showed: `Ok` if every interleaving passed, else the failure message
/// (the panic's text, e.g. the scenario's assertion or loom's causality violation).
fn in_child(exercise: &str, scenario: &str) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
    let output = Command::new(exe)
        .args(["loom_child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, format!("{exercise}:{scenario}"))
        .output()
        .map_err(|e| format!("cannot run the loom child: {e}"))?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    if output.status.success() && text.contains("1 passed") {
        return Ok(());
    }
    // The first panic's message: the line after "panicked at <location>:".
    let mut lines = text.lines();
    let message = lines
        .by_ref()
        .find(|line| line.contains("panicked at"))
        .and_then(|_| lines.next())
        .unwrap_or("the child failed without a panic message");
    let race = text.lines().find(|line| line.contains("Causality violation"));
    Err(race.unwrap_or(message).trim().to_owned())
}

/// Runs `scenario` on stores built by `make` (in the child).
fn run_scenario<S: SessionStore + 'static>(
    scenario: &str,
    make: impl Fn(&Config) -> S + Send + Sync + 'static,
) {
    assert!(scenarios::run_by_name(scenario, make), "no scenario {scenario}");
}

/// The hidden entry of a child process: runs the one scenario `CHILD_VAR` names; does nothing
/// in a normal test run.
#[test]
fn loom_child() {
    let Ok(target) = std::env::var(CHILD_VAR) else { return };
    let (exercise, scenario) = target.split_once(':').expect("exercise:scenario");
    match exercise {
        "ex01_racy_loom" => {
            let racy = scenario == "racy";
            run_model(&format!("ex01 scenario on {scenario}"), 3, move || {
                let config = scenarios::model_config();
                if racy {
                    // SAFETY: inside a loom model, which checks every access to the racy
                    // store's cell before it is made and panics on the first race.
                    let store = unsafe { sessionlab::RacyStore::new(&config) };
                    ex01_racy_loom::scenario(Arc::new(store));
                } else {
                    ex01_racy_loom::scenario(Arc::new(sessionlab::MutexStore::new(&config)));
                }
            });
        }
        "ex02_mutex" => run_scenario(scenario, ex02_mutex::MutexStore::new),
        "ex03_rwlock" => run_scenario(scenario, ex03_rwlock::RwLockStore::new),
        "ex04_sharded" => run_scenario(scenario, ex04_sharded::ShardedStore::new),
        "ex05_cow" => run_scenario(scenario, ex05_cow::CowStore::new),
        "ex06_sweep_gate" => gate_single_flight(),
        "ex07_find_the_bug" => {
            run_scenario(scenario, ex07_find_the_bug::SuspectStore::new);
        }
        #[cfg(crossbeam_loom)]
        "ex08_lockfree_remove" => {
            run_scenario(scenario, ex08_lockfree_remove::LockFreeList::new);
        }
        other => panic!("no loom grader for {other}"),
    }
}

/// Every generic scenario on one exercise's store, each in its own child.
fn grade_store(exercise: &str) {
    let mut report = Report::default();
    // The lab's generic scenarios, in the order the lab lists them.
    for &(scenario, _) in scenarios::ALL {
        report.record(format!("loom::{scenario}"), in_child(exercise, scenario));
    }
    report.finish(exercise, "loom");
}

#[test]
fn ex01_racy_loom() {
    use ex01_racy_loom::{LoomReport, what_loom_reported};
    let mut report = Report::default();
    let on_racy = in_child("ex01_racy_loom", "racy");
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
            (Err(other), None) => Err(format!("it failed, but not with a data race: {other}")),
        },
    );
    report.record(
        "the scenario passes on a correct store (MutexStore)",
        in_child("ex01_racy_loom", "mutex"),
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
                Err(format!("answered {answer:?}; loom said: {message}"))
            }
        }),
    );
    report.finish("ex01_racy_loom", "loom");
}

#[test]
fn ex02_mutex() {
    grade_store("ex02_mutex");
}

#[test]
fn ex03_rwlock() {
    grade_store("ex03_rwlock");
}

#[test]
fn ex04_sharded() {
    grade_store("ex04_sharded");
}

#[test]
fn ex05_cow() {
    grade_store("ex05_cow");
}

/// Two callers past the interval (at 10 and 12): in every interleaving exactly one sweeps.
fn gate_single_flight() {
    use ex06_sweep_gate::SweepGate;
    single_flight("ex06 SweepGate::single_flight", SweepGate::new, SweepGate::try_claim);
}

#[test]
fn ex06_sweep_gate() {
    let mut report = Report::default();
    report.record("loom::single_flight", in_child("ex06_sweep_gate", "single_flight"));
    report.finish("ex06_sweep_gate", "loom");
}

#[test]
fn ex07_find_the_bug() {
    grade_store("ex07_find_the_bug");
}

/// Only in crossbeam's own loom mode, where the epochs and links are loom's too
/// (`RUSTFLAGS="--cfg loom --cfg crossbeam_loom"`).
#[cfg(crossbeam_loom)]
#[test]
fn ex08_lockfree_remove() {
    grade_store("ex08_lockfree_remove");
}
