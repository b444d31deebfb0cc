//! Running something that may crash or hang in a child process, and saying what happened.
//!
//! The racy store's data races are undefined behaviour: on real threads a run usually *hangs*
//! (a thread spins forever probing a corrupted table), sometimes dies with SIGSEGV or aborts
//! with `free(): invalid pointer`, and sometimes merely loses sessions. None of that may take
//! the lab down, so the lab runs it in a child process with a timeout and reports the
//! [`ChildOutcome`].

use std::io::{self, Read};
use std::process::{Child, Command, Stdio};
use std::thread;
use std::time::Duration;
use wait_timeout::ChildExt;

/// How a child process ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChildOutcome {
    /// It exited by itself with `code`.
    Exited {
        /// The exit code.
        code: i32,
        /// Everything it printed on stdout.
        stdout: String,
        /// Everything it printed on stderr.
        stderr: String,
    },
    /// A signal killed it (a crash: SIGSEGV, SIGABRT, SIGBUS, ...).
    Signaled {
        /// The signal number.
        signal: i32,
        /// The signal's name, e.g. `"SIGSEGV"`.
        name: &'static str,
        /// Everything it printed on stderr (an abort usually says why).
        stderr: String,
    },
    /// It was still running at the timeout and was killed.
    Hung {
        /// The timeout.
        after: Duration,
        /// Everything it printed on stderr before it was killed.
        stderr: String,
    },
}

impl ChildOutcome {
    /// Whether the child crashed or hung rather than exiting by itself.
    pub fn is_failure(&self) -> bool {
        !matches!(self, Self::Exited { code: 0, .. })
    }

    /// One line for a report: `exited 0`, `killed by SIGSEGV`, `hung: killed after 3 s`.
    pub fn describe(&self) -> String {
        match self {
            Self::Exited { code, stderr, .. } if *code != 0 => match last_line(stderr) {
                Some(line) => format!("exited {code}: {line}"),
                None => format!("exited {code}"),
            },
            Self::Exited { code, .. } => format!("exited {code}"),
            Self::Signaled { name, stderr, .. } => match last_line(stderr) {
                Some(line) => format!("killed by {name} ({line})"),
                None => format!("killed by {name}"),
            },
            Self::Hung { after, .. } => {
                format!("hung: killed after {:.1} s", after.as_secs_f64())
            }
        }
    }
}

fn last_line(text: &str) -> Option<&str> {
    text.lines().map(str::trim).rfind(|line| !line.is_empty())
}

/// Runs `command` with piped output and waits at most `timeout`; a child still running then
/// is killed and reported as [`ChildOutcome::Hung`]. Errors only if the child cannot start.
pub fn run_child(mut command: Command, timeout: Duration) -> io::Result<ChildOutcome> {
    command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
    let mut child = command.spawn()?;
    // Drain both pipes on their own threads: a child blocked on a full pipe would look hung.
    let stdout = drain(child.stdout.take());
    let stderr = drain(child.stderr.take());
    let status = match wait_or_kill(&mut child, timeout)? {
        Some(status) => status,
        None => {
            return Ok(ChildOutcome::Hung { after: timeout, stderr: join(stderr) });
        }
    };
    let (stdout, stderr) = (join(stdout), join(stderr));
    if let Some(code) = status.code() {
        return Ok(ChildOutcome::Exited { code, stdout, stderr });
    }
    let signal = signal_of(&status);
    Ok(ChildOutcome::Signaled { signal, name: signal_name(signal), stderr })
}

fn wait_or_kill(
    child: &mut Child,
    timeout: Duration,
) -> io::Result<Option<std::process::ExitStatus>> {
    if let Some(status) = child.wait_timeout(timeout)? {
        return Ok(Some(status));
    }
    // Already exited between the timeout and the kill: that's fine, report the hang anyway.
    let _ = child.kill();
    child.wait()?;
    Ok(None)
}

fn drain(pipe: Option<impl Read + Send + 'static>) -> thread::JoinHandle<String> {
    thread::spawn(move || {
        let mut bytes = Vec::new();
        if let Some(mut pipe) = pipe {
            // A read error just ends the capture early; what was read is still reported.
            let _ = pipe.read_to_end(&mut bytes);
        }
        String::from_utf8_lossy(&bytes).into_owned()
    })
}

fn join(handle: thread::JoinHandle<String>) -> String {
    handle.join().unwrap_or_default()
}

#[cfg(unix)]
fn signal_of(status: &std::process::ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    status.signal().unwrap_or(0)
}

#[cfg(not(unix))]
fn signal_of(_status: &std::process::ExitStatus) -> i32 {
    0
}

/// The conventional name of a Linux signal number.
pub fn signal_name(signal: i32) -> &'static str {
    match signal {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        4 => "SIGILL",
        5 => "SIGTRAP",
        6 => "SIGABRT",
        7 => "SIGBUS",
        8 => "SIGFPE",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        13 => "SIGPIPE",
        15 => "SIGTERM",
        _ => "an unknown signal",
    }
}

#[cfg(all(test, not(loom), unix))]
mod tests {
    use super::*;

    fn sh(script: &str) -> Command {
        let mut command = Command::new("sh");
        command.arg("-c").arg(script);
        command
    }

    #[test]
    fn reports_a_clean_exit_with_its_output() {
        let outcome = run_child(sh("echo out; echo err >&2"), Duration::from_secs(10)).unwrap();
        assert_eq!(
            outcome,
            ChildOutcome::Exited { code: 0, stdout: "out\n".into(), stderr: "err\n".into() }
        );
        assert!(!outcome.is_failure());
    }

    #[test]
    fn reports_a_crash_by_signal_name() {
        let outcome = run_child(
            sh("echo 'free(): invalid pointer' >&2; kill -SEGV $$"),
            Duration::from_secs(10),
        )
        .unwrap();
        assert!(matches!(outcome, ChildOutcome::Signaled { signal: 11, name: "SIGSEGV", .. }));
        assert_eq!(outcome.describe(), "killed by SIGSEGV (free(): invalid pointer)");
    }

    #[test]
    fn kills_and_reports_a_hang() {
        let outcome = run_child(sh("exec sleep 30"), Duration::from_millis(200)).unwrap();
        assert!(matches!(outcome, ChildOutcome::Hung { .. }), "{outcome:?}");
        assert!(outcome.describe().starts_with("hung: killed after 0.2 s"));
    }

    #[test]
    fn a_failing_exit_is_a_failure() {
        let outcome = run_child(sh("echo boom >&2; exit 3"), Duration::from_secs(10)).unwrap();
        assert!(outcome.is_failure());
        assert_eq!(outcome.describe(), "exited 3: boom");
    }
}
