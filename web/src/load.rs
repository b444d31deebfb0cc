//! The load generator: client threads run login -> k x me -> logout -> me flows against a
//! server on loopback, check every answer, and count what went wrong.
//!
//! What each answer must be, and what a wrong one is called:
//!
//! | after | request | must be | otherwise |
//! |---|---|---|---|
//! | login | the first `me` | 200 `you are <name>` | **lost**: the session never landed (401) |
//! | a `me` that succeeded | the next `me` or the logout, less than a ttl later | 200 | **wrongly expired**: a live session was removed (401) |
//! | logout | one more `me` | 401 | **resurrected**: the removed session answers again (200) |
//! | any | any | the user who logged in | **wrong user**: a session answered for someone else |
//!
//! "Less than a ttl later" is judged conservatively with the client's clock: from when the
//! last successful request was *sent* to when the failing answer was *received*, which bounds
//! the server-side idle time from above. A failure after a full ttl is a rightful expiry and
//! counts as none of the above.
//!
//! Every `abandon_every`-th flow skips its logout, like a user who closes the tab, so that the
//! background sweeper has idle sessions to remove while the flows run.
//!
//! Bounds: the run stops at `requests` requests or `max_time`, whichever comes first, and only
//! ever connects to a loopback address.

use crate::answers;
use crate::client::Client;
use hdrhistogram::Histogram;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How to load the server.
#[derive(Debug, Clone)]
pub struct LoadConfig {
    /// Client threads, each with one keep-alive connection.
    pub threads: usize,
    /// Stop after about this many requests in all.
    pub requests: u64,
    /// `me` requests per flow.
    pub touches: usize,
    /// Stop after this long in any case.
    pub max_time: Duration,
    /// The server's ttl, to tell a rightful expiry from a wrong one.
    pub ttl: Duration,
    /// Every this-many-th flow abandons its session instead of logging out (0: never).
    pub abandon_every: u64,
    /// A server that does not answer within this long is taken as hung.
    pub io_timeout: Duration,
}

impl Default for LoadConfig {
    fn default() -> Self {
        Self {
            threads: 2,
            requests: 100_000,
            touches: 8,
            max_time: Duration::from_secs(60),
            ttl: Duration::from_secs(5),
            abandon_every: 10,
            io_timeout: Duration::from_secs(3),
        }
    }
}

/// What a load run saw.
#[derive(Debug, Clone)]
pub struct LoadReport {
    /// Requests answered (any status).
    pub requests: u64,
    /// Complete flows.
    pub flows: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// Latency of answered requests, in microseconds.
    pub latency: Histogram<u64>,
    /// Sessions whose first `me` after login failed.
    pub lost: u64,
    /// Removed sessions that answered a `me` again.
    pub resurrected: u64,
    /// Live sessions that vanished before their ttl.
    pub wrongly_expired: u64,
    /// Answers that named the wrong user.
    pub wrong_user: u64,
    /// Answers with a status no flow step expects (4xx/5xx other than the 401s above).
    pub unexpected: u64,
    /// Connection failures, resets and timeouts.
    pub transport_errors: u64,
    /// The first transport error, if any.
    pub first_transport_error: Option<String>,
    /// Whether some request waited past `io_timeout`.
    pub timed_out: bool,
    /// CPU time the client threads used (`None` where it cannot be read).
    pub client_cpu: Option<Duration>,
}

impl LoadReport {
    fn new() -> Self {
        Self {
            requests: 0,
            flows: 0,
            elapsed: Duration::ZERO,
            // 1 µs to 60 s at 3 significant digits.
            latency: Histogram::new_with_bounds(1, 60_000_000, 3).expect("valid histogram bounds"),
            lost: 0,
            resurrected: 0,
            wrongly_expired: 0,
            wrong_user: 0,
            unexpected: 0,
            transport_errors: 0,
            first_transport_error: None,
            timed_out: false,
            client_cpu: Some(Duration::ZERO),
        }
    }

    /// Requests per second over the run.
    pub fn throughput(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }

    /// Client CPU time per answered request.
    pub fn client_cpu_per_request(&self) -> Option<Duration> {
        self.client_cpu.map(|cpu| cpu / u32::try_from(self.requests.max(1)).unwrap_or(u32::MAX))
    }

    /// Whether every answer was right (no lost, resurrected, wrongly expired or mixed-up
    /// sessions, no unexpected status, no transport error).
    pub fn is_clean(&self) -> bool {
        self.lost
            + self.resurrected
            + self.wrongly_expired
            + self.wrong_user
            + self.unexpected
            + self.transport_errors
            == 0
    }
}

impl Tally for LoadReport {
    fn merge(&mut self, other: &Self) {
        self.requests += other.requests;
        self.flows += other.flows;
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.latency.add(&other.latency);
        self.lost += other.lost;
        self.resurrected += other.resurrected;
        self.wrongly_expired += other.wrongly_expired;
        self.wrong_user += other.wrong_user;
        self.unexpected += other.unexpected;
        self.transport_errors += other.transport_errors;
        if self.first_transport_error.is_none() {
            self.first_transport_error.clone_from(&other.first_transport_error);
        }
        self.timed_out |= other.timed_out;
        self.client_cpu = self.client_cpu.zip(other.client_cpu).map(|(a, b)| a + b);
    }

    fn thread_panicked(&mut self) {
        self.unexpected += 1;
    }
}

/// Why a run could not start.
#[derive(Debug)]
pub enum LoadError {
    /// The target is not a loopback address: the load generator only loads this machine.
    NotLoopback(SocketAddr),
    /// Nothing answers at the target.
    Connect(io::Error),
}

impl std::fmt::Display for LoadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::NotLoopback(addr) => {
                write!(
                    f,
                    "{addr} is not a loopback address; the load generator only targets 127.0.0.1 or ::1"
                )
            }
            Self::Connect(error) => write!(f, "cannot connect: {error}"),
        }
    }
}

impl std::error::Error for LoadError {}

/// Runs the flows against the server at `addr` (plain HTTP on loopback).
pub fn run(addr: SocketAddr, config: &LoadConfig) -> Result<LoadReport, LoadError> {
    if !addr.ip().is_loopback() {
        return Err(LoadError::NotLoopback(addr));
    }
    // One connection up front, so that "nothing listens" is an error and not a report full
    // of transport errors.
    drop(Client::connect(addr, config.io_timeout).map_err(LoadError::Connect)?);
    let (budget, stop) = (AtomicU64::new(0), AtomicBool::new(false));
    let started = Instant::now();
    let deadline = started + config.max_time;
    let mut report = on_threads(config.threads, LoadReport::new(), |thread| {
        Worker { addr, config, thread, budget: &budget, stop: &stop, deadline }.run()
    });
    report.elapsed = started.elapsed();
    Ok(report)
}

/// What the client threads' reports of a run have in common (this module's and
/// [`spread`](crate::spread)'s): they add up, and a thread that panicked is counted.
pub(crate) trait Tally: Send {
    /// Adds `other`'s counts to these.
    fn merge(&mut self, other: &Self);
    /// Counts a client thread that panicked (its report is lost) as one unexpected answer.
    fn thread_panicked(&mut self);
}

/// Runs `work(thread)` on `threads` client threads (1 to 256) at once and adds their reports
/// to `total`.
pub(crate) fn on_threads<R: Tally>(
    threads: usize,
    mut total: R,
    work: impl Fn(usize) -> R + Sync,
) -> R {
    std::thread::scope(|s| {
        let work = &work;
        let workers: Vec<_> =
            (0..threads.clamp(1, 256)).map(|thread| s.spawn(move || work(thread))).collect();
        for worker in workers {
            match worker.join() {
                Ok(report) => total.merge(&report),
                Err(_) => total.thread_panicked(),
            }
        }
        total
    })
}

struct Worker<'a> {
    addr: SocketAddr,
    config: &'a LoadConfig,
    thread: usize,
    budget: &'a AtomicU64,
    stop: &'a AtomicBool,
    deadline: Instant,
}

/// How one checked step went.
enum Step {
    /// The expected answer.
    Ok,
    /// A wrong answer, already counted; the flow cannot go on.
    Broken,
    /// The connection failed; reconnect or stop.
    Transport,
}

impl Worker<'_> {
    fn run(mut self) -> LoadReport {
        let cpu_at_start = crate::cpu::this_thread();
        let mut report = self.flows();
        report.client_cpu = cpu_at_start
            .zip(crate::cpu::this_thread())
            .map(|(start, end)| end.saturating_sub(start));
        report
    }

    fn flows(&mut self) -> LoadReport {
        let mut report = LoadReport::new();
        let mut client = None;
        let mut flow = 0u64;
        while !self.stop.load(Ordering::Relaxed) && Instant::now() < self.deadline {
            let abandons = self.abandons(flow);
            let flow_requests = self.config.touches as u64 + if abandons { 1 } else { 3 };
            if self.budget.fetch_add(flow_requests, Ordering::Relaxed) >= self.config.requests {
                break;
            }
            let connection = match client.take() {
                Some(connection) => connection,
                None => match Client::connect(self.addr, self.config.io_timeout) {
                    Ok(connection) => connection,
                    Err(error) => {
                        self.transport_error(&mut report, &error);
                        // A server that refuses connections is gone: stop every thread.
                        self.stop.store(true, Ordering::Relaxed);
                        break;
                    }
                },
            };
            let mut connection = connection;
            match self.flow(&mut connection, flow, &mut report) {
                Step::Transport => {} // dropped: the next flow reconnects
                Step::Ok | Step::Broken => client = Some(connection),
            }
            flow += 1;
        }
        report
    }

    fn abandons(&self, flow: u64) -> bool {
        let every = self.config.abandon_every;
        every > 0 && flow % every == every - 1
    }

    fn transport_error(&self, report: &mut LoadReport, error: &io::Error) {
        report.transport_errors += 1;
        if matches!(error.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) {
            report.timed_out = true;
            // A server that sat on one request past the timeout is hung: waiting out the
            // timeout once per remaining request would only make the report late.
            self.stop.store(true, Ordering::Relaxed);
        }
        if report.first_transport_error.is_none() {
            report.first_transport_error = Some(error.to_string());
        }
    }

    fn timed<T>(
        &self,
        report: &mut LoadReport,
        call: impl FnOnce() -> io::Result<T>,
    ) -> Result<T, ()> {
        let sent = Instant::now();
        match call() {
            Ok(answer) => {
                report.requests += 1;
                let micros = u64::try_from(sent.elapsed().as_micros()).unwrap_or(u64::MAX);
                report.latency.saturating_record(micros.max(1));
                Ok(answer)
            }
            Err(error) => {
                self.transport_error(report, &error);
                Err(())
            }
        }
    }

    fn flow(
        &self,
        client: &mut Client<std::net::TcpStream>,
        flow: u64,
        report: &mut LoadReport,
    ) -> Step {
        // A bounded set of names per thread: the server's registry never grows without limit.
        let name = format!("load{}-{}", self.thread, flow % 256);
        let expected = answers::me_body(&name);
        let body = format!("user={name}");
        let Ok(login) = self.timed(report, || client.post("/login", None, body.as_bytes())) else {
            return Step::Transport;
        };
        let Some(id) = answers::issued_session(&login).map(str::to_owned) else {
            report.unexpected += 1;
            return Step::Broken;
        };
        // When the last request that found the session alive was sent.
        let mut last_ok = Instant::now();
        for touch in 0..self.config.touches {
            let sent = Instant::now();
            let Ok(me) = self.timed(report, || client.get("/me", Some(&id))) else {
                return Step::Transport;
            };
            match me.status {
                answers::ME_OK if me.body == expected.as_bytes() => last_ok = sent,
                answers::ME_OK => {
                    report.wrong_user += 1;
                    return Step::Broken;
                }
                answers::NOT_LOGGED_IN => {
                    self.vanished(report, touch == 0, last_ok);
                    return Step::Broken;
                }
                _ => {
                    report.unexpected += 1;
                    return Step::Broken;
                }
            }
        }
        if self.abandons(flow) {
            report.flows += 1;
            return Step::Ok;
        }
        let Ok(logout) = self.timed(report, || client.post("/logout", Some(&id), b"")) else {
            return Step::Transport;
        };
        match logout.status {
            answers::AFTER_POST => {}
            answers::NOT_LOGGED_IN => {
                self.vanished(report, self.config.touches == 0, last_ok);
                return Step::Broken;
            }
            _ => {
                report.unexpected += 1;
                return Step::Broken;
            }
        }
        let Ok(after) = self.timed(report, || client.get("/me", Some(&id))) else {
            return Step::Transport;
        };
        match after.status {
            answers::NOT_LOGGED_IN => {}
            answers::ME_OK => report.resurrected += 1,
            _ => report.unexpected += 1,
        }
        report.flows += 1;
        Step::Ok
    }

    /// A session answered 401 where it should have been alive.
    fn vanished(&self, report: &mut LoadReport, first_use: bool, last_ok: Instant) {
        if last_ok.elapsed() >= self.config.ttl {
            return; // idle for a full ttl (a stalled machine): a rightful expiry
        }
        if first_use {
            report.lost += 1;
        } else {
            report.wrongly_expired += 1;
        }
    }
}
