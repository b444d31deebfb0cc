//! `sessionlab exercise list | hint N | check N | check all`: the course's front end.
//!
//! The exercises live in the workspace member `exercises/` (`sessionlab-exercises`); this
//! command holds no grading logic of its own. `check` runs the graders there as cargo
//! subprocesses, stage by stage, and streams each check's verdict as it arrives:
//!
//! 1. the exercise's visible tests (`cargo test --lib exNN_name::`, ignored ones included);
//! 2. on real threads: the conformance suite and the linearizability checker
//!    (`cargo test --test grade -- exNN_name --exact`);
//! 3. under loom, with the lab's documented loom command
//!    (`RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom`).
//!
//! Every stage runs with `SESSIONLAB_EXERCISE_EXPECT=pass`: the student asks "does my store
//! pass?", whatever the not-done marker says. The list of exercises, their stages and hints
//! come from `exercises/exercises.json`, which the exercise crate's own tests keep in step
//! with its files.

use clap::{Args, Subcommand};
use serde::Deserialize;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

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

fn is_done(exercise: &Exercise) -> bool {
    let path = exercises_dir().join("src").join(format!("{}.rs", exercise.name));
    std::fs::read_to_string(path).is_ok_and(|text| !text.lines().any(|l| l.trim() == NOT_DONE))
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
    let done = exercises.iter().filter(|e| is_done(e)).count();
    for exercise in exercises {
        let mark = if is_done(exercise) { "done" } else { "todo" };
        println!("{:>2}  [{mark}]  {}", exercise.number, exercise.title);
        println!("            exercises/src/{}.rs", exercise.name);
        println!("            {}", exercise.teaches);
    }
    let width = 24;
    let filled = done * width / exercises.len().max(1);
    println!(
        "\nprogress [{}{}] {done}/{} done (an exercise is done when its file no longer says \
         `I AM NOT DONE`)",
        "#".repeat(filled),
        "-".repeat(width - filled),
        exercises.len()
    );
    println!("next: `cargo run -- exercise hint N`, `cargo run -- exercise check N`");
}

/// A grading stage: what it is called and the cargo command that runs it.
struct Stage {
    label: &'static str,
    loom: bool,
    args: Vec<String>,
}

fn stages(exercise: &Exercise, solutions: bool) -> Vec<Stage> {
    let cargo = |target: &[&str], filter: &[&str]| {
        let mut args: Vec<String> =
            ["test", "--release", "-p", "sessionlab-exercises"].map(String::from).to_vec();
        if solutions {
            args.push("--features=solutions".into());
        }
        args.extend(target.iter().map(|s| (*s).to_owned()));
        args.push("--".into());
        args.extend(filter.iter().map(|s| (*s).to_owned()));
        args.extend(["--nocapture", "--test-threads=1"].map(String::from));
        args
    };
    let name = exercise.name.as_str();
    let module = format!("{name}::");
    let mut stages = vec![Stage {
        label: "visible tests",
        loom: false,
        args: cargo(&["--lib"], &[&module, "--include-ignored"]),
    }];
    if exercise.stages.iter().any(|s| s == "conformance" || s == "linearizability") {
        stages.push(Stage {
            label: "real threads: the conformance suite and the linearizability checker (or the exercise's own racing checks)",
            loom: false,
            args: cargo(&["--test", "grade"], &[name, "--exact"]),
        });
    }
    if exercise.stages.iter().any(|s| s == "loom") {
        stages.push(Stage {
            label: "loom: RUSTFLAGS=\"--cfg loom\" LOOM_MAX_PREEMPTIONS=3",
            loom: true,
            args: cargo(&["--test", "loom"], &[name, "--exact"]),
        });
    }
    stages
}

fn check(exercises: &[&Exercise], solutions: bool) -> Result<ExitCode, String> {
    let mut summary = Vec::new();
    for exercise in exercises {
        println!("== exercise {}: {} ==", exercise.number, exercise.title);
        let stages = stages(exercise, solutions);
        let mut passed = true;
        for (i, stage) in stages.iter().enumerate() {
            println!("[{}/{}] {}", i + 1, stages.len(), stage.label);
            let started = Instant::now();
            let ok = run_stage(stage)?;
            println!(
                "      {} in {:.1?}",
                if ok { "stage passed" } else { "stage FAILED" },
                started.elapsed()
            );
            passed &= ok;
        }
        println!(
            "exercise {}: {}\n",
            exercise.number,
            if passed { "PASSED" } else { "NOT YET (see the FAIL lines above)" }
        );
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

/// Runs one stage's cargo command, printing each check's verdict line as it arrives. Returns
/// whether cargo (and so every test in the stage) succeeded. A build error is printed whole.
fn run_stage(stage: &Stage) -> Result<bool, String> {
    let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    let mut command = Command::new(cargo);
    command
        .args(&stage.args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("SESSIONLAB_EXERCISE_EXPECT", "pass")
        // Flags the parent cargo may have passed down must not leak into the nested build.
        .env_remove("CARGO_ENCODED_RUSTFLAGS")
        .env_remove("RUST_BACKTRACE")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if stage.loom {
        command.env("RUSTFLAGS", "--cfg loom").env("LOOM_MAX_PREEMPTIONS", "3");
    } else {
        command.env_remove("RUSTFLAGS");
    }
    let mut child = command.spawn().map_err(|e| format!("cannot run cargo: {e}"))?;
    let mut stderr = child.stderr.take().expect("stderr is piped");
    let collector = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = stderr.read_to_string(&mut text);
        text
    });
    let mut verdicts = 0;
    let stdout = child.stdout.take().expect("stdout is piped");
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("reading cargo's output: {e}"))?;
        if let Some(shown) = verdict(&line) {
            verdicts += 1;
            println!("{shown}");
        }
    }
    let status = child.wait().map_err(|e| format!("waiting for cargo: {e}"))?;
    let stderr = collector.join().unwrap_or_default();
    if !status.success() && verdicts == 0 {
        // Nothing ran: most likely the exercise does not compile. Show cargo's errors.
        let errors: Vec<&str> = stderr
            .lines()
            .skip_while(|l| !l.starts_with("error") && !l.starts_with("warning"))
            .collect();
        println!("{}", if errors.is_empty() { stderr.as_str().into() } else { errors.join("\n") });
    }
    Ok(status.success())
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
            assert!(stages(exercise, false).len() >= 2, "{} has no grader", exercise.name);
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
    fn unknown_exercises_and_bad_numbers_are_errors_not_panics() {
        let exercises = load().unwrap();
        assert!(find(&exercises, 99).is_err());
        let args = ExerciseArgs { action: Action::Check { which: "x".into(), solutions: false } };
        assert!(run(&args).is_err());
    }
}
