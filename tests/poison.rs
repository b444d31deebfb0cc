//! A panicking thread does not take a store down.
//!
//! **The poison policy** (the comments in `src/stores/{mutex,rwlock,sharded}.rs`): when a
//! thread panics while it holds a store's lock, std marks the lock *poisoned*, and every later
//! `lock()` returns `Err(PoisonError)`. Unwrapping that would turn one failed request into a
//! store that fails every request forever. The locked stores instead take the guard back
//! (`unwrap_or_else(PoisonError::into_inner)`) and carry on. That is sound only because each
//! critical section changes the map with a *single* `HashMap` call (`entry().insert`,
//! `remove`, `retain`) or one atomic on a value, and std's `HashMap` leaves itself consistent
//! when such a call unwinds: a panic can lose the operation in flight, never corrupt the map
//! or leave a half-made change behind. The lock-free and copy-on-write stores hold no lock:
//! a panicking thread there simply never publishes its change.
//!
//! **What this file tests.**
//!
//! 1. The claim the policy rests on, on the lab's own primitives (`sessionlab::sync`) with the
//!    exact recovery expression the stores use: a thread panics *inside* the critical section,
//!    in the middle of each `HashMap` call the stores make (a panicking `retain` predicate
//!    halfway through the map; a panic with an `entry` held, and after `get_mut`), and the
//!    map is then consistent (its `len` equals its iteration count, every entry is one that
//!    was put there, nothing half-made) and fully usable through the poisoned lock.
//! 2. Every correct store stays usable and consistent when the threads calling it
//!    panic between calls while others keep working: afterwards its answers match the model
//!    replaying the same calls.
//!
//! 3. The locked stores' own locks, poisoned through a `#[doc(hidden)]` test hook
//!    (`poison_for_tests`: take the lock, then panic; the stores call no code of ours while
//!    they hold it, so nothing else can poison it from outside): every session survives and
//!    every operation still answers by the spec.

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

use sessionlab::check::model::{Model, Op};
use sessionlab::sync::{Mutex, RwLock};
use sessionlab::{Config, SessionId, SessionStore, StoreKind, Tick, UserId};
use std::collections::HashMap;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::PoisonError;

type Map = HashMap<SessionId, (UserId, Tick)>;

fn filled(n: u64) -> Map {
    (0..n).map(|i| (SessionId::fixed(i), (UserId(i), i))).collect()
}

/// The map holds exactly the entries `expected` allows, and its length agrees with them.
fn assert_consistent(map: &Map, allowed: &Map) {
    assert_eq!(map.len(), map.iter().count(), "len disagrees with iteration");
    for (id, value) in map {
        assert_eq!(allowed.get(id), Some(value), "an entry nobody put there: {id:?}");
    }
}

/// Runs `critical` in a thread that holds the mutex and panics inside it, then returns the
/// map through the poisoned lock, the way the stores take it back.
fn poison_mutex_with(map: &Mutex<Map>, critical: impl FnOnce(&mut Map) + Send) {
    std::thread::scope(|s| {
        let result = s
            .spawn(|| {
                let mut guard = map.lock().unwrap_or_else(PoisonError::into_inner);
                critical(&mut guard);
            })
            .join();
        assert!(result.is_err(), "the critical section was meant to panic");
    });
    assert!(map.is_poisoned(), "a panic while locked poisons the lock");
}

#[test]
fn a_panic_halfway_through_retain_leaves_the_map_consistent_and_usable() {
    let before = filled(64);
    let map = Mutex::new(before.clone());
    poison_mutex_with(&map, |map| {
        let mut seen = 0;
        map.retain(|_, (_, last)| {
            seen += 1;
            assert!(seen < 32, "injected panic halfway through the sweep");
            *last % 2 == 0
        });
    });
    let mut map = map.lock().unwrap_or_else(PoisonError::into_inner);
    assert_consistent(&map, &before);
    // Usable: the next sweep finishes the job, inserts and removes work.
    map.retain(|_, (_, last)| *last % 2 == 0);
    assert!(map.values().all(|(_, last)| last % 2 == 0));
    assert!(map.insert(SessionId::fixed(1000), (UserId(1), 0)).is_none());
    assert!(map.remove(&SessionId::fixed(0)).is_some());
}

#[test]
fn a_panic_with_an_entry_or_a_value_in_hand_changes_nothing() {
    let before = filled(16);
    let map = Mutex::new(before.clone());
    poison_mutex_with(&map, |map| {
        let _vacant = map.entry(SessionId::fixed(99));
        panic!("injected panic between the occupied check and the insert");
    });
    poison_mutex_with(&map, |map| {
        let (_, last) = map.get_mut(&SessionId::fixed(3)).expect("present");
        let _ = last;
        panic!("injected panic before the touch writes");
    });
    let guard = map.lock().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(*guard, before, "nothing half-made");
}

#[test]
fn a_poisoned_rwlock_is_taken_back_for_reads_and_writes() {
    let before = filled(16);
    let map = RwLock::new(before.clone());
    std::thread::scope(|s| {
        let result = s
            .spawn(|| {
                let mut guard = map.write().unwrap_or_else(PoisonError::into_inner);
                guard.retain(|_, (_, last)| {
                    assert!(*last < 8, "injected panic in a sweep under the write lock");
                    true
                });
            })
            .join();
        assert!(result.is_err());
    });
    assert!(map.is_poisoned());
    assert_consistent(&map.read().unwrap_or_else(PoisonError::into_inner), &before);
    let mut guard = map.write().unwrap_or_else(PoisonError::into_inner);
    assert_eq!(guard.len(), 16);
    guard.clear();
    assert!(guard.is_empty());
}

/// Every correct store keeps working while callers panic between calls: a thread that panics
/// mid-request takes only itself down. (Not the mutants: their bugs lose concurrent updates
/// with or without panics, so the model could not predict them; this test once flaked on
/// load-store-cow for exactly that reason.) Afterwards the store answers as the model does after
/// the same calls.
#[test]
fn every_store_survives_callers_that_panic() {
    let ttl = 10;
    let builds = StoreKind::correct().map(|kind| {
        (
            kind.name(),
            Box::new(move |c: &Config| kind.build(c))
                as Box<dyn Fn(&Config) -> Box<dyn SessionStore>>,
        )
    });
    for (name, build) in builds {
        let store = build(&Config::new(ttl).with_shards(2));
        // Each thread works on its own ids, so the calls commute and the model can replay
        // them thread by thread; every other thread panics halfway.
        let calls: Vec<Vec<Op>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4u64)
                .map(|thread| {
                    let store = &store;
                    s.spawn(move || {
                        let mut made = Vec::new();
                        let result = catch_unwind(AssertUnwindSafe(|| {
                            for i in 0..50u64 {
                                let id = SessionId::fixed(thread * 1000 + i % 5);
                                let op = match i % 4 {
                                    0 => Op::Insert { id, user: UserId(thread), now: i },
                                    1 | 2 => Op::Touch { id, now: i },
                                    _ => Op::Remove { id },
                                };
                                op.apply(&**store);
                                made.push(op);
                                if thread % 2 == 1 && i == 25 {
                                    panic!("injected panic in a request handler");
                                }
                            }
                        }));
                        assert_eq!(result.is_err(), thread % 2 == 1);
                        made
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("the panic was caught")).collect()
        });
        let mut model = Model::new(ttl);
        for op in calls.iter().flatten() {
            model.apply(op);
        }
        assert_eq!(store.len(), model.len(), "{name}: len after panicking callers");
        for thread in 0..4u64 {
            for i in 0..5 {
                let op = Op::Touch { id: SessionId::fixed(thread * 1000 + i), now: 49 };
                assert_eq!(op.apply(&*store), model.apply(&op), "{name}: {op}");
            }
        }
        assert_eq!(store.sweep(1_000), model.sweep(1_000), "{name}: sweep");
        assert!(store.is_empty(), "{name}: everything expired");
        store.insert(SessionId::fixed(7), UserId(7), 0).expect("usable after the panics");
    }
}

/// A store whose own lock was poisoned (by the stores' test hook) keeps every session and keeps
/// answering by the spec: the policy, on the stores themselves.
fn store_survives_its_own_poisoned_lock<S: SessionStore>(store: S, poison: impl Fn(&S)) {
    let ids: Vec<SessionId> = (0..100).map(SessionId::fixed).collect();
    for (n, id) in ids.iter().enumerate() {
        store.insert(*id, UserId(n as u64), 0).expect("fresh id");
    }
    poison(&store);
    assert_eq!(store.len(), 100, "sessions lost to the poisoned lock");
    assert_eq!(store.touch(&ids[0], 50), Some(UserId(0)));
    assert!(store.insert(SessionId::fixed(1000), UserId(1000), 60).is_ok());
    assert_eq!(store.remove(&ids[1]), Some(UserId(1)));
    assert_eq!(store.remove(&ids[1]), None);
    // ids[0] touched at 50 and the new one at 60 are live at 100; the other 98 are not.
    assert_eq!(store.sweep(100), 98);
    assert_eq!(store.len(), 2);
    assert_eq!(store.touch(&SessionId::fixed(1000), 100), Some(UserId(1000)));
}

#[test]
fn locked_stores_survive_their_own_poisoned_locks() {
    let config = Config::new(100);
    store_survives_its_own_poisoned_lock(sessionlab::MutexStore::new(&config), |s| {
        s.poison_for_tests()
    });
    store_survives_its_own_poisoned_lock(sessionlab::RwLockStore::new(&config), |s| {
        s.poison_for_tests()
    });
    store_survives_its_own_poisoned_lock(
        sessionlab::ShardedStore::new(&config.clone().with_shards(4)),
        |s| s.poison_for_tests(),
    );
}
