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
//! * [`run_drivers`]: runs drivers on scoped threads behind a start gate and times them.
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
//! [`BenchSpec::sweep_every`]. The first sweep removes the idle sessions; every later one walks
//! the whole map and finds nothing, which is what a periodic sweeper does most of the time, and
//! is exactly the cost the lesson is about: how long the walk keeps others waiting.

mod driver;
mod floor;
mod spec;

pub use driver::{Driver, RunStats, run_drivers};
pub use floor::Floor;
pub use spec::{BenchSpec, START, fresh_id, idle_id, prefill_id};

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::SessionStore;
use crate::time::Tick;

/// The five calls a benchmark workload makes, with the session semantics of [`SessionStore`]
/// ([`docs::semantics`](crate::docs::semantics)) but answers reduced to "did it hit".
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
pub enum MixOp {
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
    pub fn pick(&self, roll: u8) -> MixOp {
        let insert = self.read + self.update;
        if roll < insert {
            MixOp::Touch
        } else if roll < insert + self.insert {
            MixOp::Insert
        } else {
            MixOp::Remove
        }
    }

    /// Looks a mix up by [`name`](Self::name).
    pub fn by_name(name: &str) -> Option<Mix> {
        Self::ALL.into_iter().find(|mix| mix.name.eq_ignore_ascii_case(name))
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
                let workload = BenchSpec::new(mix).with_prefill(200);
                let store = kind.build(&Config::new(workload.ttl()));
                let mut drivers = workload.prepare(&store, 2);
                let stats = run_drivers(&store, &workload, &mut drivers, 500);
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
            let workload = BenchSpec { seed, ..BenchSpec::new(Mix::EXCHANGE).with_prefill(50) };
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
