//! The server as a child process, so that a store that crashes or hangs it (the racy one)
//! is reported, not suffered.
//!
//! [`sessionlab::check::isolate::run_child`] runs a child to its end; a server has no end, so here
//! the child is started, its address read from its first line of output, loaded, and then
//! asked how it is: exited, killed by a signal, hung (alive but silent past the load's
//! timeout), or fine (and then stopped).

use sessionlab::check::isolate::signal_name;
use std::io::{self, BufRead, BufReader, Read};
use std::net::SocketAddr;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread::{self, JoinHandle};
use std::time::Duration;
use wait_timeout::ChildExt;

/// The prefix of the line `serve` prints once it listens: `listening on http://ADDR ...`.
pub const LISTENING: &str = "listening on ";

/// Finds the address in a [`LISTENING`] line.
pub fn parse_listening(line: &str) -> Option<SocketAddr> {
    let rest = line.strip_prefix(LISTENING)?;
    let (_, rest) = rest.split_once("://")?;
    rest.split(|c: char| c == '/' || c.is_whitespace()).next()?.parse().ok()
}

/// How the child server ended up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFate {
    /// It answered to the end and was stopped.
    Fine,
    /// It exited by itself.
    Exited {
        /// Its exit code.
        code: i32,
    },
    /// A signal killed it: a crash.
    Crashed {
        /// The signal's name.
        signal: &'static str,
    },
    /// A server we did not start (`load --target`) no longer accepts connections: it died
    /// (of a signal or not: only its parent can tell) or was stopped.
    Gone,
    /// It was alive but stopped answering; it was killed.
    Hung {
        /// How long a request waited before the server was declared hung.
        after: Duration,
    },
}

impl std::fmt::Display for ServerFate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Fine => f.write_str("ok"),
            Self::Exited { code } => write!(f, "exited {code}"),
            Self::Crashed { signal } => write!(f, "crashed ({signal})"),
            Self::Gone => f.write_str("gone (stopped accepting)"),
            Self::Hung { after } => write!(f, "hung (no answer in {:.0} s)", after.as_secs_f64()),
        }
    }
}

/// A running child server.
pub struct ServerChild {
    child: Child,
    addr: SocketAddr,
    stderr: Option<JoinHandle<String>>,
}

impl ServerChild {
    /// Starts `command` (a `serve` that prints its [`LISTENING`] line) and waits at most
    /// `startup` for the line.
    pub fn spawn(mut command: Command, startup: Duration) -> io::Result<Self> {
        command.stdin(Stdio::null()).stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = command.spawn()?;
        let stderr = Some(drain_tail(child.stderr.take()));
        let (found, addr) = mpsc::channel();
        let stdout = child.stdout.take();
        thread::spawn(move || {
            let Some(stdout) = stdout else { return };
            let mut sent = false;
            // Keep reading after the address: a child blocked on a full pipe would look hung.
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if !sent && let Some(addr) = parse_listening(&line) {
                    sent = found.send(addr).is_ok();
                }
            }
        });
        let mut server = Self { child, addr: SocketAddr::from(([127, 0, 0, 1], 0)), stderr };
        match addr.recv_timeout(startup) {
            Ok(addr) => {
                server.addr = addr;
                Ok(server)
            }
            Err(_) => {
                let _ = server.child.kill();
                let _ = server.child.wait();
                let stderr =
                    server.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
                Err(io::Error::other(format!("the server did not start: {}", stderr.trim())))
            }
        }
    }

    /// Where the child listens.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// CPU time the child's threads have used so far (Linux; `None` elsewhere).
    pub fn cpu_time(&self) -> Option<Duration> {
        crate::cpu::process(self.child.id())
    }

    /// Says how the child is, stops it if it still runs, and returns its fate with the end of
    /// what it printed on stderr. `silent_for`: the load saw a request wait this long.
    pub fn finish(mut self, silent_for: Option<Duration>) -> (ServerFate, String) {
        // A crash may be a moment from showing up as an exit.
        let exited = self.child.wait_timeout(Duration::from_millis(200)).ok().flatten();
        let fate = match exited {
            Some(status) => fate_of(status),
            None => {
                let _ = self.child.kill();
                let _ = self.child.wait();
                silent_for.map_or(ServerFate::Fine, |after| ServerFate::Hung { after })
            }
        };
        let stderr = self.stderr.take().map(|h| h.join().unwrap_or_default()).unwrap_or_default();
        (fate, stderr)
    }
}

impl Drop for ServerChild {
    fn drop(&mut self) {
        // Never leave a server behind, whatever happened to the caller.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn fate_of(status: ExitStatus) -> ServerFate {
    if let Some(code) = status.code() {
        return ServerFate::Exited { code };
    }
    #[cfg(unix)]
    {
        use std::os::unix::process::ExitStatusExt;
        ServerFate::Crashed { signal: signal_name(status.signal().unwrap_or(0)) }
    }
    #[cfg(not(unix))]
    {
        ServerFate::Crashed { signal: signal_name(0) }
    }
}

/// Reads a pipe to its end on a thread, keeping the last 8 KiB.
fn drain_tail(pipe: Option<impl Read + Send + 'static>) -> JoinHandle<String> {
    thread::spawn(move || {
        const KEEP: usize = 8 * 1024;
        let mut tail = Vec::new();
        if let Some(mut pipe) = pipe {
            let mut chunk = [0u8; 4096];
            while let Ok(n) = pipe.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                tail.extend_from_slice(&chunk[..n]);
                if tail.len() > 2 * KEEP {
                    tail.drain(..tail.len() - KEEP);
                }
            }
        }
        String::from_utf8_lossy(&tail).into_owned()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_listening_line() {
        let line = "listening on http://127.0.0.1:4321 (store mutex, ttl 5s)";
        assert_eq!(parse_listening(line), Some(SocketAddr::from(([127, 0, 0, 1], 4321))));
        assert_eq!(parse_listening("listening on https://[::1]:80/ x").map(|a| a.port()), Some(80));
        assert_eq!(parse_listening("starting"), None);
    }

    #[cfg(unix)]
    #[test]
    fn a_crash_and_a_hang_are_told_apart() {
        let mut crash = Command::new("sh");
        crash.arg("-c").arg("echo 'listening on http://127.0.0.1:1 x'; kill -SEGV $$");
        let child = ServerChild::spawn(crash, Duration::from_secs(5)).unwrap();
        let (fate, _) = child.finish(None);
        assert_eq!(fate, ServerFate::Crashed { signal: "SIGSEGV" });

        let mut hang = Command::new("sh");
        hang.arg("-c").arg("echo 'listening on http://127.0.0.1:1 x'; exec sleep 30");
        let child = ServerChild::spawn(hang, Duration::from_secs(5)).unwrap();
        let (fate, _) = child.finish(Some(Duration::from_secs(3)));
        assert_eq!(fate, ServerFate::Hung { after: Duration::from_secs(3) });

        let mut silent = Command::new("sh");
        silent.arg("-c").arg("echo oops >&2; exec sleep 30");
        let error = ServerChild::spawn(silent, Duration::from_millis(300)).err().unwrap();
        assert!(error.to_string().contains("oops"), "{error}");
    }
}
