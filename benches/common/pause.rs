//! The sweep pause: how long a request waits while the sweeper walks a big map.
//!
//! A map holds `size` sessions, half of them idle (expired) and half live. One thread sweeps
//! (removing the idle half) while another touches random live sessions back to back and
//! records each touch's latency in an HDR histogram, from the moment the sweep starts until it
//! ends. Criterion reports means; a pause is a tail, hence the histogram.
//!
//! Each sample is one request's own wait (closed loop, one requester): a touch stuck behind a
//! lock counts once, however long it waits. So read `max` as "the longest a request waited"
//! and `touches` as "how many requests one handler thread got served during the sweep".

use super::Contender;
use sessionlab::mixes::{START, Workload, idle_id, prefill_id};
use sessionlab::sync::{AtomicBool, Ordering, thread};
use sessionlab::{Config, SessionId, SessionStore, UserId};
use std::time::Instant;

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
    /// Touches completed while it ran.
    pub touches: u64,
    /// Touch latency percentiles during the sweep, ns.
    pub p50_ns: u64,
    /// 99th percentile.
    pub p99_ns: u64,
    /// The longest touch.
    pub max_ns: u64,
}

/// Fills a fresh `contender` with `size` sessions (half idle), sweeps it while touching it, and
/// reports the touches' latencies.
pub fn sweep_pause(contender: Contender, size: usize) -> Pause {
    let ttl = Workload::new(sessionlab::mixes::Mix::SESSION).ttl();
    let store = contender.build(&Config::new(ttl).with_capacity(size));
    let live: Vec<SessionId> = (0..(size / 2) as u64).map(prefill_id).collect();
    for (i, id) in live.iter().enumerate() {
        // Interleave live and idle so both are spread over every shard and bucket.
        let _ = store.insert(*id, UserId(1), START);
        let _ = store.insert(idle_id(i as u64), UserId(1), 0);
    }
    measure(contender.name(), &*store, &live)
}

fn measure(name: &'static str, store: &dyn SessionStore, live: &[SessionId]) -> Pause {
    let size = store.len();
    let running = &AtomicBool::new(false);
    let started = &AtomicBool::new(false);
    let finished = &AtomicBool::new(false);
    let (sweep, removed, histogram) = thread::scope(|scope| {
        let toucher = scope.spawn(move || {
            let mut histogram =
                hdrhistogram::Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)
                    .expect("valid histogram bounds");
            let mut rng = fastrand::Rng::with_seed(7);
            let mut now = START;
            for warm_up in 0u32.. {
                if warm_up == 10_000 {
                    // Now the toucher is surely on a core and warm: let the sweep begin.
                    running.store(true, Ordering::Release);
                }
                // Only touches that begin after the sweep began count; the one in flight when
                // it ends still counts, since it waited on the sweep.
                let during = started.load(Ordering::Acquire);
                let id = live[rng.usize(..live.len())];
                now += 1;
                let begin = Instant::now();
                std::hint::black_box(store.touch(&id, now));
                let took = begin.elapsed().as_nanos() as u64;
                if during {
                    histogram.saturating_record(took.max(1));
                }
                if finished.load(Ordering::Acquire) {
                    break;
                }
            }
            histogram
        });
        while !running.load(Ordering::Acquire) {
            thread::yield_now();
        }
        started.store(true, Ordering::Release);
        let begin = Instant::now();
        let removed = store.sweep(START);
        let sweep = begin.elapsed();
        finished.store(true, Ordering::Release);
        (sweep, removed, toucher.join().expect("the toucher panicked"))
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
