//! The benchmark workloads: conc-map-bench's operation mixes and the session mix, with seeded
//! key choice, and the adapter that lets one harness drive every store and every anchor map.
//!
//! The benches (`benches/`), the quick summary (`cargo bench --bench summary`) and notebooks
//! all drive maps through this module, so every number in `BENCHMARKS.md` comes from the same
//! operations in the same proportions on the same keys.
//!
//! ## The pieces
//!
//! * [`MapUnderTest`]: the five calls a workload makes. Every [`SessionStore`] implements it
//!   (blanket impl); an anchor map (dashmap, papaya, scc in the benches) implements it with the
//!   same session semantics and the same hasher, so a ratio compares coordination, not work.
//! * [`Mix`]: what fraction of operations are reads, inserts, removes and updates. The first
//!   three are [conc-map-bench](https://github.com/xacrimon/conc-map-bench)'s mixes; the fourth
//!   is this lab's session mix, which adds a live sweeper.
//! * [`Driver`]: one thread's seeded stream of operations over the sessions it owns.
//! * [`run_threads`]: runs drivers on scoped threads behind a start gate and times them.
//! * [`Floor`]: a plain single-threaded `HashMap` doing the same work with no coordination at
//!   all, the floor every ratio is taken against.
//!
//! ## Sessions and operations
//!
//! A session map has no separate "read" and "update": a request *touches* its session, which
//! reads the user and moves the activity word forward. Both the mixes' reads and their updates
//! are therefore [`MapUnderTest::touch`]; each driver's clock advances by one tick per
//! operation, so every touch really writes the word (a touch at an unchanged time would be a
//! pure read and flatter every store whose touch is a read of the map).
//!
//! Each thread owns its sessions: its share of the prefill plus the ones it inserts. Touches and
//! removes pick uniformly among them, inserts use fresh ids, so every touch and remove hits and
//! every insert succeeds, whatever the thread count. Threads still contend on everything they
//! share: locks, shards, buckets, cache lines and the allocator. (This is conc-map-bench's
//! design too: it measures the map, not key conflicts.)
//!
//! ## Time in the session mix
//!
//! The session mix prefills `prefill` live sessions plus `prefill / 2` idle ones that are
//! already expired, and runs a sweeper thread that calls [`MapUnderTest::sweep`] every
//! [`Workload::sweep_every`]. The first sweep removes the idle sessions; every later one walks
//! the whole map and finds nothing, which is what a periodic sweeper does most of the time, and
//! is exactly the cost the lesson is about: how long the walk keeps others waiting.

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::SessionStore;
use crate::sync::{AtomicBool, AtomicUsize, HashMap, Ordering, hash_map_with_capacity, thread};
use crate::time::Tick;
use std::time::{Duration, Instant};

/// The five calls a benchmark workload makes, with the session semantics of [`SessionStore`]
/// (DESIGN, "Semantics") but answers reduced to "did it hit".
///
/// Every [`SessionStore`] implements it. Anchor maps implement it on a newtype in the bench
/// files (the orphan rule keeps them there): store `(user, Activity)` values, build the map
/// with [`SessionHasher`](crate::sync::SessionHasher), and touch through
/// [`Activity::touch`](crate::activity::Activity::touch).
pub trait MapUnderTest: Send + Sync {
    /// Touches a live session at `now`; `false` if absent or expired.
    fn touch(&self, id: &SessionId, now: Tick) -> bool;
    /// Inserts a session; `false` if the id was taken.
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> bool;
    /// Removes a session; `false` if it was absent.
    fn remove(&self, id: &SessionId) -> bool;
    /// Removes every session expired at `now`; returns how many this call removed.
    fn sweep(&self, now: Tick) -> usize;
    /// Sessions stored.
    fn len(&self) -> usize;
    /// Whether [`len`](Self::len) is zero.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl<S: SessionStore + ?Sized> MapUnderTest for S {
    fn touch(&self, id: &SessionId, now: Tick) -> bool {
        SessionStore::touch(self, id, now).is_some()
    }
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> bool {
        SessionStore::insert(self, id, user, now).is_ok()
    }
    fn remove(&self, id: &SessionId) -> bool {
        SessionStore::remove(self, id).is_some()
    }
    fn sweep(&self, now: Tick) -> usize {
        SessionStore::sweep(self, now)
    }
    fn len(&self) -> usize {
        SessionStore::len(self)
    }
}

/// One operation of a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// A request: [`MapUnderTest::touch`] (a mix's reads and updates).
    Touch,
    /// A login: [`MapUnderTest::insert`] under a fresh id.
    Insert,
    /// A logout: [`MapUnderTest::remove`] of an owned session.
    Remove,
}

/// An operation mix, in percent. `read + insert + remove + update == 100`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Mix {
    /// Short name for reports: `read-heavy`, `exchange`, `rapid-grow`, `session`.
    pub name: &'static str,
    /// Reads, in percent (a touch).
    pub read: u8,
    /// Inserts, in percent.
    pub insert: u8,
    /// Removes, in percent.
    pub remove: u8,
    /// Updates, in percent (a touch too: see the module docs).
    pub update: u8,
    /// Whether a sweeper thread runs alongside the handler threads.
    pub sweeper: bool,
}

impl Mix {
    /// conc-map-bench's read-heavy mix: 98 reads, 1 insert, 1 remove.
    pub const READ_HEAVY: Mix =
        Mix { name: "read-heavy", read: 98, insert: 1, remove: 1, update: 0, sweeper: false };
    /// conc-map-bench's exchange mix: 10 reads, 40 inserts, 40 removes, 10 updates.
    pub const EXCHANGE: Mix =
        Mix { name: "exchange", read: 10, insert: 40, remove: 40, update: 10, sweeper: false };
    /// conc-map-bench's rapid-grow mix: 5 reads, 80 inserts, 5 removes, 10 updates.
    pub const RAPID_GROW: Mix =
        Mix { name: "rapid-grow", read: 5, insert: 80, remove: 5, update: 10, sweeper: false };
    /// The session mix: 94 touches, 3 logins, 3 logouts, and a live sweeper. Web traffic is
    /// mostly requests on existing sessions; logins and logouts are rarer.
    pub const SESSION: Mix =
        Mix { name: "session", read: 94, insert: 3, remove: 3, update: 0, sweeper: true };

    /// Every mix, in report order.
    pub const ALL: [Mix; 4] = [Self::READ_HEAVY, Self::EXCHANGE, Self::RAPID_GROW, Self::SESSION];

    /// The operation for a roll in `0..100`.
    pub fn pick(&self, roll: u8) -> Op {
        let insert = self.read + self.update;
        if roll < insert {
            Op::Touch
        } else if roll < insert + self.insert {
            Op::Insert
        } else {
            Op::Remove
        }
    }

    /// Looks a mix up by [`name`](Self::name).
    pub fn by_name(name: &str) -> Option<Mix> {
        Self::ALL.into_iter().find(|mix| mix.name.eq_ignore_ascii_case(name))
    }
}

/// The tick at which prefilled sessions are created and the sweeper sweeps.
pub const START: Tick = 1 << 40;

/// How to set up and run a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Workload {
    /// The operation mix.
    pub mix: Mix,
    /// Live sessions stored before the timed part starts, shared out among the threads.
    pub prefill: usize,
    /// Seed for every thread's choices (each derives its own stream).
    pub seed: u64,
    /// How long the session mix's sweeper rests between sweeps.
    pub sweep_every: Duration,
}

impl Workload {
    /// `mix` over 10,000 prefilled sessions, seed 1, a sweep every millisecond.
    pub fn new(mix: Mix) -> Self {
        Self { mix, prefill: 10_000, seed: 1, sweep_every: Duration::from_millis(1) }
    }

    /// Sets the prefill.
    pub fn with_prefill(mut self, prefill: usize) -> Self {
        self.prefill = prefill;
        self
    }

    /// The ttl the maps must be built with: long enough that no live session expires during a
    /// run, short enough that the session mix's idle sessions are expired at [`START`].
    pub fn ttl(&self) -> u64 {
        START / 2
    }

    /// The capacity hint to build maps with: the prefill plus the idle sessions.
    pub fn capacity(&self) -> usize {
        self.prefill + self.idle()
    }

    fn idle(&self) -> usize {
        if self.mix.sweeper { self.prefill / 2 } else { 0 }
    }

    /// Fills `map` (built empty, with [`ttl`](Self::ttl)) and returns one [`Driver`] per
    /// thread, each owning an equal share of the live sessions. Not timed by [`run_threads`].
    pub fn prepare<M: MapUnderTest + ?Sized>(&self, map: &M, threads: usize) -> Vec<Driver> {
        let threads = threads.max(1);
        let mut pools: Vec<Vec<SessionId>> =
            (0..threads).map(|_| Vec::with_capacity(self.prefill / threads + 1)).collect();
        for i in 0..self.prefill {
            let id = prefill_id(i as u64);
            map.insert(id, UserId(i as u64), START);
            pools[i % threads].push(id);
        }
        for i in 0..self.idle() {
            map.insert(idle_id(i as u64), UserId(i as u64), 0);
        }
        pools
            .into_iter()
            .enumerate()
            .map(|(thread, pool)| Driver::new(self.mix, self.seed, thread, pool))
            .collect()
    }
}

/// The id of prefilled session `i`. Ids are deterministic so runs repeat exactly; they are
/// still hashed with the keyed hasher, so they spread like random ids.
pub fn prefill_id(i: u64) -> SessionId {
    SessionId::fixed(i)
}

/// The id of idle (already expired) session `i` in the session mix.
pub fn idle_id(i: u64) -> SessionId {
    SessionId::fixed(1 << 62 | i)
}

/// The `n`-th fresh id of thread `thread`: distinct from every other thread's and from the
/// prefill.
pub fn fresh_id(thread: usize, n: u64) -> SessionId {
    SessionId::fixed((thread as u64 + 1) << 48 | (n & ((1 << 48) - 1)))
}

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
    pub fn step<M: MapUnderTest + ?Sized>(&mut self, map: &M) -> (Op, bool) {
        self.now += 1;
        let mut op = self.mix.pick(self.rng.u8(0..100));
        if self.owned.is_empty() {
            op = Op::Insert;
        }
        let hit = match op {
            Op::Touch => {
                let id = self.owned[self.rng.usize(..self.owned.len())];
                map.touch(&id, self.now)
            }
            Op::Insert => {
                let id = fresh_id(self.thread, self.fresh);
                self.fresh += 1;
                self.owned.push(id);
                map.insert(id, UserId(self.thread as u64), self.now)
            }
            Op::Remove => {
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

/// What [`run_threads`] measured.
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
pub fn run_threads<M: MapUnderTest + ?Sized>(
    map: &M,
    workload: &Workload,
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

/// The floor: a plain `HashMap` with the lab's hasher, owned by one thread, doing a store's
/// work (the same expiry check, the same never-backwards touch) with no coordination at all.
/// Every single-thread ratio in `BENCHMARKS.md` is a store's time over this one's.
#[derive(Debug)]
pub struct Floor {
    ttl: u64,
    map: HashMap<SessionId, (UserId, Tick)>,
}

impl Floor {
    /// An empty floor map with time-to-live `ttl`.
    pub fn new(ttl: u64, capacity: usize) -> Self {
        Self { ttl, map: hash_map_with_capacity(capacity) }
    }

    /// [`MapUnderTest::touch`] without a lock.
    pub fn touch(&mut self, id: &SessionId, now: Tick) -> bool {
        match self.map.get_mut(id) {
            Some((_, last)) if !is_expired(*last, self.ttl, now) => {
                *last = (*last).max(now);
                true
            }
            _ => false,
        }
    }

    /// [`MapUnderTest::insert`] without a lock.
    pub fn insert(&mut self, id: SessionId, user: UserId, now: Tick) -> bool {
        match self.map.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((user, now));
                true
            }
        }
    }

    /// [`MapUnderTest::remove`] without a lock.
    pub fn remove(&mut self, id: &SessionId) -> bool {
        self.map.remove(id).is_some()
    }

    /// [`MapUnderTest::sweep`] without a lock.
    pub fn sweep(&mut self, now: Tick) -> usize {
        let before = self.map.len();
        self.map.retain(|_, (_, last)| !is_expired(*last, self.ttl, now));
        before - self.map.len()
    }

    /// Sessions stored.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::store::Config;
    use crate::stores::StoreKind;

    #[test]
    fn mixes_add_up_to_one_hundred() {
        for mix in Mix::ALL {
            assert_eq!(mix.read + mix.insert + mix.remove + mix.update, 100, "{}", mix.name);
            let mut counts = [0u32; 3];
            for roll in 0..100 {
                counts[mix.pick(roll) as usize] += 1;
            }
            assert_eq!(
                counts,
                [u32::from(mix.read + mix.update), u32::from(mix.insert), u32::from(mix.remove)]
            );
        }
    }

    #[test]
    fn ids_never_collide_across_sources() {
        let mut seen = std::collections::HashSet::new();
        for i in 0..1000 {
            assert!(seen.insert(prefill_id(i)));
            assert!(seen.insert(idle_id(i)));
            assert!(seen.insert(fresh_id(0, i)));
            assert!(seen.insert(fresh_id(1, i)));
        }
    }

    #[test]
    fn every_operation_hits_on_every_correct_store() {
        for kind in StoreKind::correct() {
            for mix in Mix::ALL {
                let workload = Workload::new(mix).with_prefill(200);
                let store = kind.build(&Config::new(workload.ttl()));
                let mut drivers = workload.prepare(&store, 2);
                let stats = run_threads(&store, &workload, &mut drivers, 500);
                assert_eq!(stats.misses, 0, "{kind} {}", mix.name);
                assert_eq!(stats.ops, 1000);
                let owned: usize = drivers.iter().map(Driver::owned).sum();
                // The sweeper may not have run yet; the idle sessions are all it can remove.
                let idle = if mix.sweeper { 100 } else { 0 };
                let len = MapUnderTest::len(&store);
                assert!(
                    len >= owned && len <= owned + idle,
                    "{kind} {}: {len} vs {owned}",
                    mix.name
                );
            }
        }
    }

    #[test]
    fn same_seed_same_operations() {
        let trace = |seed| {
            let workload = Workload { seed, ..Workload::new(Mix::EXCHANGE).with_prefill(50) };
            let store = StoreKind::Mutex.build(&Config::new(workload.ttl()));
            let mut driver = workload.prepare(&store, 1).remove(0);
            (0..200).map(|_| driver.step(&store).0).collect::<Vec<_>>()
        };
        assert_eq!(trace(7), trace(7));
        assert_ne!(trace(7), trace(8));
    }

    #[test]
    fn floor_agrees_with_the_mutex_store() {
        let store = StoreKind::Mutex.build(&Config::new(10));
        let mut floor = Floor::new(10, 0);
        let mut rng = fastrand::Rng::with_seed(3);
        for now in 0..2000 {
            let id = prefill_id(rng.u64(0..20));
            let (a, b) = match rng.u8(0..4) {
                0 => (
                    floor.insert(id, UserId(1), now),
                    MapUnderTest::insert(&store, id, UserId(1), now),
                ),
                1 => (floor.touch(&id, now), MapUnderTest::touch(&store, &id, now)),
                2 => (floor.remove(&id), MapUnderTest::remove(&store, &id)),
                _ => (floor.sweep(now) > 0, MapUnderTest::sweep(&store, now) > 0),
            };
            assert_eq!(a, b, "step {now}");
            assert_eq!(floor.len(), MapUnderTest::len(&store));
        }
    }
}
