//! The main demo: every store under the same checked session workload, then one table.

use super::args::{ChildArgs, DemoArgs};
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;
use sessionlab::StoreKind;
use sessionlab::check::isolate::{self, ChildOutcome};
use sessionlab::check::workload::{self, Progress, WorkloadReport, WorkloadSpec};
use sessionlab::sync::Arc;
use std::process::{Command, ExitCode};
use std::time::{Duration, Instant};

/// Extra time a child gets beyond its run before it counts as hung.
const CHILD_GRACE: Duration = Duration::from_secs(3);

/// One store's line in the results.
#[derive(Debug, Serialize)]
struct Row {
    store: &'static str,
    correct: bool,
    /// `completed`, `crashed` or `hung`.
    outcome: &'static str,
    /// How a child process ended, for the racy store.
    detail: Option<String>,
    report: Option<WorkloadReport>,
    verdict: String,
}

/// Runs the demo; exits 1 if a correct store broke a rule (that would be a bug in the lab).
pub fn run(args: &DemoArgs) -> Result<ExitCode, String> {
    let spec = args.workload.spec();
    let kinds: Vec<StoreKind> = match args.store {
        Some(kind) => vec![kind],
        None => StoreKind::ALL.to_vec(),
    };
    if !args.json {
        eprintln!(
            "sessionlab demo: {} handler threads + a sweeper, {} sessions, ttl {} ms, {:.1} s per store",
            spec.threads,
            spec.sessions,
            spec.ttl,
            spec.duration.as_secs_f64()
        );
    }
    let rows: Vec<Row> = kinds
        .iter()
        .map(|&kind| {
            if kind.is_correct() {
                run_in_process(kind, &spec, args.json)
            } else {
                run_in_child(kind, &spec, args.json)
            }
        })
        .collect::<Result<_, _>>()?;
    if args.json {
        let json = serde_json::to_string_pretty(&rows).map_err(|e| e.to_string())?;
        println!("{json}");
    } else {
        print_table(&rows);
    }
    let correct_store_broke = rows.iter().any(|row| row.correct && row.verdict != "ok");
    Ok(if correct_store_broke { ExitCode::FAILURE } else { ExitCode::SUCCESS })
}

/// The hidden `child` entry: run one store here and print the report as JSON.
pub fn run_child(args: &ChildArgs) -> Result<ExitCode, String> {
    let spec = &args.spec;
    let store: Arc<dyn sessionlab::SessionStore> = Arc::from(args.store.build(&spec.config()));
    let report = workload::run(store, spec, &Progress::default());
    println!("{}", serde_json::to_string(&report).map_err(|e| e.to_string())?);
    Ok(ExitCode::SUCCESS)
}

fn run_in_process(kind: StoreKind, spec: &WorkloadSpec, quiet: bool) -> Result<Row, String> {
    let store: Arc<dyn sessionlab::SessionStore> = Arc::from(kind.build(&spec.config()));
    let progress = Progress::default();
    let bar = progress_bar(kind, spec.duration, quiet);
    let report = std::thread::scope(|scope| {
        let worker = scope.spawn(|| workload::run(store, spec, &progress));
        let started = Instant::now();
        while !worker.is_finished() {
            bar.set_position(started.elapsed().as_millis() as u64);
            bar.set_message(format!("{} ops", progress.ops()));
            std::thread::sleep(Duration::from_millis(50));
        }
        worker.join()
    })
    .map_err(|_| format!("the {kind} store panicked"))?;
    bar.finish_and_clear();
    Ok(Row {
        store: kind.name(),
        correct: kind.is_correct(),
        outcome: "completed",
        detail: None,
        verdict: verdict(&report),
        report: Some(report),
    })
}

fn run_in_child(kind: StoreKind, spec: &WorkloadSpec, quiet: bool) -> Result<Row, String> {
    let exe = std::env::current_exe()
        .map_err(|e| format!("cannot find this program to re-run it: {e}"))?;
    let json = serde_json::to_string(spec).map_err(|e| e.to_string())?;
    let mut command = Command::new(exe);
    command.args(["child", "--store", kind.name(), "--spec", &json]);
    let bar = progress_bar(kind, spec.duration, quiet);
    bar.set_message("in a child process".to_owned());
    let timeout = spec.duration + CHILD_GRACE;
    let outcome = std::thread::scope(|scope| {
        let child = scope.spawn(|| isolate::run_child(command, timeout));
        let started = Instant::now();
        while !child.is_finished() {
            bar.set_position(started.elapsed().as_millis() as u64);
            std::thread::sleep(Duration::from_millis(50));
        }
        child.join()
    })
    .map_err(|_| "the child-process runner panicked".to_owned())?
    .map_err(|e| format!("cannot start a child process: {e}"))?;
    bar.finish_and_clear();
    let (outcome_name, detail, report) = match &outcome {
        ChildOutcome::Exited { code: 0, stdout, .. } => {
            let report: WorkloadReport = serde_json::from_str(stdout.trim())
                .map_err(|e| format!("the child's report is not valid JSON ({e}): {stdout}"))?;
            ("completed", None, Some(report))
        }
        ChildOutcome::Hung { .. } => ("hung", Some(outcome.describe()), None),
        _ => ("crashed", Some(outcome.describe()), None),
    };
    let verdict = match (&report, &outcome) {
        (Some(report), _) => verdict(report),
        (None, ChildOutcome::Hung { .. }) => {
            format!("BROKEN: {} (a thread looping in a corrupted table)", outcome.describe())
        }
        (None, _) => format!("BROKEN: {}", outcome.describe()),
    };
    Ok(Row {
        store: kind.name(),
        correct: kind.is_correct(),
        outcome: outcome_name,
        detail,
        report,
        verdict,
    })
}

fn verdict(report: &WorkloadReport) -> String {
    if report.violations() == 0 && report.final_len as i64 == report.expected_len {
        return "ok".to_owned();
    }
    let mut problems = Vec::new();
    for (count, what) in [
        (report.lost, "lost"),
        (report.resurrected, "resurrected"),
        (report.wrongly_swept, "wrongly swept"),
    ] {
        if count > 0 {
            problems.push(format!("{count} {what}"));
        }
    }
    if report.final_len as i64 != report.expected_len {
        problems.push(format!("len {} != expected {}", report.final_len, report.expected_len));
    }
    format!("BROKEN: {}", problems.join(", "))
}

fn progress_bar(kind: StoreKind, duration: Duration, quiet: bool) -> ProgressBar {
    if quiet {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(duration.as_millis() as u64);
    bar.set_style(
        ProgressStyle::with_template("{prefix:>8} [{bar:30}] {msg}")
            .expect("the progress template is valid")
            .progress_chars("=> "),
    );
    bar.set_prefix(kind.name());
    bar
}

fn print_table(rows: &[Row]) {
    println!();
    println!(
        "{:<9} {:>12} {:>6} {:>12} {:>14}  verdict",
        "store", "ops/s", "lost", "resurrected", "wrongly swept"
    );
    for row in rows {
        match &row.report {
            Some(r) => println!(
                "{:<9} {:>12} {:>6} {:>12} {:>14}  {}",
                row.store,
                thousands(r.ops_per_sec() as u64),
                r.lost,
                r.resurrected,
                r.wrongly_swept,
                row.verdict
            ),
            None => println!(
                "{:<9} {:>12} {:>6} {:>12} {:>14}  {}",
                row.store, "-", "-", "-", "-", row.verdict
            ),
        }
    }
    println!();
    println!(
        "lost: a live session vanished with no sweep to blame (or the final count fell short)"
    );
    println!("resurrected: a logged-out or expired session answered a request");
    println!("wrongly swept: a live session vanished while sweeps ran");
    println!();
    // The last line: where the course goes from here (the order of `docs::lessons`).
    println!("{NEXT_STEP}");
}

/// What to do after the demo: the first lesson and its exercise.
const NEXT_STEP: &str = "Next: lesson 1, notebooks/01-the-go-lesson-and-the-racy-store.ipynb, \
                         then `cargo run -- exercise check 1`";

fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}
