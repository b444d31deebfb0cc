//! [`Driver`]: one thread's seeded stream of operations, and [`run_drivers`], which runs them
//! on scoped threads behind a start gate and times them.

use super::{BenchSpec, MapUnderTest, Mix, MixOp, START, fresh_id};
use crate::id::SessionId;
use crate::session::UserId;
use crate::sync::{AtomicBool, AtomicUsize, Ordering, thread};
use crate::time::Tick;
use std::time::{Duration, Instant};

/// One thread's seeded stream of operations over the sessions it owns.
#[derive(Debug, Clone)]
pub struct Driver {
    mix: Mix,
    rng: fastrand::Rng,
    thread: usize,
    owned: Vec<SessionId>,
    fresh: u64,
    now: Tick,
}

impl Driver {
    /// A driver for thread `thread` owning `owned` (sessions already in the map).
    pub fn new(mix: Mix, seed: u64, thread: usize, owned: Vec<SessionId>) -> Self {
        let stream = seed.wrapping_mul(0x9e37_79b9_7f4a_7c15).wrapping_add(thread as u64);
        Self { mix, rng: fastrand::Rng::with_seed(stream), thread, owned, fresh: 0, now: START }
    }

    /// Sessions this driver owns now.
    pub fn owned(&self) -> usize {
        self.owned.len()
    }

    /// Runs one operation on `map` and returns which it was and whether it hit (every
    /// operation should: see the module docs).
    pub fn step<M: MapUnderTest + ?Sized>(&mut self, map: &M) -> (MixOp, bool) {
        self.now += 1;
        let mut op = self.mix.pick(self.rng.u8(0..100));
        if self.owned.is_empty() {
            op = MixOp::Insert;
        }
        let hit = match op {
            MixOp::Touch => {
                let id = self.owned[self.rng.usize(..self.owned.len())];
                map.touch(&id, self.now)
            }
            MixOp::Insert => {
                let id = fresh_id(self.thread, self.fresh);
                self.fresh += 1;
                self.owned.push(id);
                map.insert(id, UserId(self.thread as u64), self.now)
            }
            MixOp::Remove => {
                let id = self.owned.swap_remove(self.rng.usize(..self.owned.len()));
                map.remove(&id)
            }
        };
        (op, hit)
    }

    /// Runs `ops` operations and returns how many missed.
    pub fn run<M: MapUnderTest + ?Sized>(&mut self, map: &M, ops: u64) -> u64 {
        let mut misses = 0;
        for _ in 0..ops {
            misses += u64::from(!self.step(map).1);
        }
        misses
    }
}

/// What [`run_drivers`] measured.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RunStats {
    /// From the start gate opening to the last handler finishing.
    pub elapsed: Duration,
    /// Operations run, all threads together.
    pub ops: u64,
    /// Operations that missed (should be 0 for a correct map).
    pub misses: u64,
    /// Sweeps the sweeper finished while the handlers ran (session mix only).
    pub sweeps: u64,
}

impl RunStats {
    /// Operations per second.
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// Runs every driver on its own scoped thread for `ops_per_thread` operations, all released at
/// once by a start gate (a barrier), plus the sweeper if the mix has one, and times from the
/// gate opening to the last handler finishing. Thread start-up is outside the timing.
pub fn run_drivers<M: MapUnderTest + ?Sized>(
    map: &M,
    workload: &BenchSpec,
    drivers: &mut [Driver],
    ops_per_thread: u64,
) -> RunStats {
    let (ready, go, done) =
        (&AtomicUsize::new(0), &AtomicBool::new(false), &AtomicBool::new(false));
    let wait_for_gate = || {
        ready.fetch_add(1, Ordering::AcqRel);
        while !go.load(Ordering::Acquire) {
            // Yield rather than spin: there may be more threads than cores.
            thread::yield_now();
        }
    };
    let threads = drivers.len() as u64;
    thread::scope(|scope| {
        let sweeper = workload.mix.sweeper.then(|| {
            scope.spawn(move || {
                wait_for_gate();
                let mut sweeps = 0;
                while !done.load(Ordering::Acquire) {
                    map.sweep(START);
                    sweeps += 1;
                    thread::sleep(workload.sweep_every);
                }
                sweeps
            })
        });
        let handlers: Vec<_> = drivers
            .iter_mut()
            .map(|driver| {
                scope.spawn(move || {
                    wait_for_gate();
                    driver.run(map, ops_per_thread)
                })
            })
            .collect();
        let waiting = handlers.len() + usize::from(sweeper.is_some());
        while ready.load(Ordering::Acquire) < waiting {
            thread::yield_now();
        }
        let started = Instant::now();
        go.store(true, Ordering::Release);
        let misses = handlers.into_iter().map(|h| h.join().expect("a handler panicked")).sum();
        let elapsed = started.elapsed();
        done.store(true, Ordering::Release);
        let sweeps = sweeper.map_or(0, |s| s.join().expect("the sweeper panicked"));
        RunStats { elapsed, ops: ops_per_thread * threads, misses, sweeps }
    })
}
