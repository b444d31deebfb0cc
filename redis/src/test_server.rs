//! Throwaway `redis-server` processes on loopback ports, for tests and the lab's examples.
//!
//! Tests that need a real server start one here when Debian's `redis-server` is on the `PATH`
//! (`apt-get install redis-server`), so a plain `cargo test --workspace` runs them with no
//! environment variable. Each server runs with no persistence (`--save '' --appendonly no`) in
//! a temporary directory of its own, and is killed when its [`RedisServer`] is dropped.
//!
//! **No orphans.** A server is started through a small shell wrapper that holds the read end of
//! a pipe from this process: when this process exits for any reason (a panic, a `SIGKILL`, a
//! test binary that ends with a server in a `static`), the pipe closes and the wrapper kills
//! its server. So one server per test binary, kept in a `static`, is safe.
//!
//! [`RedisCluster`] starts a real Redis Cluster of three masters the same way and joins them
//! with `redis-cli --cluster create`.

use std::io::{self, BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long a server may take to answer its first `PING`.
const START_TIMEOUT: Duration = Duration::from_secs(10);

/// How to get the binary, for skip messages.
pub const INSTALL_HINT: &str = "install Redis (Debian/Ubuntu: apt-get install redis-server; \
                                macOS: brew install redis) so that redis-server and redis-cli \
                                are on the PATH";

/// The variable that names a server for the tests to use instead of starting one, e.g.
/// `redis://127.0.0.1:6390/`.
pub const URL_VAR: &str = "SESSIONLAB_REDIS_URL";

/// The server a test binary shares: the one [`URL_VAR`] names, else one started on a free
/// loopback port at the first call (killed when the binary exits), else `None` when
/// `redis-server` is not installed (after printing, for `test`, how to install it).
///
/// # Panics
///
/// If `redis-server` is installed but does not start: a broken install must fail, not skip.
pub fn shared_url(test: &str) -> Option<String> {
    static SHARED: OnceLock<Option<(String, Option<RedisServer>)>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        if let Ok(url) = std::env::var(URL_VAR)
            && !url.is_empty()
        {
            return Some((url, None));
        }
        if !binary_available() {
            return None;
        }
        let server = RedisServer::start()
            .unwrap_or_else(|error| panic!("redis-server is installed but did not start: {error}"));
        Some((server.url(), Some(server)))
    });
    let url = shared.as_ref().map(|(url, _)| url.clone());
    if url.is_none() {
        skip_notice(test);
    }
    url
}

/// The cluster a test binary shares: three masters started at the first call (killed when the
/// binary exits), as a seed-node URL list; `None` when `redis-server` is not installed (after
/// printing, for `test`, how to install it).
///
/// # Panics
///
/// If `redis-server` is installed but the cluster does not form.
pub fn shared_cluster_urls(test: &str) -> Option<String> {
    static SHARED: OnceLock<Option<(String, RedisCluster)>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        if !binary_available() {
            return None;
        }
        let cluster = RedisCluster::start().unwrap_or_else(|error| {
            panic!("redis-server is installed but no cluster formed: {error}")
        });
        Some((cluster.urls(), cluster))
    });
    let urls = shared.as_ref().map(|(urls, _)| urls.clone());
    if urls.is_none() {
        skip_notice(test);
    }
    urls
}

/// Whether a test may start servers of its own (`redis-server` is installed); prints, for
/// `test`, how to install it otherwise.
pub fn can_start_servers(test: &str) -> bool {
    let available = binary_available();
    if !available {
        skip_notice(test);
    }
    available
}

/// Tells the developer, on the process's stderr (libtest captures `eprintln!` of passing
/// tests, and a skip must be seen), that `test` did not run and how to make it run.
pub fn skip_notice(test: &str) {
    let _ = writeln!(
        io::stderr().lock(),
        "{test} did not run: redis-server is not on the PATH; {INSTALL_HINT}"
    );
}

/// Whether `redis-server` can be run from the `PATH`.
pub fn binary_available() -> bool {
    Command::new("redis-server")
        .arg("--version")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success())
}

/// A loopback port that was free a moment ago, chosen at random **below the kernel's
/// ephemeral range** (20000-32767; Linux hands out 32768-60999 to `bind(0)` and outgoing
/// connections). A server that is killed and restarted must get its port back: a port from the
/// ephemeral range could meanwhile be handed to any other process, even another test's Redis,
/// which would then answer in its place. Another process may still take the port before the
/// caller binds it; [`RedisServer::start`] retries on a fresh port when that happens, and
/// [`RedisServer::restart`] checks that the server answering is its own.
pub fn free_port() -> io::Result<u16> {
    for _ in 0..100 {
        let random = sessionlab::SessionId::generate();
        let bytes = random.as_bytes();
        let port = 20_000 + u16::from_le_bytes([bytes[0], bytes[1]]) % 12_768;
        if TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return Ok(port);
        }
    }
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

/// The wrapper: starts the server, prints its pid, and kills it once stdin closes (this
/// process ended or dropped the handle), so no server outlives the process that started it.
const WRAPPER: &str = r#"redis-server "$@" & pid=$!
echo "$pid"
read -r _ignored
kill -KILL "$pid" 2>/dev/null
wait "$pid" 2>/dev/null
exit 0"#;

/// A `redis-server` child process on a loopback port, killed when dropped.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    args: Vec<String>,
    dir: PathBuf,
    running: Option<Running>,
}

#[derive(Debug)]
struct Running {
    wrapper: Child,
    /// Closing it tells the wrapper to kill the server.
    stdin: Option<ChildStdin>,
    pid: u32,
}

impl RedisServer {
    /// Starts a server on a free loopback port and waits until it answers `PING`.
    pub fn start() -> io::Result<Self> {
        Self::start_with(&[])
    }

    /// The same, with extra `redis-server` arguments (e.g. `["--cluster-enabled", "yes"]`).
    /// Tries up to five ports: a port found free can be taken by another process before the
    /// server binds it.
    pub fn start_with(extra: &[&str]) -> io::Result<Self> {
        let mut last_error = None;
        for _ in 0..5 {
            match Self::start_on(free_port()?, extra) {
                Ok(server) => return Ok(server),
                Err(error) => last_error = Some(error),
            }
        }
        Err(last_error.unwrap_or_else(|| io::Error::other("redis-server did not start")))
    }

    /// Starts a server on `port` (with `extra` arguments) and waits until it answers `PING`.
    pub fn start_on(port: u16, extra: &[&str]) -> io::Result<Self> {
        let dir = std::env::temp_dir().join(format!(
            "sessionlab-redis-{}-{port}-{}",
            std::process::id(),
            uuid_like()
        ));
        std::fs::create_dir_all(&dir)?;
        let mut args: Vec<String> = [
            "--port",
            &port.to_string(),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--logfile",
            "redis.log",
            "--dir",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        args.push(dir.display().to_string());
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut server = Self { port, args, dir, running: None };
        server.restart()?;
        Ok(server)
    }

    /// Starts the server again on the same port and arguments (after [`kill`](Self::kill)),
    /// and waits until it answers `PING`. Without persistence it comes back empty.
    pub fn restart(&mut self) -> io::Result<()> {
        self.kill();
        let mut wrapper = Command::new("sh")
            .arg("-c")
            .arg(WRAPPER)
            .arg("sh")
            .args(&self.args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|error| io::Error::new(error.kind(), format!("sh: {error}")))?;
        let stdin = wrapper.stdin.take();
        let mut line = String::new();
        let stdout = wrapper.stdout.take().expect("stdout was piped");
        BufReader::new(stdout).read_line(&mut line)?;
        let pid = line.trim().parse().map_err(|_| {
            io::Error::other(format!("the redis-server wrapper printed {line:?}, not a pid"))
        })?;
        self.running = Some(Running { wrapper, stdin, pid });
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if ping(self.port) {
                // Whoever answers must be the server just started, not another process that
                // took the port while it was free.
                return match server_pid(self.port) {
                    Some(answering) if answering == pid => Ok(()),
                    answering => {
                        self.kill();
                        Err(io::Error::other(format!(
                            "port {} is answered by another redis-server (pid {answering:?}, \
                             ours was {pid})",
                            self.port
                        )))
                    }
                };
            }
            let exited = self.running.as_mut().and_then(|r| r.wrapper.try_wait().ok().flatten());
            if exited.is_some() || !process_alive(pid) || Instant::now() >= deadline {
                let log = std::fs::read_to_string(self.dir.join("redis.log")).unwrap_or_default();
                self.kill();
                return Err(io::Error::other(format!(
                    "redis-server on port {} did not answer PING within {START_TIMEOUT:?}; \
                     its log:\n{}",
                    self.port,
                    log.lines().rev().take(5).collect::<Vec<_>>().join("\n")
                )));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The server's port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// `redis://127.0.0.1:<port>/`.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// The server's process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.running.as_ref().map(|running| running.pid)
    }

    /// Kills the server (`SIGKILL`: a crash, no goodbye to its clients) and waits for it.
    pub fn kill(&mut self) {
        if let Some(mut running) = self.running.take() {
            let _ = signal(running.pid, "-KILL");
            drop(running.stdin.take());
            let _ = running.wrapper.wait();
        }
    }

    /// Sends `signal` (e.g. `"-STOP"`, `"-CONT"`) to the running server.
    pub fn signal(&self, signal_name: &str) -> io::Result<()> {
        let pid = self.pid().ok_or_else(|| io::Error::other("the server is not running"))?;
        signal(pid, signal_name)
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// A real Redis Cluster on loopback: three masters, no replicas, all 16,384 slots assigned.
#[derive(Debug)]
pub struct RedisCluster {
    masters: Vec<RedisServer>,
}

impl RedisCluster {
    /// Starts three `redis-server`s with `cluster-enabled yes`, joins them with
    /// `redis-cli --cluster create ... --cluster-yes`, and waits until every node reports
    /// `cluster_state:ok`.
    pub fn start() -> io::Result<Self> {
        let mut masters = Vec::new();
        for _ in 0..3 {
            // The cluster bus needs a second port; by default it is port + 10000, which may be
            // taken or above 65535, so it is chosen free as well.
            let bus = free_port()?.to_string();
            masters.push(RedisServer::start_with(&[
                "--cluster-enabled",
                "yes",
                "--cluster-config-file",
                "nodes.conf",
                "--cluster-port",
                &bus,
                "--cluster-node-timeout",
                "2000",
            ])?);
        }
        let nodes: Vec<String> =
            masters.iter().map(|server| format!("127.0.0.1:{}", server.port())).collect();
        let output = Command::new("redis-cli")
            .arg("--cluster")
            .arg("create")
            .args(&nodes)
            .args(["--cluster-replicas", "0", "--cluster-yes"])
            .stdin(Stdio::null())
            .output()
            .map_err(|error| io::Error::new(error.kind(), format!("redis-cli: {error}")))?;
        if !output.status.success() {
            return Err(io::Error::other(format!(
                "redis-cli --cluster create failed: {}",
                String::from_utf8_lossy(&output.stdout)
            )));
        }
        let cluster = Self { masters };
        let deadline = Instant::now() + START_TIMEOUT;
        while !cluster.masters.iter().all(|server| cluster_ok(server.port())) {
            if Instant::now() >= deadline {
                return Err(io::Error::other("the cluster never reached cluster_state:ok"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(cluster)
    }

    /// The seed-node list a client connects with: `redis://127.0.0.1:<port>/` per master,
    /// comma-separated.
    pub fn urls(&self) -> String {
        self.masters.iter().map(RedisServer::url).collect::<Vec<_>>().join(",")
    }

    /// The masters, for fault tests.
    pub fn masters(&mut self) -> &mut [RedisServer] {
        &mut self.masters
    }

    /// The index (in [`masters`](Self::masters)) of the master that owns `key`'s hash slot:
    /// the one that answers a command on it instead of redirecting (`MOVED`). `None` if no
    /// master answers (one is down, or the slot is unassigned).
    pub fn owner_of(&self, key: &str) -> Option<usize> {
        self.masters.iter().position(|master| {
            redis::Client::open(master.url())
                .and_then(|client| client.get_connection_with_timeout(Duration::from_secs(1)))
                .and_then(|mut connection| {
                    connection.set_read_timeout(Some(Duration::from_secs(2)))?;
                    redis::cmd("EXISTS").arg(key).query::<i64>(&mut connection)
                })
                .is_ok()
        })
    }
}

/// Whether a server answers `PING` on `port` within a short time.
fn ping(port: u16) -> bool {
    query(port, &["PING"]).is_some_and(|out| out.trim() == "PONG")
}

/// The process id of the server answering on `port` (`INFO server`).
fn server_pid(port: u16) -> Option<u32> {
    let info = query(port, &["INFO", "server"])?;
    info.lines().find_map(|line| line.strip_prefix("process_id:")?.trim().parse().ok())
}

fn cluster_ok(port: u16) -> bool {
    query(port, &["CLUSTER", "INFO"]).is_some_and(|out| out.contains("cluster_state:ok"))
}

/// Runs one command against the server on `port`, with short timeouts, as text.
fn query(port: u16, command: &[&str]) -> Option<String> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}/")).ok()?;
    let mut connection = client.get_connection_with_timeout(Duration::from_secs(1)).ok()?;
    connection.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
    let mut cmd = redis::cmd(command[0]);
    for word in &command[1..] {
        cmd.arg(*word);
    }
    cmd.query::<String>(&mut connection).ok()
}

fn signal(pid: u32, signal_name: &str) -> io::Result<()> {
    let status = Command::new("kill").args([signal_name, &pid.to_string()]).status()?;
    if status.success() {
        Ok(())
    } else {
        Err(io::Error::other(format!("kill {signal_name} {pid} failed")))
    }
}

fn process_alive(pid: u32) -> bool {
    std::path::Path::new(&format!("/proc/{pid}")).exists() || !cfg!(target_os = "linux")
}

/// A short unique suffix for directory names.
fn uuid_like() -> String {
    use std::sync::atomic::{AtomicU64, Ordering};
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("{nanos:x}{}", NEXT.fetch_add(1, Ordering::Relaxed))
}
