//! Load spread over several servers that share one store: each request of a flow goes to the
//! next server, so a session created on one is touched and logged out on the others.
//!
//! The flows and the judgement are [`load`](crate::load)'s (login -> k x me -> logout -> me;
//! lost, wrongly expired, resurrected, wrong user), with what a shared store adds:
//!
//! - **A server that refuses connections** (killed) is skipped: the request goes to the next
//!   server, as a load balancer would send it, and the dead one is retried a second later.
//!   The request was never sent, so nothing is judged twice.
//! - **A request cut off mid-way** (its server died under it) has an unknown outcome: the flow
//!   is abandoned, counted as `interrupted`, and never judged.
//! - **`503`** (the store is unreachable) ends the flow, counted as `unavailable`: the servers
//!   said they could not answer, which is the right answer during an outage.
//! - **An outage that loses the store's data** (a restarted Redis without persistence): the
//!   caller bumps `epoch` when it starts one; a flow that began in an earlier epoch and then
//!   finds its session gone counts as `lost_in_outage`, not as a wrong answer. Where an outage
//!   can lose only some sessions (a cluster master restarted empty loses its slots' sessions,
//!   no others), [`run_judged`] takes the caller's word for which: any other session that
//!   vanishes is still a wrong answer.
//!
//! Bounds: loopback targets only, `requests` and `max_time`, `io_timeout` per request.

use crate::answers;
use crate::client::Client;
use crate::load::{LoadConfig, LoadError, Tally, on_threads};
use std::fmt;
use std::io;
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long a server that refused a connection is left alone before it is tried again.
const DEAD_FOR: Duration = Duration::from_secs(1);

/// What a spread run saw.
#[derive(Debug, Clone, Default)]
pub struct SpreadReport {
    /// Requests answered (any status).
    pub requests: u64,
    /// Answers per target, in the order of the targets.
    pub per_target: Vec<u64>,
    /// Complete flows.
    pub flows: u64,
    /// Sessions whose first `me` after login failed.
    pub lost: u64,
    /// Removed sessions that answered a `me` again.
    pub resurrected: u64,
    /// Live sessions that vanished before their ttl.
    pub wrongly_expired: u64,
    /// Answers that named the wrong user.
    pub wrong_user: u64,
    /// `200` answers that named the session's user by number (`you are user-37`, a `UserId`'s
    /// display) rather than by name: what an app that cannot read its user directory and
    /// shows the id instead would answer. The app answers 503 then, so this is a wrong answer;
    /// it is counted apart from `wrong_user` to say which mistake it was.
    pub unnamed: u64,
    /// `503` answers (the store was unreachable).
    pub unavailable: u64,
    /// Sessions gone after an outage that began during their flow (see the module docs).
    pub lost_in_outage: u64,
    /// Requests cut off mid-way: outcome unknown, flow abandoned.
    pub interrupted: u64,
    /// Connections refused (a dead server), each followed by a move to the next server.
    pub refused: u64,
    /// Answers no step expects.
    pub unexpected: u64,
    /// Wall time of the run.
    pub elapsed: Duration,
    /// The first wrong answer: what was asked, what was expected, what came.
    pub first_wrong: Option<String>,
}

impl Tally for SpreadReport {
    fn merge(&mut self, other: &Self) {
        self.requests += other.requests;
        for (total, count) in self.per_target.iter_mut().zip(&other.per_target) {
            *total += count;
        }
        self.flows += other.flows;
        self.lost += other.lost;
        self.resurrected += other.resurrected;
        self.wrongly_expired += other.wrongly_expired;
        self.wrong_user += other.wrong_user;
        self.unnamed += other.unnamed;
        self.unavailable += other.unavailable;
        self.lost_in_outage += other.lost_in_outage;
        self.interrupted += other.interrupted;
        self.refused += other.refused;
        self.unexpected += other.unexpected;
        if self.first_wrong.is_none() {
            self.first_wrong.clone_from(&other.first_wrong);
        }
    }

    fn thread_panicked(&mut self) {
        self.unexpected += 1;
    }
}

impl SpreadReport {
    /// Whether no answer was wrong: nothing lost, resurrected, wrongly expired, mixed up,
    /// shown by number or unexpected. (Refused connections, interrupted requests, 503s and
    /// outage losses are what faults rightly cause.)
    pub fn is_correct(&self) -> bool {
        self.lost
            + self.resurrected
            + self.wrongly_expired
            + self.wrong_user
            + self.unnamed
            + self.unexpected
            == 0
    }
}

/// Runs `config.threads` client threads of flows spread over `targets`. `epoch` is bumped by
/// the caller when an outage that may lose data begins; `progress` counts answered requests as
/// they come (for a caller that injects faults mid-run). An outage may lose any session: see
/// [`run_judged`] for one that may lose only some.
pub fn run(
    targets: &[SocketAddr],
    config: &LoadConfig,
    epoch: &AtomicU64,
    progress: &AtomicU64,
) -> Result<SpreadReport, LoadError> {
    run_judged(targets, config, epoch, progress, &|_| true)
}

/// [`run`], where an outage may lose only the sessions for which `may_lose(session id)`
/// holds: a session that vanishes after an outage began counts as `lost_in_outage` only if
/// `may_lose` says so, and as a wrong answer otherwise. For a cluster master restarted empty,
/// `may_lose` is "the session's key lives in that master's slots".
pub fn run_judged(
    targets: &[SocketAddr],
    config: &LoadConfig,
    epoch: &AtomicU64,
    progress: &AtomicU64,
    may_lose: &(dyn Fn(&str) -> bool + Sync),
) -> Result<SpreadReport, LoadError> {
    if let Some(addr) = targets.iter().find(|addr| !addr.ip().is_loopback()) {
        return Err(LoadError::NotLoopback(*addr));
    }
    if targets.is_empty() {
        return Err(LoadError::Connect(io::Error::other("no target")));
    }
    // One connection to each target up front, so that a wrong address is an error and not a
    // report full of refused connections.
    for addr in targets {
        drop(Client::connect(*addr, config.io_timeout).map_err(|error| {
            LoadError::Connect(io::Error::new(error.kind(), format!("{addr}: {error}")))
        })?);
    }
    let started = Instant::now();
    let budget = AtomicU64::new(0);
    let deadline = started + config.max_time;
    let empty = || SpreadReport { per_target: vec![0; targets.len()], ..SpreadReport::default() };
    let mut report = on_threads(config.threads, empty(), |thread| {
        let mut worker = Worker {
            targets,
            clients: targets.iter().map(|_| None).collect(),
            dead_until: vec![None; targets.len()],
            config,
            thread,
            budget: &budget,
            epoch,
            may_lose,
            progress,
            deadline,
            next: thread,
            report: empty(),
        };
        worker.flows();
        worker.report
    });
    report.elapsed = started.elapsed();
    Ok(report)
}

/// The report as `load --target A --target B ...` prints it: answers per server, then the
/// judgement, then what the faults caused.
impl fmt::Display for SpreadReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "{} requests in {:.1} s ({:.0} req/s), answers per server {:?}, {} complete flows",
            self.requests,
            self.elapsed.as_secs_f64(),
            self.requests as f64 / self.elapsed.as_secs_f64().max(1e-9),
            self.per_target,
            self.flows
        )?;
        writeln!(
            f,
            "lost {}, resurrected {}, wrongly expired {}, wrong user {}, shown by number {}, \
             unexpected {}",
            self.lost,
            self.resurrected,
            self.wrongly_expired,
            self.wrong_user,
            self.unnamed,
            self.unexpected
        )?;
        writeln!(
            f,
            "faults: {} refused connections (moved to the next server), {} interrupted \
             requests, {} answers 503, {} sessions lost in an outage",
            self.refused, self.interrupted, self.unavailable, self.lost_in_outage
        )?;
        if let Some(wrong) = &self.first_wrong {
            writeln!(f, "first wrong answer: {wrong}")?;
        }
        Ok(())
    }
}

struct Worker<'a> {
    targets: &'a [SocketAddr],
    /// One keep-alive connection per target.
    clients: Vec<Option<Client<TcpStream>>>,
    dead_until: Vec<Option<Instant>>,
    config: &'a LoadConfig,
    thread: usize,
    budget: &'a AtomicU64,
    epoch: &'a AtomicU64,
    may_lose: &'a (dyn Fn(&str) -> bool + Sync),
    progress: &'a AtomicU64,
    deadline: Instant,
    /// The target the next request goes to.
    next: usize,
    report: SpreadReport,
}

/// How one request went.
enum Sent {
    /// An answer: status and body.
    Answer(crate::client::Response),
    /// Cut off after it may have been sent, or every server refused: the flow ends unjudged.
    Gone,
}

impl Worker<'_> {
    fn flows(&mut self) {
        let mut flow = 0u64;
        while Instant::now() < self.deadline {
            let abandons =
                self.config.abandon_every > 0 && flow.is_multiple_of(self.config.abandon_every);
            let cost = self.config.touches as u64 + if abandons { 1 } else { 3 };
            if self.budget.fetch_add(cost, Ordering::Relaxed) >= self.config.requests {
                break;
            }
            self.flow(flow, abandons);
            flow += 1;
        }
    }

    /// Sends one request to the next live target, moving on from any that refuses to connect.
    fn send(&mut self, path: &str, session: Option<&str>, body: Option<&[u8]>) -> Sent {
        for _ in 0..self.targets.len() * 2 {
            let target = self.next % self.targets.len();
            self.next += 1;
            if self.dead_until[target].is_some_and(|until| Instant::now() < until) {
                continue;
            }
            let client = match self.clients[target].take() {
                Some(client) => client,
                None => match Client::connect(self.targets[target], self.config.io_timeout) {
                    Ok(client) => client,
                    Err(_) => {
                        // Never sent: safe to send to the next server instead.
                        self.report.refused += 1;
                        self.dead_until[target] = Some(Instant::now() + DEAD_FOR);
                        continue;
                    }
                },
            };
            let mut client = client;
            let answer = match body {
                Some(body) => client.post(path, session, body),
                None => client.get(path, session),
            };
            return match answer {
                Ok(answer) => {
                    self.clients[target] = Some(client);
                    self.report.requests += 1;
                    self.report.per_target[target] += 1;
                    self.progress.fetch_add(1, Ordering::Relaxed);
                    Sent::Answer(answer)
                }
                Err(_) => {
                    // A kept-alive connection to a server that died: it may have been sent.
                    self.report.interrupted += 1;
                    Sent::Gone
                }
            };
        }
        std::thread::sleep(Duration::from_millis(50)); // every server refused: wait a little
        Sent::Gone
    }

    fn flow(&mut self, flow: u64, abandons: bool) {
        let name = format!("spread{}-{}", self.thread, flow % 256);
        let expected = answers::me_body(&name);
        let epoch = self.epoch.load(Ordering::SeqCst);
        let Sent::Answer(login) =
            self.send("/login", None, Some(format!("user={name}").as_bytes()))
        else {
            return;
        };
        if login.status == answers::UNAVAILABLE {
            self.report.unavailable += 1;
            return;
        }
        let Some(id) = answers::issued_session(&login).map(str::to_owned) else {
            self.unexpected("login", &login);
            return;
        };
        let mut last_ok = Instant::now();
        for touch in 0..=self.config.touches {
            let sent = Instant::now();
            let logout = touch == self.config.touches;
            if logout && abandons {
                self.report.flows += 1;
                return;
            }
            let answer = if logout {
                self.send("/logout", Some(&id), Some(b""))
            } else {
                self.send("/me", Some(&id), None)
            };
            let Sent::Answer(answer) = answer else { return };
            match answer.status {
                answers::AFTER_POST if logout => last_ok = sent,
                answers::ME_OK if !logout && answer.body == expected.as_bytes() => last_ok = sent,
                answers::ME_OK if !logout => {
                    if is_unnamed(&answer.body) {
                        self.report.unnamed += 1;
                    } else {
                        self.report.wrong_user += 1;
                    }
                    let came = String::from_utf8_lossy(&answer.body).into_owned();
                    self.report.first_wrong.get_or_insert_with(|| {
                        format!("me #{touch}: expected {expected:?}, got 200 {came:?}")
                    });
                    return;
                }
                answers::UNAVAILABLE => {
                    self.report.unavailable += 1;
                    return;
                }
                answers::NOT_LOGGED_IN => {
                    self.vanished(&id, touch == 0, last_ok, epoch);
                    return;
                }
                _ => {
                    self.unexpected(if logout { "logout" } else { "me" }, &answer);
                    return;
                }
            }
        }
        let Sent::Answer(after) = self.send("/me", Some(&id), None) else { return };
        match after.status {
            answers::NOT_LOGGED_IN => self.report.flows += 1,
            answers::ME_OK => self.report.resurrected += 1,
            answers::UNAVAILABLE => self.report.unavailable += 1,
            _ => self.unexpected("me after logout", &after),
        }
    }

    /// An answer no step expects: counted, and the first one kept for the report.
    fn unexpected(&mut self, what: &str, answer: &crate::client::Response) {
        self.report.unexpected += 1;
        let (status, came) = (answer.status, answer.text());
        self.report
            .first_wrong
            .get_or_insert_with(|| format!("{what}: unexpected answer {status} {came:?}"));
    }

    /// A session answered 401 where it should have been alive.
    fn vanished(&mut self, id: &str, first_use: bool, last_ok: Instant, epoch: u64) {
        if self.epoch.load(Ordering::SeqCst) != epoch && (self.may_lose)(id) {
            self.report.lost_in_outage += 1;
        } else if last_ok.elapsed() >= self.config.ttl {
            // idle for a full ttl (a stalled machine): a rightful expiry
        } else if first_use {
            self.report.lost += 1;
        } else {
            self.report.wrongly_expired += 1;
        }
    }
}

/// Whether `body` is `you are user-<digits>`: a user shown by its `UserId` (no flow's name
/// has that form).
fn is_unnamed(body: &[u8]) -> bool {
    body.strip_prefix(b"you are user-")
        .and_then(|rest| rest.strip_suffix(b"\n"))
        .is_some_and(|id| !id.is_empty() && id.iter().all(u8::is_ascii_digit))
}

#[cfg(test)]
mod tests {
    use super::is_unnamed;

    #[test]
    fn a_user_shown_by_number_is_unnamed() {
        assert!(is_unnamed(b"you are user-37\n"));
        assert!(!is_unnamed(b"you are 37\n"));
        assert!(!is_unnamed(b"you are spread0-3\n"));
        assert!(!is_unnamed(b"you are \n"));
    }
}
