//! The racy store, run concurrently in a child process: it must visibly break (lose or
//! resurrect sessions, crash, or hang), while the same workload on the mutex store is clean.
//! Whatever the child does, this test process is never taken down.

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

use sessionlab::check::isolate::{ChildOutcome, run_child};
use sessionlab::check::workload::{WorkloadReport, WorkloadSpec};
use std::process::Command;
use std::time::Duration;

const TIMEOUT: Duration = Duration::from_secs(10);

fn child(store: &str) -> ChildOutcome {
    // The demo hands its child the parsed spec as JSON; so does this test.
    let spec = WorkloadSpec {
        threads: 4,
        duration: Duration::from_millis(1500),
        max_ops: None,
        sessions: 4000,
        ttl: 20,
        seed: 1,
    };
    let json = serde_json::to_string(&spec).expect("a spec serializes");
    let mut command = Command::new(env!("CARGO_BIN_EXE_sessionlab"));
    command.args(["child", "--store", store, "--spec", &json]);
    let outcome = run_child(command, TIMEOUT).expect("the CLI binary starts");
    // A usage error is this test's bug, not the store's: never count it as a crash.
    if let ChildOutcome::Exited { code: 2, stderr, .. } = &outcome {
        panic!("the child rejected its arguments: {stderr}");
    }
    outcome
}

fn report(outcome: &ChildOutcome) -> Option<WorkloadReport> {
    match outcome {
        ChildOutcome::Exited { code: 0, stdout, .. } => {
            Some(serde_json::from_str(stdout.trim()).expect("the child prints a JSON report"))
        }
        _ => None,
    }
}

#[test]
fn racy_store_breaks_in_a_child_process() {
    // Undefined behaviour has no guaranteed outcome, so give it a few runs to show itself.
    let mut outcomes = Vec::new();
    for _ in 0..5 {
        let outcome = child("racy");
        let what = match report(&outcome) {
            Some(r) if r.violations() > 0 || r.final_len as i64 != r.expected_len => Some(format!(
                "lost {}, resurrected {}, wrongly swept {}, len {} vs expected {}",
                r.lost, r.resurrected, r.wrongly_swept, r.final_len, r.expected_len
            )),
            Some(_) => None,
            // Crashed (signal, abort, panic) or hung and was killed.
            None => Some(outcome.describe()),
        };
        outcomes.push(outcome.describe());
        if let Some(what) = what {
            println!("racy store broke: {what}");
            return;
        }
    }
    panic!("the racy store survived 5 concurrent runs without a visible failure: {outcomes:?}");
}

#[test]
fn mutex_store_is_clean_under_the_same_workload() {
    let outcome = child("mutex");
    let report = report(&outcome)
        .unwrap_or_else(|| panic!("the mutex child failed: {}", outcome.describe()));
    assert!(report.ops > 0, "the workload did nothing");
    assert_eq!(report.violations(), 0, "{report:?}");
    assert_eq!(report.final_len as i64, report.expected_len, "{report:?}");
}

#[test]
fn demo_json_lists_every_store_with_a_verdict() {
    let output = Command::new(env!("CARGO_BIN_EXE_sessionlab"))
        .args(["--json", "--duration=200ms", "--sessions=1000", "--ttl=20"])
        .output()
        .expect("the CLI runs");
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
    let rows: serde_json::Value = serde_json::from_slice(&output.stdout).expect("JSON on stdout");
    let rows = rows.as_array().expect("an array of rows");
    for kind in sessionlab::StoreKind::ALL {
        let row = rows
            .iter()
            .find(|r| r["store"] == kind.name())
            .unwrap_or_else(|| panic!("no row for {kind}"));
        if kind.is_correct() {
            assert_eq!(row["verdict"], "ok", "{row}");
        } else {
            assert!(
                row["verdict"].as_str().is_some_and(|v| v.starts_with("BROKEN") || v == "ok"),
                "{row}"
            );
        }
    }
}
