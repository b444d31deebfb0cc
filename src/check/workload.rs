//! The session workload: what the lesson's web server does to its map, on real threads, with
//! every answer checked.
//!
//! Several *handler* threads each play many users: log in (insert), make requests (touch),
//! log out (remove), walk away (stop touching, so the session should expire), and come back
//! with an old cookie (touch a logged-out or expired id). A background [`Sweeper`] removes idle
//! sessions all the while. Every handler knows which sessions it holds and when it last touched
//! them, so it can tell when the store gets something wrong:
//!
//! * **wrongly swept**: a session that is live (its last touch plus ttl is still in the future
//!   on the clock, read *after* the failed call) vanished, and a sweep ran in between. The clock
//!   is read after the failure, and the sweeper reads it before it sweeps, so a store that
//!   follows the spec can never trip this check, however the threads are scheduled.
//! * **lost**: a live session vanished and no sweep ran in between (nothing was allowed to
//!   remove it), or the final count disagrees with what was inserted minus what was removed.
//! * **resurrected**: a logged-out session, or one whose ttl had passed, answered a touch.
//!
//! The handlers' sessions are their own: no other thread removes them, which is what makes
//! these checks exact rather than statistical.
//!
//! **What it cannot see.** A race is found only if the run lands in its window, and this
//! workload's windows are those of a real server: two handlers never touch the same session,
//! and a held session is touched about every millisecond, far from its expiry. It catches
//! concurrent logins that lose each other (the `load-store-cow` mutant, every run), but on a
//! quiet machine it missed the `unchecked-sweep` mutant in ten of ten runs: a touch stamped
//! just before the tick the sweep reads would have to land in the sweep's few-microsecond
//! gap. The [`conformance`](crate::check::conformance) checks widen each window on purpose,
//! and loom explores every interleaving (`loom-tests/README.md`).

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore, forward_to_store};
use crate::sweeper::Sweeper;
use crate::sync::{Arc, AtomicU64, Ordering};
use crate::time::{Clock, Tick};
use serde::{Deserialize, Serialize};
use std::time::{Duration, Instant};

/// What to run. Serializable, so a parent process can hand it to a child as JSON (the demo's
/// racy run) rather than as flags to parse again.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WorkloadSpec {
    /// Handler threads.
    pub threads: usize,
    /// How long to run (the run also stops at `max_ops`).
    pub duration: Duration,
    /// Stop after about this many operations in total.
    pub max_ops: Option<u64>,
    /// Sessions the handlers keep logged in at once, in total.
    pub sessions: usize,
    /// Time-to-live in ms.
    pub ttl: u64,
    /// Seed for the handlers' choices (each thread derives its own).
    pub seed: u64,
}

impl Default for WorkloadSpec {
    fn default() -> Self {
        Self {
            threads: 4,
            duration: Duration::from_millis(1500),
            max_ops: None,
            sessions: 10_000,
            ttl: 200,
            seed: 1,
        }
    }
}

impl WorkloadSpec {
    /// The store config this workload expects: its ttl and no capacity hint, so every store
    /// starts empty and grows as the workload logs in, as a server's stores do (the lock-free
    /// store doubles its bucket directory on its own; the `HashMap` stores rehash).
    pub fn config(&self) -> Config {
        Config::new(self.ttl)
    }

    /// How often the background sweeper runs: four times per ttl.
    pub fn sweep_interval(&self) -> Duration {
        Duration::from_millis((self.ttl / 4).max(1))
    }
}

/// What a run did, and what went wrong.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct WorkloadReport {
    /// Operations the handlers completed.
    pub ops: u64,
    /// Wall time of the run, in seconds.
    pub seconds: f64,
    /// Logins (successful inserts).
    pub logins: u64,
    /// Touches of held sessions.
    pub touches: u64,
    /// Logouts.
    pub logouts: u64,
    /// Touches of logged-out or expired ids.
    pub probes: u64,
    /// Sweeps the background sweeper ran.
    pub sweeps: u64,
    /// Sessions they removed.
    pub swept: u64,
    /// Live sessions that vanished with no sweep to blame, plus any shortfall in the final
    /// count.
    pub lost: u64,
    /// Logged-out or expired sessions that answered a touch.
    pub resurrected: u64,
    /// Live sessions that vanished while sweeps ran.
    pub wrongly_swept: u64,
    /// Sessions in the store at the end.
    pub final_len: u64,
    /// Sessions that should be in the store at the end: logins - logouts - swept.
    pub expected_len: i64,
}

impl WorkloadReport {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        if self.seconds > 0.0 { self.ops as f64 / self.seconds } else { 0.0 }
    }

    /// Every violation counted.
    pub fn violations(&self) -> u64 {
        self.lost + self.resurrected + self.wrongly_swept
    }
}

/// Live counters a front end can poll for a progress bar.
#[derive(Debug, Default)]
pub struct Progress {
    ops: AtomicU64,
}

impl Progress {
    /// Operations completed so far.
    pub fn ops(&self) -> u64 {
        self.ops.load(Ordering::Relaxed)
    }
}

/// A store wrapper that counts sweeps as they *start*, so a handler can tell whether any
/// sweep overlapped the window in which its session vanished.
struct SweepWatch<S: ?Sized> {
    started: AtomicU64,
    store: Arc<S>,
}

impl<S: SessionStore + ?Sized> SessionStore for SweepWatch<S> {
    forward_to_store!(insert, touch, remove, len);

    fn sweep(&self, now: Tick) -> usize {
        self.started.fetch_add(1, Ordering::SeqCst);
        self.store.sweep(now)
    }
}

/// Runs the workload on `store` (which should be empty and built from
/// [`WorkloadSpec::config`]) and reports what happened. `progress` counts operations as they
/// complete.
pub fn run<S>(store: Arc<S>, spec: &WorkloadSpec, progress: &Progress) -> WorkloadReport
where
    S: SessionStore + ?Sized + 'static,
{
    let watched = Arc::new(SweepWatch { started: AtomicU64::new(0), store });
    let clock = Clock::start();
    let started = Instant::now();
    let sweeper = Sweeper::spawn(Arc::clone(&watched), clock, spec.sweep_interval());
    let threads = spec.threads.max(1);
    let per_thread_ops = spec.max_ops.map(|ops| ops.div_ceil(threads as u64));
    let per_thread_sessions = (spec.sessions / threads).max(1);
    let deadline = started + spec.duration;
    let tallies: Vec<Tally> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|index| {
                let handler = Handler {
                    store: &*watched,
                    sweeps: &watched.started,
                    clock,
                    ttl: spec.ttl,
                    user: UserId(index as u64),
                    target: per_thread_sessions,
                    rng: fastrand::Rng::with_seed(
                        spec.seed.wrapping_mul(0x9e37_79b9).wrapping_add(index as u64),
                    ),
                    progress,
                };
                scope.spawn(move || handler.run(deadline, per_thread_ops))
            })
            .collect();
        handles.into_iter().map(|h| h.join().expect("a handler thread panicked")).collect()
    });
    let seconds = started.elapsed().as_secs_f64();
    let sweep_stats = sweeper.stop();

    let mut report = WorkloadReport {
        seconds,
        sweeps: sweep_stats.sweeps,
        swept: sweep_stats.removed,
        ..WorkloadReport::default()
    };
    for tally in &tallies {
        report.ops += tally.ops;
        report.logins += tally.logins;
        report.touches += tally.touches;
        report.logouts += tally.logouts;
        report.probes += tally.probes;
        report.lost += tally.lost;
        report.resurrected += tally.resurrected;
        report.wrongly_swept += tally.wrongly_swept;
    }
    // Quiescent now: len is exact, and every session is either stored, logged out or swept.
    report.final_len = watched.len() as u64;
    report.expected_len = report.logins as i64 - report.logouts as i64 - report.swept as i64;
    // The handlers noticed some vanished sessions already; a further shortfall means sessions
    // vanished that no handler happened to look for.
    let vanished_seen = (report.lost + report.wrongly_swept) as i64;
    let shortfall = report.expected_len - vanished_seen - report.final_len as i64;
    if shortfall > 0 {
        report.lost += shortfall as u64;
    }
    report
}

#[derive(Debug, Default)]
struct Tally {
    ops: u64,
    logins: u64,
    touches: u64,
    logouts: u64,
    probes: u64,
    lost: u64,
    resurrected: u64,
    wrongly_swept: u64,
}

struct Held {
    id: SessionId,
    last_touch: Tick,
    /// Sweeps started before the last successful touch.
    sweeps_then: u64,
}

struct Handler<'a, S: ?Sized> {
    store: &'a S,
    sweeps: &'a AtomicU64,
    clock: Clock,
    ttl: u64,
    user: UserId,
    target: usize,
    rng: fastrand::Rng,
    progress: &'a Progress,
}

/// How many old cookies a handler remembers.
const MAX_STALE: usize = 4096;

/// Old cookies a handler may come back with.
enum Stale {
    LoggedOut(SessionId),
    Abandoned { id: SessionId, last_touch: Tick },
}

impl<S: SessionStore + ?Sized> Handler<'_, S> {
    fn run(mut self, deadline: Instant, max_ops: Option<u64>) -> Tally {
        let mut tally = Tally::default();
        let mut held: Vec<Held> = Vec::with_capacity(self.target);
        let mut stale: Vec<Stale> = Vec::new();
        loop {
            if tally.ops % 256 == 0 {
                self.progress
                    .ops
                    .fetch_add(if tally.ops == 0 { 0 } else { 256 }, Ordering::Relaxed);
                if Instant::now() >= deadline || max_ops.is_some_and(|max| tally.ops >= max) {
                    break;
                }
            }
            tally.ops += 1;
            let roll = self.rng.u32(0..100);
            if held.len() < self.target && (held.len() < self.target / 2 || roll < 5) {
                self.login(&mut held, &mut tally);
            } else if roll < 3 && !held.is_empty() {
                let session = held.swap_remove(self.rng.usize(0..held.len()));
                self.logout(session, &mut stale, &mut tally);
            } else if roll < 4 && !held.is_empty() {
                let session = held.swap_remove(self.rng.usize(0..held.len()));
                if stale.len() >= MAX_STALE {
                    continue;
                }
                stale.push(Stale::Abandoned { id: session.id, last_touch: session.last_touch });
            } else if roll < 6 && !stale.is_empty() {
                let old = stale.swap_remove(self.rng.usize(0..stale.len()));
                self.probe(old, &mut stale, &mut tally);
            } else if !held.is_empty() {
                let index = self.rng.usize(0..held.len());
                self.touch(&mut held, index, &mut tally);
            }
        }
        tally
    }

    fn login(&mut self, held: &mut Vec<Held>, tally: &mut Tally) {
        let now = self.clock.now();
        let sweeps_then = self.sweeps.load(Ordering::SeqCst);
        let id = self.store.create(self.user, now);
        tally.logins += 1;
        held.push(Held { id, last_touch: now, sweeps_then });
    }

    fn touch(&mut self, held: &mut Vec<Held>, index: usize, tally: &mut Tally) {
        tally.touches += 1;
        let session = &mut held[index];
        let now = self.clock.now().max(session.last_touch);
        let sweeps_then = self.sweeps.load(Ordering::SeqCst);
        match self.store.touch(&session.id, now) {
            Some(user) if user == self.user => {
                session.last_touch = now;
                session.sweeps_then = sweeps_then;
            }
            // Another user's session under our id: a corrupted table.
            Some(_) => tally.resurrected += 1,
            None => {
                let session = held.swap_remove(index);
                self.vanished(&session, tally);
            }
        }
    }

    fn logout(&mut self, session: Held, stale: &mut Vec<Stale>, tally: &mut Tally) {
        tally.logouts += 1;
        match self.store.remove(&session.id) {
            Some(_) => {
                if stale.len() >= MAX_STALE {
                    let victim = self.rng.usize(0..stale.len());
                    stale.swap_remove(victim);
                }
                stale.push(Stale::LoggedOut(session.id));
            }
            None => {
                // Nothing was removed: don't count it as a logout in the accounting.
                tally.logouts -= 1;
                self.vanished(&session, tally);
            }
        }
    }

    /// A held session was not found. Legitimate only if it may have expired: the clock,
    /// read now, is at or past its last touch plus ttl.
    fn vanished(&self, session: &Held, tally: &mut Tally) {
        if self.clock.now() >= session.last_touch.saturating_add(self.ttl) {
            return;
        }
        if self.sweeps.load(Ordering::SeqCst) > session.sweeps_then {
            tally.wrongly_swept += 1;
        } else {
            tally.lost += 1;
        }
    }

    fn probe(&mut self, old: Stale, stale: &mut Vec<Stale>, tally: &mut Tally) {
        let now = self.clock.now();
        match old {
            Stale::LoggedOut(id) => {
                tally.probes += 1;
                if self.store.touch(&id, now).is_some() {
                    tally.resurrected += 1;
                }
            }
            Stale::Abandoned { id, last_touch } if now >= last_touch.saturating_add(self.ttl) => {
                tally.probes += 1;
                if self.store.touch(&id, now).is_some() {
                    tally.resurrected += 1;
                }
            }
            // Not expired yet: come back later.
            abandoned => stale.push(abandoned),
        }
    }
}
