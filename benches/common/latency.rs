//! Single-thread latency loops, shared by the criterion groups and the quick summary, so the
//! floor and every map run the very same loop.

use sessionlab::benchmark::{BenchSpec, Floor, START, fresh_id, prefill_id};
use sessionlab::{Config, SessionId, SessionStore, Tick, UserId};
use std::hint::black_box;
use std::time::{Duration, Instant};

/// Inserts and removes are timed in chunks of this many, and undone (or redone) untimed after
/// each chunk, so the map stays within a chunk of its prefilled size however long criterion
/// runs.
const CHUNK: u64 = 256;

/// The calls the latency loops make, with `&mut self` so the single-threaded floor fits.
pub trait Target {
    /// See [`SessionStore::touch`].
    fn touch(&mut self, id: &SessionId, now: Tick) -> bool;
    /// See [`SessionStore::insert`].
    fn insert(&mut self, id: SessionId, now: Tick) -> bool;
    /// See [`SessionStore::remove`].
    fn remove(&mut self, id: &SessionId) -> bool;
}

impl Target for Floor {
    fn touch(&mut self, id: &SessionId, now: Tick) -> bool {
        Floor::touch(self, id, now)
    }
    fn insert(&mut self, id: SessionId, now: Tick) -> bool {
        Floor::insert(self, id, UserId(1), now)
    }
    fn remove(&mut self, id: &SessionId) -> bool {
        Floor::remove(self, id)
    }
}

/// The floor is measured as `Box<dyn Target>`, so it pays the same one virtual call per
/// operation as the stores and anchors (all `Box<dyn SessionStore>`): the ratios then compare
/// coordination, not inlining.
impl<T: Target + ?Sized> Target for Box<T> {
    fn touch(&mut self, id: &SessionId, now: Tick) -> bool {
        (**self).touch(id, now)
    }
    fn insert(&mut self, id: SessionId, now: Tick) -> bool {
        (**self).insert(id, now)
    }
    fn remove(&mut self, id: &SessionId) -> bool {
        (**self).remove(id)
    }
}

/// The floor, behind the same one virtual call as every other map.
pub fn floor(size: usize) -> Bench<Box<dyn Target>> {
    let floor: Box<dyn Target> = Box::new(Floor::new(config(size).ttl, size));
    Bench::new(floor, size)
}

impl Target for &dyn SessionStore {
    fn touch(&mut self, id: &SessionId, now: Tick) -> bool {
        SessionStore::touch(*self, id, now).is_some()
    }
    fn insert(&mut self, id: SessionId, now: Tick) -> bool {
        SessionStore::insert(*self, id, UserId(1), now).is_ok()
    }
    fn remove(&mut self, id: &SessionId) -> bool {
        SessionStore::remove(*self, id).is_some()
    }
}

/// A map filled with `size` sessions, and the state the loops carry between calls.
pub struct Bench<T> {
    /// The map.
    pub target: T,
    /// The prefilled ids in a seeded random order, so touches do not walk memory in order.
    order: Vec<SessionId>,
    next: usize,
    fresh: u64,
    now: Tick,
}

/// The config every latency map is built with.
pub fn config(size: usize) -> Config {
    Config::new(BenchSpec::new(sessionlab::benchmark::Mix::READ_HEAVY).ttl()).with_capacity(size)
}

impl<T: Target> Bench<T> {
    /// Fills `target` with `size` sessions.
    pub fn new(mut target: T, size: usize) -> Self {
        let mut order: Vec<SessionId> = (0..size as u64).map(prefill_id).collect();
        for id in &order {
            target.insert(*id, START);
        }
        fastrand::Rng::with_seed(42).shuffle(&mut order);
        Self { target, order, next: 0, fresh: 0, now: START }
    }

    fn next_id(&mut self) -> SessionId {
        self.next = if self.next + 1 >= self.order.len() { 0 } else { self.next + 1 };
        self.order[self.next]
    }

    /// Times `iters` touches of prefilled sessions, each at a later tick, so each one writes.
    pub fn touch(&mut self, iters: u64) -> Duration {
        let start = Instant::now();
        for _ in 0..iters {
            let id = self.next_id();
            self.now += 1;
            black_box(self.target.touch(&id, self.now));
        }
        start.elapsed()
    }

    /// Times `iters` inserts of fresh ids.
    pub fn insert(&mut self, iters: u64) -> Duration {
        self.insert_then_remove(iters, true)
    }

    /// Times `iters` removes of present sessions.
    pub fn remove(&mut self, iters: u64) -> Duration {
        self.insert_then_remove(iters, false)
    }

    /// Inserts and then removes `iters` fresh ids, a chunk at a time (so the map stays at its
    /// prefilled size), and returns the time of the inserts (`time_inserts`) or of the removes.
    fn insert_then_remove(&mut self, iters: u64, time_inserts: bool) -> Duration {
        let mut timed = Duration::ZERO;
        let mut left = iters;
        while left > 0 {
            let chunk = left.min(CHUNK);
            let ids = self.fresh..self.fresh + chunk;
            self.fresh += chunk;
            let start = Instant::now();
            for n in ids.clone() {
                black_box(self.target.insert(fresh_id(0, n), self.now));
            }
            let inserts = start.elapsed();
            let start = Instant::now();
            for n in ids {
                black_box(self.target.remove(&fresh_id(0, n)));
            }
            timed += if time_inserts { inserts } else { start.elapsed() };
            left -= chunk;
        }
        timed
    }
}
