//! Stress with invariants: the session workload ([`sessionlab::check::workload`]) on every correct
//! store, with a live background sweeper, checking that no session is lost, resurrected or
//! wrongly swept, and that the final count adds up.
//!
//! `cargo test` runs a short version (200k operations per store, at most two seconds each).
//! The long version is opt-in, because it wants a release build and minutes:
//!
//! ```text
//! SESSIONLAB_STRESS_OPS=10000000 cargo test --release --test stress -- --nocapture
//! ```
//!
//! runs 10 million mixed operations per store (4 handler threads plus the sweeper), with no
//! time limit short of ten minutes per store, and prints each store's report. The CLI's
//! `--ops` flag runs the same workload for one store.

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

use sessionlab::StoreKind;
use sessionlab::check::mutants;
use sessionlab::check::workload::{Progress, WorkloadReport, WorkloadSpec, run};
use std::sync::Arc;
use std::time::Duration;

fn spec(ops: u64, duration: Duration) -> WorkloadSpec {
    WorkloadSpec {
        threads: 4,
        duration,
        max_ops: Some(ops),
        // A short ttl, so sessions expire and the sweeper (every ttl / 4) finds work within
        // the short run.
        ttl: 20,
        sessions: 2_000,
        seed: 7,
    }
}

fn run_on(
    build: &dyn Fn(&sessionlab::Config) -> Box<dyn sessionlab::SessionStore>,
    spec: &WorkloadSpec,
) -> WorkloadReport {
    let store: Arc<dyn sessionlab::SessionStore> = Arc::from(build(&spec.config()));
    run(store, spec, &Progress::default())
}

fn assert_clean(name: &str, report: &WorkloadReport) {
    eprintln!(
        "{name}: {} ops in {:.2} s ({:.0} ops/s), {} sweeps removed {}, lost {}, resurrected {}, \
         wrongly swept {}, final len {} (expected {})",
        report.ops,
        report.seconds,
        report.ops_per_sec(),
        report.sweeps,
        report.swept,
        report.lost,
        report.resurrected,
        report.wrongly_swept,
        report.final_len,
        report.expected_len
    );
    assert!(report.ops > 0, "{name}: the workload did nothing");
    assert_eq!(report.lost, 0, "{name}: sessions lost: {report:?}");
    assert_eq!(report.resurrected, 0, "{name}: sessions resurrected: {report:?}");
    assert_eq!(report.wrongly_swept, 0, "{name}: live sessions swept: {report:?}");
    assert_eq!(report.final_len as i64, report.expected_len, "{name}: final count: {report:?}");
}

#[test]
fn correct_stores_survive_the_session_workload() {
    let (ops, limit) =
        match std::env::var("SESSIONLAB_STRESS_OPS").ok().and_then(|v| v.parse().ok()) {
            Some(ops) => (ops, Duration::from_secs(600)),
            None => (200_000, Duration::from_secs(2)),
        };
    for kind in StoreKind::correct() {
        let report = run_on(&|config| kind.build(config), &spec(ops, limit));
        assert_clean(kind.name(), &report);
        assert!(report.sweeps > 0, "{kind}: the sweeper never ran");
    }
}

/// The workload's checks must be able to fail: the mutant whose sweep removes sessions that
/// were touched after it decided is caught as "wrongly swept" (or "lost"), usually in the first
/// run. A run lasts at most a second and the race needs a touch to land inside a sweep's
/// window, so on a loaded 2-core machine a run can miss it: up to 30 runs (they stop at the
/// first catch; 10 once missed under load).
#[test]
fn the_workload_catches_the_unchecked_sweep() {
    let mutant = mutants::ALL
        .iter()
        .find(|mutant| mutant.name == "unchecked-sweep")
        .expect("the unchecked-sweep mutant");
    let mut reports = Vec::new();
    for seed in 0..30 {
        let spec = WorkloadSpec { seed, ..spec(1_000_000, Duration::from_secs(1)) };
        let report = run_on(&mutant.build, &spec);
        let caught = report.violations() > 0;
        reports.push(report);
        if caught {
            eprintln!("unchecked-sweep caught in run {}: {:?}", seed + 1, reports.last());
            return;
        }
    }
    panic!("thirty workload runs found nothing wrong with the unchecked sweep: {reports:?}");
}
