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
use std::io::Read;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use wait_timeout::ChildExt;

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

    /// Runs one check, then records its result with how long it took.
    pub fn timed(&mut self, check: impl Into<String>, run: impl FnOnce() -> Result<(), String>) {
        let started = Instant::now();
        let result = run();
        let check = format!("{} ({:.2} s)", check.into(), started.elapsed().as_secs_f64());
        self.record(check, result);
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

/// Runs `f`, turning a panic (a stub's `todo!()`, a failed assertion) into an error message
/// that carries the panic's whole payload (an `assert_eq!`'s values included).
pub fn catching(f: impl FnOnce() -> Result<(), String>) -> Result<(), String> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .unwrap_or_else(|panic| Err(format!("panicked: {}", panic_message(&*panic))))
}

/// The text of a panic's payload (`panic!` gives a `&str` or a `String`).
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic whose payload is not text".to_owned())
}

/// Joins a scoped thread, passing its panic on with the original payload (so `catching` shows
/// the message, not `Any { .. }`).
pub fn join<T>(handle: std::thread::ScopedJoinHandle<'_, T>) -> T {
    handle.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

/// The environment variable that tells a re-executed test binary which one check to run.
pub const CHILD_VAR: &str = "SESSIONLAB_GRADE_CHILD";

/// The line a child prints before its verdict.
const VERDICT: &str = "@@sessionlab-verdict";

/// The line a child prints after a failure's message.
const VERDICT_END: &str = "@@sessionlab-verdict-end";

/// How long one check may run (`SESSIONLAB_CHECK_TIMEOUT_S`, default `default_s`).
pub fn check_timeout(default_s: u64) -> Duration {
    let s = std::env::var("SESSIONLAB_CHECK_TIMEOUT_S").ok().and_then(|v| v.parse().ok());
    Duration::from_secs(s.unwrap_or(default_s))
}

/// In a child process: exits as soon as the parent is gone (its end of our stdin closes), so
/// a check that hangs never outlives the grader that started it.
pub fn exit_when_parent_dies() {
    std::thread::spawn(|| {
        let mut byte = [0u8; 1];
        while let Ok(1) = std::io::stdin().read(&mut byte) {}
        std::process::exit(124);
    });
}

/// In a child process: runs the check and prints its verdict for [`in_child`] to read.
pub fn child_verdict(result: Result<(), String>) {
    match result {
        Ok(()) => println!("\n{VERDICT} ok"),
        Err(why) => println!("\n{VERDICT} fail\n{why}\n{VERDICT_END}"),
    }
}

/// Runs one check in a child process (this test binary re-executed on its hidden `child`
/// test, with [`CHILD_VAR`] = `target`), so that a check that hangs, aborts or corrupts the
/// heap is reported by name and the remaining checks still run. Returns the child's verdict,
/// or what killed it: the time limit, or a signal with the last lines it wrote to stderr
/// (the allocator's message, loom's report).
pub fn in_child(target: &str, limit: Duration) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the test binary: {e}"))?;
    let mut child = Command::new(exe)
        .args(["child", "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_VAR, target)
        // Kept open until the child ends: if this process dies (a time limit, Ctrl-C), the
        // child reads end-of-file on it and exits too (see `exit_when_parent_dies`).
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run the check's process: {e}"))?;
    let read = |mut pipe: Box<dyn Read + Send>| {
        std::thread::spawn(move || {
            let mut bytes = Vec::new();
            let _ = pipe.read_to_end(&mut bytes);
            String::from_utf8_lossy(&bytes).into_owned()
        })
    };
    let stdout = read(Box::new(child.stdout.take().expect("piped")));
    let stderr = read(Box::new(child.stderr.take().expect("piped")));
    let lifeline = child.stdin.take();
    let started = Instant::now();
    let status = child.wait_timeout(limit).map_err(|e| format!("waiting for the check: {e}"))?;
    let Some(status) = status else {
        // Past the limit: kill it (its threads die with it) and say what usually causes it.
        let _ = child.kill();
        let _ = child.wait();
        return Err(format!(
            "did not finish in {} s: a thread may be spinning (e.g. a CAS loop that never \
             reloads its expected value), or waiting for a lock it can never get (e.g. a lock \
             taken twice by one thread, or a write lock requested while a read guard is held)",
            started.elapsed().as_secs()
        ));
    };
    drop(lifeline);
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if let Some((_, verdict)) = stdout.split_once(VERDICT) {
        let verdict = verdict.trim_start();
        return match verdict.strip_prefix("ok") {
            Some(_) => Ok(()),
            None => {
                let message = verdict.strip_prefix("fail").unwrap_or(verdict);
                let message = message.split(VERDICT_END).next().unwrap_or(message);
                Err(message.trim().to_owned())
            }
        };
    }
    Err(died(status, &stderr))
}

/// What a child that printed no verdict died of: the signal's name (or the exit code), the
/// first panic message it printed, and its last lines on stderr.
fn died(status: std::process::ExitStatus, stderr: &str) -> String {
    use std::os::unix::process::ExitStatusExt;
    let how = match status.signal() {
        Some(signal) => format!("the check's process was killed by {}", signal_name(signal)),
        None => format!("the check's process exited with {status} before giving a verdict"),
    };
    let lines: Vec<&str> = stderr.lines().filter(|l| !l.trim().is_empty()).collect();
    let tail = lines[lines.len().saturating_sub(12)..].join("\n");
    let mut message = how;
    if let Some(at) = stderr.find("panicked at") {
        // The first panic, whole (an assertion's values follow on the next lines).
        let first: Vec<&str> =
            stderr[at..].lines().take_while(|l| !l.starts_with("note:")).take(12).collect();
        let _ = write!(message, "\nfirst panic: {}", first.join("\n"));
    }
    if !tail.is_empty() {
        let _ = write!(message, "\nlast lines on stderr:\n{tail}");
    }
    message
}

/// The name of a Unix signal, with what it usually means in a store.
pub fn signal_name(signal: i32) -> String {
    let (name, meaning) = match signal {
        4 => ("SIGILL", "an illegal instruction"),
        6 => (
            "SIGABRT",
            "an abort: the allocator found a corrupted heap, or a panic while panicking",
        ),
        7 => ("SIGBUS", "a bad memory access"),
        8 => ("SIGFPE", "an arithmetic fault"),
        9 => ("SIGKILL", "killed from outside (a time limit, or out of memory)"),
        11 => {
            ("SIGSEGV", "a segmentation fault: memory used after it was freed, or a wild pointer")
        }
        15 => ("SIGTERM", "terminated from outside"),
        _ => ("a signal", "see `kill -l`"),
    };
    format!("{name} (signal {signal}: {meaning})")
}
