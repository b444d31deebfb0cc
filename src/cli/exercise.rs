//! `sessionlab exercise list | hint N | check N | check all`: the course's front end.
//!
//! The exercises live in the workspace member `exercises/` (`sessionlab-exercises`); this
//! command holds no grading logic of its own. `check N` builds exercise N alone (its own cargo
//! feature, so an unfinished file never fails another exercise) and runs its graders' test
//! binaries stage by stage, streaming each check's verdict as it finishes:
//!
//! 1. the exercise's visible tests (`exNN_name::`, ignored ones included);
//! 2. on real threads (`--test grade`): conformance, linearizability, memory and lesson checks;
//! 3. under loom (`--test loom`), with the lab's documented loom command
//!    (`RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3`, in `target/loom` so both builds stay
//!    warm; exercise 8 in crossbeam's loom mode, `target/loom-crossbeam`).
//!
//! A compile error is shown once (the first error, in full). Every check runs in a process of
//! its own under a time limit (the graders do that), and each stage runs under a stage limit,
//! its test binary killed past it (each check's process exits when its parent is gone):
//! nothing hangs and nothing is left behind.
//! A stage that ran no tests does not pass. Every stage runs with
//! `SESSIONLAB_EXERCISE_EXPECT=pass`: the student asks "does my store pass?", whatever the
//! not-done marker says. The verdict is kept in `exercises/.progress.json` with a hash of the
//! file it judged, and `list` counts an exercise done only if that very file passed.
//! The exercises, their stages, lessons and hints come from `exercises/exercises.json`, which
//! the exercise crate's own tests keep in step with its files.

use clap::{Args, Subcommand};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// Flags of `sessionlab exercise`.
#[derive(Debug, Args)]
pub struct ExerciseArgs {
    #[command(subcommand)]
    action: Action,
}

#[derive(Debug, Subcommand)]
enum Action {
    /// List the exercises, what each teaches, and your progress.
    List,
    /// Show an exercise's hint.
    Hint {
        /// The exercise's number (see `list`).
        number: u8,
    },
    /// Grade one exercise (`check 3`) or every one (`check all`) with the lab's checkers.
    Check {
        /// An exercise number, or `all`.
        which: String,
        /// Grade the kept solutions (`exercises/solutions/`) instead of your files.
        #[arg(long)]
        solutions: bool,
    },
}

/// One entry of `exercises/exercises.json`.
#[derive(Debug, Deserialize)]
struct Exercise {
    number: u8,
    name: String,
    title: String,
    lesson: String,
    teaches: String,
    stages: Vec<String>,
    hint: String,
}

/// The line an unsolved exercise file carries (the exercise crate's `NOT_DONE_MARKER`).
const NOT_DONE: &str = "// I AM NOT DONE";

fn exercises_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("exercises")
}

fn load() -> Result<Vec<Exercise>, String> {
    let path = exercises_dir().join("exercises.json");
    let text = std::fs::read_to_string(&path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?;
    serde_json::from_str(&text).map_err(|e| format!("{} is malformed: {e}", path.display()))
}

fn find(exercises: &[Exercise], number: u8) -> Result<&Exercise, String> {
    exercises.iter().find(|e| e.number == number).ok_or_else(|| {
        format!("there is no exercise {number}; `sessionlab exercise list` shows them")
    })
}

/// Runs the subcommand.
pub fn run(args: &ExerciseArgs) -> Result<ExitCode, String> {
    let exercises = load()?;
    match &args.action {
        Action::List => {
            list(&exercises);
            Ok(ExitCode::SUCCESS)
        }
        Action::Hint { number } => {
            let exercise = find(&exercises, *number)?;
            println!("Exercise {}: {}\n", exercise.number, exercise.title);
            println!("{}", exercise.hint);
            Ok(ExitCode::SUCCESS)
        }
        Action::Check { which, solutions } => {
            let chosen: Vec<&Exercise> = if which == "all" {
                exercises.iter().collect()
            } else {
                let number = which
                    .parse()
                    .map_err(|_| format!("{which:?} is not an exercise number or `all`"))?;
                vec![find(&exercises, number)?]
            };
            check(&chosen, *solutions)
        }
    }
}

fn list(exercises: &[Exercise]) {
    let progress = load_progress();
    let done = exercises.iter().filter(|e| state(e, &progress) == "done").count();
    for exercise in exercises {
        let mark = state(exercise, &progress);
        println!("{:>2}  [{mark:^7}]  {}", exercise.number, exercise.title);
        println!("               exercises/src/{}.rs, after {}", exercise.name, exercise.lesson);
        println!("               {}", exercise.teaches);
    }
    let width = 24;
    let filled = done * width / exercises.len().max(1);
    println!(
        "\nprogress [{}{}] {done}/{} done (done = `exercise check` passed this very file; \
         \"changed\" = edited since its last check)",
        "#".repeat(filled),
        "-".repeat(width - filled),
        exercises.len()
    );
    println!("next: `cargo run -- exercise hint N`, `cargo run -- exercise check N`");
}

/// Where `check` keeps each exercise's last verdict, with a hash of the file it judged.
fn progress_path() -> PathBuf {
    exercises_dir().join(".progress.json")
}

/// An exercise's last verdict, and the hash of the file it was given on.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
struct Verdict {
    hash: String,
    passed: bool,
}

type Progress = BTreeMap<String, Verdict>;

fn load_progress() -> Progress {
    std::fs::read_to_string(progress_path())
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .unwrap_or_default()
}

fn save_progress(progress: &Progress) {
    if let Ok(text) = serde_json::to_string_pretty(progress) {
        // Progress is a convenience: failing to save it must not fail the check.
        let _ = std::fs::write(progress_path(), text);
    }
}

/// FNV-1a over the file's bytes: stable across builds and Rust versions, which is all a
/// "has the file changed since it was graded" test needs.
fn file_hash(exercise: &Exercise) -> Option<String> {
    let bytes = std::fs::read(source_file(exercise)).ok()?;
    let hash = bytes
        .iter()
        .fold(0xcbf2_9ce4_8422_2325_u64, |h, b| (h ^ u64::from(*b)).wrapping_mul(0x100_0000_01b3));
    Some(format!("{hash:016x}"))
}

fn source_file(exercise: &Exercise) -> PathBuf {
    exercises_dir().join("src").join(format!("{}.rs", exercise.name))
}

/// An exercise's state for `list`: done only if the grader passed this very file.
fn state(exercise: &Exercise, progress: &Progress) -> &'static str {
    match (progress.get(&exercise.name), file_hash(exercise)) {
        (Some(v), Some(hash)) if v.hash == hash && v.passed => "done",
        (Some(v), Some(hash)) if v.hash == hash => "not yet",
        (Some(_), Some(_)) => "changed",
        _ => "todo",
    }
}

/// A grading stage: what it is called, which test binary and filter it runs.
struct Stage {
    label: String,
    build: Build,
    /// The test target (`lib`, `grade`, `loom`).
    target: &'static str,
    filter: Vec<String>,
    /// Whether the stage's tests print the graders' own verdict lines (else libtest's).
    visible: bool,
}

/// How a stage's test binary is built.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Build {
    /// The ordinary release build.
    Threads,
    /// `RUSTFLAGS="--cfg loom"`, in a target directory of its own so both builds stay warm.
    Loom,
    /// crossbeam's loom mode (exercise 8): `--cfg loom --cfg crossbeam_loom`.
    CrossbeamLoom,
}

impl Build {
    fn rustflags(self) -> Option<&'static str> {
        match self {
            Build::Threads => None,
            Build::Loom => Some("--cfg loom"),
            Build::CrossbeamLoom => Some("--cfg loom --cfg crossbeam_loom"),
        }
    }

    fn target_dir(self) -> PathBuf {
        let base = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"), PathBuf::from);
        match self {
            Build::Threads => base,
            Build::Loom => base.join("loom"),
            Build::CrossbeamLoom => base.join("loom-crossbeam"),
        }
    }
}

fn stages(exercise: &Exercise) -> Vec<Stage> {
    let name = exercise.name.as_str();
    let has = |stage: &str| exercise.stages.iter().any(|s| s == stage);
    let mut stages = Vec::new();
    if has("visible") {
        stages.push(Stage {
            label: "visible tests (the tests at the bottom of your file)".into(),
            build: Build::Threads,
            target: "lib",
            filter: vec![format!("{name}::"), "--include-ignored".into()],
            visible: true,
        });
    }
    if has("conformance") || has("linearizability") {
        stages.push(Stage {
            label: "real threads: the conformance suite, linearizability, memory and the \
                    lesson's own checks (each in its own process, 60 s limit)"
                .into(),
            build: Build::Threads,
            target: "grade",
            filter: vec![name.to_owned(), "--exact".into()],
            visible: false,
        });
    }
    if has("loom") {
        let build = if name == "ex08_lockfree_remove" { Build::CrossbeamLoom } else { Build::Loom };
        stages.push(Stage {
            label: format!(
                "loom: RUSTFLAGS=\"{}\" LOOM_MAX_PREEMPTIONS=3 (each scenario in its own \
                 process, 120 s limit)",
                build.rustflags().unwrap_or_default()
            ),
            build,
            target: "loom",
            filter: vec![name.to_owned(), "--exact".into()],
            visible: false,
        });
    }
    stages
}

/// How long a whole stage may run before its test binary is killed
/// (`SESSIONLAB_STAGE_TIMEOUT_S`, default 15 minutes; each check inside has its own limit).
fn stage_limit() -> Duration {
    let s = std::env::var("SESSIONLAB_STAGE_TIMEOUT_S").ok().and_then(|v| v.parse().ok());
    Duration::from_secs(s.unwrap_or(900))
}

fn check(exercises: &[&Exercise], solutions: bool) -> Result<ExitCode, String> {
    let mut summary = Vec::new();
    let mut progress = load_progress();
    for exercise in exercises {
        println!("== exercise {}: {} ==", exercise.number, exercise.title);
        let hash = file_hash(exercise);
        let passed = check_one(exercise, solutions)?;
        if passed {
            println!("exercise {}: PASSED", exercise.number);
            println!("{}", next_step(exercise, solutions));
        } else {
            println!(
                "exercise {}: NOT YET (each FAIL line above says what broke; \
                 `cargo run -- exercise hint {}` for a hint)\n",
                exercise.number, exercise.number
            );
        }
        if !solutions && let Some(hash) = hash {
            progress.insert(exercise.name.clone(), Verdict { hash, passed });
            save_progress(&progress);
        }
        summary.push((exercise.number, passed));
    }
    if summary.len() > 1 {
        let ok = summary.iter().filter(|(_, p)| *p).count();
        for (number, passed) in &summary {
            println!("  {number:>2}  {}", if *passed { "passed" } else { "not yet" });
        }
        println!("{ok}/{} exercises pass their graders", summary.len());
    }
    Ok(if summary.iter().all(|(_, p)| *p) { ExitCode::SUCCESS } else { ExitCode::FAILURE })
}

/// What to do after a pass.
fn next_step(exercise: &Exercise, solutions: bool) -> String {
    if solutions {
        return "(the kept solution)\n".to_owned();
    }
    let marker = std::fs::read_to_string(source_file(exercise))
        .is_ok_and(|text| text.lines().any(|l| l.trim() == NOT_DONE));
    let mut next = String::from("next: ");
    if marker {
        next.push_str(&format!(
            "delete the `{NOT_DONE}` line from exercises/src/{}.rs (then `list` counts it \
             done); ",
            exercise.name
        ));
    }
    match load().ok().and_then(|all| all.into_iter().find(|e| e.number == exercise.number + 1)) {
        Some(following) => next.push_str(&format!(
            "read {} and start exercise {}: `cargo run -- exercise hint {}`\n",
            following.lesson, following.number, following.number
        )),
        None => next.push_str("that was the last exercise: read lesson 8, the cost lesson\n"),
    }
    next
}

/// Builds and runs each stage of one exercise; whether all passed.
fn check_one(exercise: &Exercise, solutions: bool) -> Result<bool, String> {
    let stages = stages(exercise);
    let mut passed = true;
    for (i, stage) in stages.iter().enumerate() {
        println!("[{}/{}] {}", i + 1, stages.len(), stage.label);
        let started = Instant::now();
        let ok = match build(exercise, stage, solutions)? {
            Ok(exe) => run_stage(stage, &exe)?,
            Err(error) => {
                println!("{error}");
                println!(
                    "      stage FAILED: the exercise does not compile (the first error is above)"
                );
                // Every later stage would fail on the same error: say so once.
                return Ok(false);
            }
        };
        println!(
            "      {} in {:.1?}",
            if ok { "stage passed" } else { "stage FAILED" },
            started.elapsed()
        );
        passed &= ok;
    }
    Ok(passed)
}

/// Builds the stage's test binary with only this exercise's feature. `Ok(Ok(path))` is the
/// binary; `Ok(Err(text))` is the first compile error, in full, and how many followed.
fn build(
    exercise: &Exercise,
    stage: &Stage,
    solutions: bool,
) -> Result<Result<PathBuf, String>, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut features = exercise.name.clone();
    if solutions {
        features.push_str(",solutions");
    }
    let mut command = Command::new(cargo);
    command
        .args(["test", "--release", "-p", "sessionlab-exercises", "--no-default-features"])
        .args(["--features", &features, "--no-run", "--message-format=json"])
        .args(if stage.target == "lib" { vec!["--lib"] } else { vec!["--test", stage.target] })
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("CARGO_TARGET_DIR", stage.build.target_dir())
        // Flags the parent cargo may have passed down must not leak into the nested build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    match stage.build.rustflags() {
        Some(flags) => command.env("RUSTFLAGS", flags),
        None => command.env_remove("RUSTFLAGS"),
    };
    let output = command.output().map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut errors: Vec<String> = Vec::new();
    let mut exe = None;
    for line in String::from_utf8_lossy(&output.stdout).lines() {
        let Ok(message) = serde_json::from_str::<serde_json::Value>(line) else { continue };
        match message["reason"].as_str() {
            Some("compiler-message") if message["message"]["level"] == "error" => {
                let rendered = message["message"]["rendered"].as_str().unwrap_or_default();
                // The same error comes once per target that compiles the file: keep one.
                if !errors.iter().any(|e| e == rendered) {
                    errors.push(rendered.to_owned());
                }
            }
            Some("compiler-artifact") if message["target"]["name"] == stage_target_name(stage) => {
                if let Some(path) = message["executable"].as_str() {
                    exe = Some(PathBuf::from(path));
                }
            }
            _ => {}
        }
    }
    if let Some(first) = errors.first() {
        let more = errors.len() - 1;
        let mut text = first.trim_end().to_owned();
        if more > 0 {
            text.push_str(&format!("\n({more} more error(s) after this one; fix this first)"));
        }
        return Ok(Err(text));
    }
    match (output.status.success(), exe) {
        (true, Some(exe)) => Ok(Ok(exe)),
        _ => Ok(Err(format!(
            "cargo could not build the grader:\n{}",
            String::from_utf8_lossy(&output.stderr).trim_end()
        ))),
    }
}

fn stage_target_name(stage: &Stage) -> &'static str {
    if stage.target == "lib" { "sessionlab_exercises" } else { stage.target }
}

/// Runs one stage's test binary, printing each check's verdict line as it arrives, under the
/// stage's time limit (past it the test binary is killed, and each check process exits with it). Returns whether the
/// stage passed: the binary succeeded and ran at least one test.
fn run_stage(stage: &Stage, exe: &Path) -> Result<bool, String> {
    let mut command = Command::new(exe);
    command
        .args(&stage.filter)
        .arg("--test-threads=1")
        .args(if stage.visible { None } else { Some("--nocapture") })
        .current_dir(exercises_dir())
        .env("SESSIONLAB_EXERCISE_EXPECT", "pass")
        .env_remove("RUST_BACKTRACE")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    // Same process group as this command, so Ctrl-C stops everything; on a timeout the test
    // binary is killed, and each check's process exits when its parent is gone (it watches
    // its stdin), so nothing is left behind.
    if stage.build != Build::Threads {
        command.env("LOOM_MAX_PREEMPTIONS", "3");
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run {}: {e}", exe.display()))?;
    let (lines, arrive) = mpsc::channel();
    let stdout = child.stdout.take().expect("stdout is piped");
    let out_lines = lines.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            let _ = out_lines.send((false, line));
        }
    });
    let stderr = child.stderr.take().expect("stderr is piped");
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            let _ = lines.send((true, line));
        }
    });
    let deadline = Instant::now() + stage_limit();
    let mut ran = 0;
    let mut in_failure = false;
    let mut stderr_tail: Vec<String> = Vec::new();
    loop {
        match arrive.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            Ok((true, line)) => {
                stderr_tail.push(line);
                if stderr_tail.len() > 12 {
                    stderr_tail.remove(0);
                }
            }
            Ok((false, line)) => {
                if let Some(n) = tests_ran(&line) {
                    ran += n;
                }
                // libtest's failure section: a visible test's panic message, values included.
                if line.starts_with("---- ") {
                    in_failure = true;
                } else if line == "failures:" || line.starts_with("test result:") {
                    in_failure = false;
                }
                if in_failure && stage.visible {
                    println!("        {line}");
                } else if let Some(shown) = verdict(&line) {
                    println!("{shown}");
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
            Err(mpsc::RecvTimeoutError::Timeout) => {
                let _ = child.kill();
                let _ = child.wait();
                println!(
                    "  FAIL  the stage did not finish in {} s and was stopped (a check may be \
                     spinning: e.g. a CAS loop that never reloads its expected value)",
                    stage_limit().as_secs()
                );
                return Ok(false);
            }
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for the grader: {e}"))?;
    if !status.success() && ran == 0 {
        use std::os::unix::process::ExitStatusExt;
        match status.signal() {
            Some(signal) => println!("  FAIL  the grader was killed by signal {signal}"),
            None => println!("  FAIL  the grader exited with {status}"),
        }
        for line in &stderr_tail {
            println!("        {line}");
        }
    }
    if status.success() && ran == 0 {
        println!("  FAIL  this stage ran no tests: nothing was checked, so it does not pass");
        return Ok(false);
    }
    Ok(status.success())
}

/// How many tests libtest says ran (passed and failed), from its `test result:` line.
fn tests_ran(line: &str) -> Option<usize> {
    let rest = line.strip_prefix("test result: ")?;
    let (_, after) = rest.split_once(". ")?;
    let (passed, after) = after.split_once(" passed; ")?;
    let failed = after.split_once(" failed")?.0;
    Some(passed.trim().parse::<usize>().ok()? + failed.trim().parse::<usize>().ok()?)
}

/// The lines of a grader's output worth showing: the graders' own `ok`/`FAIL` lines (with
/// their indented details) and their summaries, and libtest's verdict on a visible test.
fn verdict(line: &str) -> Option<String> {
    if line.starts_with("  ok ") || line.starts_with("  FAIL ") || line.starts_with("        ") {
        return Some(line.to_owned());
    }
    if line.contains("checks passed") || line.contains("passes the sequential checks") {
        return Some(format!("  => {line}"));
    }
    let rest = line.strip_prefix("test ")?;
    let (name, result) = rest.split_once(" ... ")?;
    // With `--nocapture` a grader's first line follows libtest's "test name ... " directly.
    if result.starts_with("  ok ") || result.starts_with("  FAIL ") {
        return Some(result.to_owned());
    }
    let result = match result.trim() {
        "ok" => "ok  ",
        "FAILED" => "FAIL",
        _ => return None,
    };
    Some(format!("  {result}  {name}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exercise_list_loads_and_every_exercise_has_a_stage() {
        let exercises = load().unwrap();
        assert!(exercises.len() >= 8);
        for exercise in &exercises {
            assert!(
                stages(exercise).iter().any(|s| !s.visible),
                "{} has no grader beyond its visible tests",
                exercise.name
            );
            assert!(!exercise.lesson.is_empty());
            assert!(!exercise.hint.is_empty());
        }
    }

    #[test]
    fn verdict_lines_are_kept_and_noise_is_dropped() {
        assert_eq!(
            verdict("  ok    loom::insert_same").as_deref(),
            Some("  ok    loom::insert_same")
        );
        assert!(verdict("   Compiling sessionlab v0.1.0").is_none());
        assert_eq!(
            verdict("test ex01_mutex::tests::insert_never_overwrites ... FAILED").as_deref(),
            Some("  FAIL  ex01_mutex::tests::insert_never_overwrites")
        );
        assert!(verdict("test result: ok. 1 passed").is_none());
        assert_eq!(
            verdict("test ex04_rwlock ...   FAIL  conformance::insert_then_touch").as_deref(),
            Some("  FAIL  conformance::insert_then_touch")
        );
    }

    #[test]
    fn libtest_counts_are_read_and_zero_is_zero() {
        assert_eq!(tests_ran("test result: ok. 3 passed; 0 failed; 0 ignored"), Some(3));
        assert_eq!(tests_ran("test result: FAILED. 0 passed; 1 failed; 0 ignored"), Some(1));
        assert_eq!(tests_ran("test result: ok. 0 passed; 0 failed; 2 filtered out"), Some(0));
        assert_eq!(tests_ran("test ex01 ... ok"), None);
    }

    #[test]
    fn unknown_exercises_and_bad_numbers_are_errors_not_panics() {
        let exercises = load().unwrap();
        assert!(find(&exercises, 99).is_err());
        let args = ExerciseArgs { action: Action::Check { which: "x".into(), solutions: false } };
        assert!(run(&args).is_err());
    }
}
