//! The sweep pause: how long a request waits while the sweeper walks a big map.
//!
//! A map holds `size` sessions, half of them idle (expired) and half live. One thread sweeps
//! (removing the idle half) while requests touch random live sessions, and each request's
//! latency goes into an HDR histogram. Criterion reports means; a pause is a tail.
//!
//! **The model: a server with a pool of handler threads.** Requests arrive on a fixed
//! schedule, one every [`INTERVAL`], independently of each other (many users, each sending
//! rarely), and [`WORKERS`] handler threads take them in turn. A request's latency runs from
//! when it was *due* to when its touch returned, so a request that waited for a free handler
//! counts its wait too. Two simpler designs give wrong answers, and why is part of the lesson:
//!
//! * timing each call of one thread in a loop (closed loop) records a thread stuck 20 ms
//!   behind a lock as *one* slow sample, where a server would have had a thousand requests
//!   waiting: the percentiles hide the very pause we want to see (Gil Tene's "coordinated
//!   omission");
//! * one client sending on a schedule (open loop, one connection) fixes that, but queues every
//!   request behind the stalled one, so a sharded map, which blocks only the requests for the
//!   shard being swept, looks exactly as bad as one lock.
//!
//! Only requests due while the sweep runs are recorded.

use super::Contender;
use sessionlab::benchmark::{BenchSpec, START, idle_id, prefill_id};
use sessionlab::sync::{AtomicU64, Ordering, thread};
use sessionlab::{Config, SessionId, SessionStore, UserId};
use std::time::{Duration, Instant};

/// Time between request arrivals: 25k requests a second, which one core serves easily, so
/// without a sweep a request waits only for its own touch (and the OS's wake-up).
pub const INTERVAL: Duration = Duration::from_micros(40);

/// Handler threads. Enough that the requests for one locked shard (of 8, say, for a few ms)
/// do not take every handler, as they would not on a real server; a map that blocks everyone
/// exhausts any pool.
pub const WORKERS: usize = 64;

/// What one sweep-pause run measured.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Pause {
    /// The map.
    pub name: &'static str,
    /// Sessions in the map when the sweep started.
    pub size: usize,
    /// How long the sweep took.
    pub sweep_ns: u64,
    /// Sessions it removed.
    pub removed: usize,
    /// Requests that fell due while it ran.
    pub touches: u64,
    /// Touch latency percentiles during the sweep, ns.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// The longest touch.
    pub max_ns: u64,
}

/// The ttl a map given to [`sweep_pause_of`] must be built with.
pub fn ttl() -> u64 {
    BenchSpec::new(sessionlab::benchmark::Mix::SESSION).ttl()
}

/// Fills a fresh `contender` with `size` sessions (half idle), sweeps it while touching it, and
/// reports the touches' latencies: the best of `rounds` sweeps (the idle half is put back
/// between rounds), since on shared cores noise only ever adds latency. A copy-on-write map
/// gets one round: putting 500k sessions back one copy at a time would take minutes.
pub fn sweep_pause(contender: Contender, size: usize, rounds: usize) -> Pause {
    let store = contender.build(&Config::new(ttl()).with_capacity(size));
    let rounds = if contender.copies_on_write() { 1 } else { rounds };
    sweep_pause_of(contender.name(), &*store, size, rounds)
}

/// [`sweep_pause`] on a map built by the caller (empty, with the session mix's ttl): to try
/// a store with another configuration, e.g. more shards.
pub fn sweep_pause_of(
    name: &'static str,
    store: &dyn SessionStore,
    size: usize,
    rounds: usize,
) -> Pause {
    let live: Vec<SessionId> = (0..(size / 2) as u64).map(prefill_id).collect();
    let put_back_idle = |store: &dyn SessionStore| {
        for i in 0..live.len() as u64 {
            let _ = store.insert(idle_id(i), UserId(1), 0);
        }
    };
    for id in &live {
        let _ = store.insert(*id, UserId(1), START);
    }
    put_back_idle(store);
    let mut best: Option<Pause> = None;
    for round in 0..rounds.max(1) {
        if round > 0 {
            put_back_idle(store);
        }
        let pause = measure(name, store, &live);
        if best.as_ref().is_none_or(|b| pause.p99_ns < b.p99_ns) {
            best = Some(pause);
        }
    }
    best.expect("at least one round")
}

fn measure(name: &'static str, store: &dyn SessionStore, live: &[SessionId]) -> Pause {
    let size = store.len();
    let next = &AtomicU64::new(0);
    let started_ns = &AtomicU64::new(u64::MAX);
    let ended_ns = &AtomicU64::new(u64::MAX);
    // Requests start arriving a little after the handlers are spawned, and the sweep starts
    // a little after that, once the handlers are all waiting.
    let base = Instant::now() + Duration::from_millis(20);
    let sweep_at = base + Duration::from_millis(20);
    let (sweep, removed, histogram) = thread::scope(|scope| {
        let handlers: Vec<_> = (0..WORKERS)
            .map(|worker| {
                scope.spawn(move || {
                    let mut histogram =
                        hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
                            .expect("valid histogram bounds");
                    let mut rng = fastrand::Rng::with_seed(worker as u64);
                    loop {
                        let n = next.fetch_add(1, Ordering::AcqRel);
                        let due = base + INTERVAL * n as u32;
                        let due_ns = (due - base).as_nanos() as u64;
                        if due_ns >= ended_ns.load(Ordering::Acquire) {
                            return histogram;
                        }
                        if let Some(wait) = due.checked_duration_since(Instant::now()) {
                            thread::sleep(wait);
                        }
                        let id = live[rng.usize(..live.len())];
                        std::hint::black_box(store.touch(&id, START + n));
                        let during =
                            started_ns.load(Ordering::Acquire)..ended_ns.load(Ordering::Acquire);
                        if during.contains(&due_ns) {
                            histogram.saturating_record(due.elapsed().as_nanos().max(1) as u64);
                        }
                    }
                })
            })
            .collect();
        if let Some(wait) = sweep_at.checked_duration_since(Instant::now()) {
            thread::sleep(wait);
        }
        let begin = Instant::now();
        started_ns.store((begin - base).as_nanos() as u64, Ordering::Release);
        let removed = store.sweep(START);
        let sweep = begin.elapsed();
        ended_ns.store((Instant::now() - base).as_nanos() as u64, Ordering::Release);
        let mut histogram = hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
            .expect("valid histogram bounds");
        for handler in handlers {
            // Both histograms have the same bounds, so adding cannot fail.
            let _ = histogram.add(handler.join().expect("a handler panicked"));
        }
        (sweep, removed, histogram)
    });
    Pause {
        name,
        size,
        sweep_ns: sweep.as_nanos() as u64,
        removed,
        touches: histogram.len(),
        p50_ns: histogram.value_at_quantile(0.50),
        p99_ns: histogram.value_at_quantile(0.99),
        max_ns: histogram.max(),
    }
}
