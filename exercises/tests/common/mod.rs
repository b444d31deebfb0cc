//! What every grader shares: which outcome an exercise must have, and the report.
//!
//! An exercise's expected outcome is, in order: `SESSIONLAB_EXERCISE_EXPECT=pass|fail` when set
//! (the `exercise check` command sets `pass`: a student asks "does my store pass?"); otherwise
//! *fail* while the exercise's file still carries the not-done marker (an unsolved stub: the
//! grader must catch it, or it is vacuous), and *pass* once the marker is gone (a solved stub,
//! or a kept solution under `--features solutions`).

#![allow(dead_code)] // each test target uses its own part

use sessionlab_exercises::NOT_DONE_MARKER;
use std::fmt::Write as _;

/// What a grader run must show.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    /// Every check passes.
    Pass,
    /// At least one check fails.
    Fail,
}

/// The file an exercise is compiled from in this build.
pub fn source_path(name: &str) -> String {
    let dir = if cfg!(feature = "solutions") { "solutions" } else { "src" };
    format!("{}/{dir}/{name}.rs", env!("CARGO_MANIFEST_DIR"))
}

/// Whether the exercise's file still says it is not done.
pub fn marked_not_done(name: &str) -> bool {
    let path = source_path(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    text.lines().any(|line| line.trim() == format!("// {NOT_DONE_MARKER}"))
}

/// The outcome exercise `name` must have (see the module docs).
pub fn expectation(name: &str) -> Expect {
    match std::env::var("SESSIONLAB_EXERCISE_EXPECT").as_deref() {
        Ok("pass") => Expect::Pass,
        Ok("fail") => Expect::Fail,
        _ if marked_not_done(name) => Expect::Fail,
        _ => Expect::Pass,
    }
}

/// The checks one grader ran, in order.
#[derive(Debug, Default)]
pub struct Report {
    results: Vec<(String, Result<(), String>)>,
}

impl Report {
    /// Records one check's result and prints it as it comes, so a long grade shows progress.
    pub fn record(&mut self, check: impl Into<String>, result: Result<(), String>) {
        let check = check.into();
        match &result {
            Ok(()) => println!("  ok    {check}"),
            Err(why) => println!("  FAIL  {check}\n        {}", why.replace('\n', "\n        ")),
        }
        self.results.push((check, result));
    }

    /// How many checks failed.
    pub fn failures(&self) -> usize {
        self.results.iter().filter(|(_, r)| r.is_err()).count()
    }

    /// Asserts that the report matches what exercise `name` must show.
    pub fn finish(self, name: &str, stage: &str) {
        assert!(!self.results.is_empty(), "{name}: the {stage} grader ran no checks");
        let failed = self.failures();
        let total = self.results.len();
        let mut summary = String::new();
        let _ = write!(summary, "{name} [{stage}]: {} of {total} checks passed", total - failed);
        println!("{summary}");
        match expectation(name) {
            Expect::Pass => assert!(
                failed == 0,
                "{summary}; failed: {}",
                self.results
                    .iter()
                    .filter(|(_, r)| r.is_err())
                    .map(|(c, _)| c.as_str())
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
            Expect::Fail => assert!(
                failed > 0,
                "{summary}, but {name} is an unsolved stub (it still carries the not-done \
                 marker): either the grader is vacuous, or the exercise is solved and the \
                 marker line should be deleted"
            ),
        }
    }
}

/// Runs `f`, turning a panic (a stub's `todo!()`, a failed assertion) into an error message.
pub fn catching(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)).unwrap_or_else(|panic| {
        Err(panic
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "a non-string panic".to_owned()))
    })
}
