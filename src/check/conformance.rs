//! The conformance suite: one generic set of checks that every store must pass.
//!
//! Each check builds fresh stores with the factory it is given, so the same suite grades the
//! lab's own stores, the deliberately buggy [`mutants`](crate::check::mutants), and a student's store
//! in the course exercises. The sequential checks walk through every rule of the
//! specification (DESIGN, "Semantics"); the concurrent checks race real threads on the rules
//! that only concurrency can break. Real threads find races by chance, so the concurrent
//! checks repeat their scenario many times; the loom suite (`loom-tests/`) is the exhaustive
//! counterpart for small scenarios.
//!
//! Use it from a test file with one line per store:
//!
//! ```
//! # use sessionlab::MutexStore;
//! sessionlab::conformance_tests!(mutex, |config| MutexStore::new(config));
//! ```
//!
//! or programmatically with [`run_all`].

pub mod memory;

use crate::check::workload::{self, Progress, WorkloadSpec};
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{AtomicBool, Barrier, Ordering};
use crate::time::Tick;
use std::fmt;
use std::time::Duration;

/// A rule a store broke, and how.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Violation {
    /// The check that found it.
    pub check: &'static str,
    /// What happened, against what the specification requires.
    pub message: String,
}

impl fmt::Display for Violation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.check, self.message)
    }
}

impl std::error::Error for Violation {}

/// The result of one check.
pub type CheckResult = Result<(), Violation>;

/// Fails the enclosing check with a formatted message unless `cond` holds.
macro_rules! ensure {
    ($check:expr, $cond:expr, $($message:tt)+) => {
        if !$cond {
            return Err(Violation { check: $check, message: format!($($message)+) });
        }
    };
}

const TTL: u64 = 100;

fn user(n: u64) -> UserId {
    UserId(n)
}

fn id(n: u64) -> SessionId {
    SessionId::fixed(n)
}

/// Gives a closure the right signature for the checks (`for<'a> Fn(&'a Config) -> S`).
pub fn factory<S: SessionStore, F: Fn(&Config) -> S>(make: F) -> F {
    make
}

// ---------------------------------------------------------------------------------------------
// Sequential rules.

/// A fresh session answers a touch with its user, and `len` counts it.
pub fn insert_then_touch<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "insert_then_touch";
    let store = make(&Config::new(TTL));
    ensure!(CHECK, store.is_empty(), "a new store has len {}", store.len());
    ensure!(CHECK, store.insert(id(1), user(7), 0).is_ok(), "insert into an empty store failed");
    ensure!(CHECK, store.len() == 1, "len after one insert is {}", store.len());
    let got = store.touch(&id(1), 10);
    ensure!(
        CHECK,
        got == Some(user(7)),
        "touch of a live session returned {got:?}, not Some(user-7)"
    );
    Ok(())
}

/// Insert never overwrites: a present id, live or expired, gives `Err(Occupied)` and keeps
/// its user and activity.
pub fn insert_never_overwrites<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "insert_never_overwrites";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "first insert failed"))?;
    let again = store.insert(id(1), user(2), 50);
    ensure!(CHECK, again == Err(Occupied), "insert of a live id returned {again:?}");
    let expired_again = store.insert(id(1), user(3), 500);
    ensure!(
        CHECK,
        expired_again == Err(Occupied),
        "insert of an expired, unswept id returned {expired_again:?}"
    );
    ensure!(CHECK, store.len() == 1, "len is {} after refused inserts", store.len());
    // The refused inserts must not have refreshed the activity: expired at 100, as inserted.
    let touched = store.touch(&id(1), TTL);
    ensure!(
        CHECK,
        touched.is_none(),
        "a refused insert moved the activity (touch at ttl returned {touched:?})"
    );
    let removed = store.remove(&id(1));
    ensure!(
        CHECK,
        removed == Some(user(1)),
        "the refused inserts changed the user: remove returned {removed:?}"
    );
    Ok(())
}

/// Touching an absent id returns `None` and creates nothing.
pub fn touch_absent_is_none<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "touch_absent_is_none";
    let store = make(&Config::new(TTL));
    let got = store.touch(&id(9), 0);
    ensure!(CHECK, got.is_none(), "touch of an absent id returned {got:?}");
    ensure!(
        CHECK,
        store.is_empty(),
        "touch of an absent id created something (len {})",
        store.len()
    );
    Ok(())
}

/// A session expires exactly at `last_active + ttl`, and an expired session is never revived,
/// not even by a touch with an older time afterwards.
pub fn expired_is_never_revived<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "expired_is_never_revived";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    let just_before = store.touch(&id(1), TTL - 1);
    ensure!(CHECK, just_before == Some(user(1)), "touch at ttl - 1 returned {just_before:?}");
    // Last active at 99 now: expired at 199.
    let at_expiry = store.touch(&id(1), 2 * TTL - 1);
    ensure!(
        CHECK,
        at_expiry.is_none(),
        "touch at last_active + ttl returned {at_expiry:?}: expiry is at last + ttl"
    );
    let late = store.touch(&id(1), 10 * TTL);
    ensure!(CHECK, late.is_none(), "touch long after expiry returned {late:?}");
    let swept = store.sweep(2 * TTL - 1);
    ensure!(
        CHECK,
        swept == 1,
        "sweep at the expiry instant removed {swept}, not 1: the touches revived it"
    );
    Ok(())
}

/// Activity never moves backwards: a touch with an older time keeps the newer one.
pub fn touch_never_moves_backwards<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "touch_never_moves_backwards";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    ensure!(CHECK, store.touch(&id(1), 80).is_some(), "touch at 80 failed");
    let older = store.touch(&id(1), 30);
    ensure!(
        CHECK,
        older == Some(user(1)),
        "touch with an older, still-live time returned {older:?}"
    );
    // Last active must still be 80: live at 179, expired at 180.
    let swept = store.sweep(179);
    ensure!(
        CHECK,
        swept == 0,
        "sweep at 179 removed {swept}: the older touch moved activity back to 30"
    );
    ensure!(CHECK, store.touch(&id(1), 179).is_some(), "session last active at 80 was dead at 179");
    Ok(())
}

/// Remove returns the user once; a second remove returns `None`; an expired but unswept
/// session is still present and can be removed.
pub fn remove_returns_user_once<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "remove_returns_user_once";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    store.insert(id(2), user(2), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    let first = store.remove(&id(1));
    ensure!(CHECK, first == Some(user(1)), "remove of a present id returned {first:?}");
    let second = store.remove(&id(1));
    ensure!(CHECK, second.is_none(), "second remove returned {second:?}");
    ensure!(CHECK, store.touch(&id(1), 1).is_none(), "a removed session answered a touch");
    // id 2 is expired at 100 but not swept: remove still finds it.
    ensure!(CHECK, store.touch(&id(2), TTL).is_none(), "id 2 should be expired at ttl");
    let expired = store.remove(&id(2));
    ensure!(
        CHECK,
        expired == Some(user(2)),
        "remove of an expired, unswept session returned {expired:?}"
    );
    ensure!(CHECK, store.is_empty(), "len {} after removing everything", store.len());
    Ok(())
}

/// An id is free again after remove and after sweep.
pub fn ids_are_reusable<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "ids_are_reusable";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    store.remove(&id(1));
    let after_remove = store.insert(id(1), user(2), 10);
    ensure!(CHECK, after_remove.is_ok(), "insert after remove returned {after_remove:?}");
    ensure!(
        CHECK,
        store.touch(&id(1), 20) == Some(user(2)),
        "the reinserted session has the wrong user"
    );
    store.sweep(1000);
    let after_sweep = store.insert(id(1), user(3), 1000);
    ensure!(CHECK, after_sweep.is_ok(), "insert after sweep returned {after_sweep:?}");
    ensure!(
        CHECK,
        store.touch(&id(1), 1001) == Some(user(3)),
        "the reinserted session has the wrong user"
    );
    Ok(())
}

/// Sweep removes exactly the sessions expired at `now`, counts them, and keeps the rest; `len`
/// counts expired sessions until they are swept.
pub fn sweep_removes_exactly_the_expired<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "sweep_removes_exactly_the_expired";
    let store = make(&Config::new(TTL).with_shards(4));
    // Sessions 0..50 last active at 0 (expired at 100), 50..100 at 50 (expired at 150).
    for n in 0..100 {
        let start = if n < 50 { 0 } else { 50 };
        store.insert(id(n), user(n), start).map_err(|_| violation(CHECK, "insert failed"))?;
    }
    ensure!(CHECK, store.sweep(99) == 0, "sweep before any expiry removed something");
    ensure!(CHECK, store.len() == 100, "len is {} before any sweep, not 100", store.len());
    let first = store.sweep(100);
    ensure!(CHECK, first == 50, "sweep at 100 removed {first}, not the 50 expired at 100");
    ensure!(CHECK, store.len() == 50, "len after the first sweep is {}, not 50", store.len());
    for n in 50..100 {
        ensure!(
            CHECK,
            store.touch(&id(n), 149) == Some(user(n)),
            "live session {n} was swept or lost"
        );
    }
    // Touched at 149: now expired at 249.
    ensure!(CHECK, store.sweep(248) == 0, "sweep at 248 removed sessions touched at 149");
    let second = store.sweep(249);
    ensure!(CHECK, second == 50, "sweep at 249 removed {second}, not 50");
    ensure!(
        CHECK,
        store.is_empty() && store.sweep(10_000) == 0,
        "store not empty after sweeping everything"
    );
    Ok(())
}

/// `create` gives a fresh id each time and stores the session.
pub fn create_gives_fresh_ids<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "create_gives_fresh_ids";
    let store = make(&Config::new(TTL));
    let ids: Vec<SessionId> = (0..100).map(|n| store.create(user(n), 0)).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    ensure!(CHECK, unique.len() == 100, "create returned a duplicate id");
    ensure!(CHECK, store.len() == 100, "len is {} after 100 creates", store.len());
    for (n, id) in ids.iter().enumerate() {
        ensure!(
            CHECK,
            store.touch(id, 1) == Some(user(n as u64)),
            "created session {n} has the wrong user"
        );
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Concurrent rules, on real threads.

const THREADS: usize = 4;

/// Threads inserting distinct ids at once lose none of them.
pub fn concurrent_inserts_lose_nothing<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "concurrent_inserts_lose_nothing";
    const PER_THREAD: u64 = 2_000;
    for round in 0..5 {
        // Capacity 0: the maps must grow while the threads race.
        let store = make(&Config::new(TTL).with_shards(2));
        let start = Barrier::new(THREADS);
        let failures = run_threads(THREADS, |t| {
            start.wait();
            (0..PER_THREAD)
                .filter(|n| store.insert(id(t as u64 * PER_THREAD + n), user(t as u64), 0).is_err())
                .count()
        });
        ensure!(
            CHECK,
            failures.iter().sum::<usize>() == 0,
            "round {round}: inserts of distinct ids were refused: {failures:?}"
        );
        let expected = THREADS * PER_THREAD as usize;
        ensure!(
            CHECK,
            store.len() == expected,
            "round {round}: len is {} after {expected} inserts",
            store.len()
        );
        for n in 0..expected as u64 {
            let want = user(n / PER_THREAD);
            ensure!(
                CHECK,
                store.touch(&id(n), 1) == Some(want),
                "round {round}: session {n} was lost"
            );
        }
    }
    Ok(())
}

/// Of threads inserting the same id at once, exactly one succeeds.
pub fn concurrent_inserts_of_one_id_have_one_winner<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "concurrent_inserts_of_one_id_have_one_winner";
    const IDS: u64 = 500;
    let store = make(&Config::new(TTL));
    let start = Barrier::new(THREADS);
    let wins = run_threads(THREADS, |t| {
        start.wait();
        (0..IDS).filter(|n| store.insert(id(*n), user(t as u64), 0).is_ok()).collect::<Vec<_>>()
    });
    for n in 0..IDS {
        let winners = wins.iter().filter(|w| w.contains(&n)).count();
        ensure!(CHECK, winners == 1, "{winners} threads inserted id {n}; exactly one may");
        let winner = wins.iter().position(|w| w.contains(&n)).unwrap_or(0) as u64;
        let stored = store.touch(&id(n), 1);
        ensure!(
            CHECK,
            stored == Some(user(winner)),
            "id {n} holds {stored:?}, but thread {winner} won the insert"
        );
    }
    Ok(())
}

/// Of threads removing the same id at once, exactly one gets `Some`.
pub fn concurrent_removes_have_one_winner<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "concurrent_removes_have_one_winner";
    const IDS: u64 = 2_000;
    for round in 0..5 {
        let store = make(&Config::new(TTL).with_capacity(IDS as usize));
        for n in 0..IDS {
            store.insert(id(n), user(n), 0).map_err(|_| violation(CHECK, "insert failed"))?;
        }
        let start = Barrier::new(THREADS);
        // Every thread removes every id, in the same order, so they collide on each one.
        let wins = run_threads(THREADS, |_| {
            start.wait();
            (0..IDS).map(|n| store.remove(&id(n)).is_some()).collect::<Vec<_>>()
        });
        for n in 0..IDS as usize {
            let winners = wins.iter().filter(|w| w[n]).count();
            ensure!(
                CHECK,
                winners == 1,
                "round {round}: {winners} removes of id {n} returned Some; exactly one may"
            );
        }
        ensure!(
            CHECK,
            store.is_empty(),
            "round {round}: len {} after removing everything",
            store.len()
        );
    }
    Ok(())
}

/// Touches racing a sweep: a session that a touch kept alive (touch returned `Some` with a time
/// that makes it live at the sweep's `now`) is never removed by that sweep.
pub fn touches_racing_a_sweep_keep_sessions_alive<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "touches_racing_a_sweep_keep_sessions_alive";
    const IDS: u64 = 2_000;
    for round in 0..10 {
        let store = make(&Config::new(TTL).with_capacity(IDS as usize).with_shards(2));
        // All last active at 0: expired at the sweep's now = 100 unless touched first.
        for n in 0..IDS {
            store.insert(id(n), user(n), 0).map_err(|_| violation(CHECK, "insert failed"))?;
        }
        // The sweep starts once the toucher is under way, so the two really overlap: the
        // toucher's 2000 calls take far longer than the sweep.
        let toucher_started = AtomicBool::new(false);
        let (touched, swept) = std::thread::scope(|s| {
            let toucher = s.spawn(|| {
                // Raised before the first call, so a store that panics in touch cannot leave
                // the sweeper spinning forever.
                toucher_started.store(true, Ordering::Release);
                // Touched at 50: live until 150, so live at the sweep's now of 100.
                (0..IDS).map(|n| store.touch(&id(n), 50).is_some()).collect::<Vec<_>>()
            });
            let sweeper = s.spawn(|| {
                while !toucher_started.load(Ordering::Acquire) {
                    std::hint::spin_loop();
                }
                store.sweep(TTL)
            });
            (toucher.join().expect("toucher panicked"), sweeper.join().expect("sweeper panicked"))
        });
        let mut survivors = 0;
        for (n, was_touched) in touched.iter().enumerate() {
            let present = store.touch(&id(n as u64), 60).is_some();
            survivors += usize::from(present);
            ensure!(
                CHECK,
                !was_touched || present,
                "round {round}: session {n} was touched at 50 (live until 150) yet the sweep at 100 removed it"
            );
            ensure!(
                CHECK,
                *was_touched || !present,
                "round {round}: session {n} was expired at 100, its touch failed, yet it is still there: revived"
            );
        }
        ensure!(
            CHECK,
            survivors + swept == IDS as usize,
            "round {round}: {survivors} survivors + {swept} swept != {IDS}"
        );
    }
    Ok(())
}

/// Concurrent touches with different times leave the latest: activity never moves backwards,
/// even when the touches race (a touch that loads, compares and stores instead of a CAS to the
/// max can overwrite a newer time with an older one).
pub fn racing_touches_keep_the_latest<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "racing_touches_keep_the_latest";
    const ROUNDS: u64 = 300;
    const STEADY_TOUCHES: Tick = 2_000;
    const LATEST: Tick = 5_000;
    const LONG_TTL: u64 = 10_000;
    let store = make(&Config::new(LONG_TTL));
    for round in 0..ROUNDS {
        let session = id(round);
        store.insert(session, user(round), 0).map_err(|_| violation(CHECK, "insert failed"))?;
        // How many older touches the steady thread has made (it counts them as it goes, and
        // says when it stops, even by a panic): the latest touch waits for a round-dependent
        // count, so it lands inside the run of older ones in every build, debug or release,
        // rather than after it (a fixed spin delay did, in release).
        let progress = std::sync::atomic::AtomicU64::new(0);
        let finished = AtomicBool::new(false);
        let land_after = 1 + (round * 7_919) % (STEADY_TOUCHES - 100);
        run_threads(2, |t| {
            if t == 0 {
                while progress.load(Ordering::Acquire) < land_after
                    && !finished.load(Ordering::Acquire)
                {
                    std::hint::spin_loop();
                }
                store.touch(&session, LATEST);
            } else {
                /// Says the steady thread stopped, however it stops.
                struct Finished<'a>(&'a AtomicBool);
                impl Drop for Finished<'_> {
                    fn drop(&mut self) {
                        self.0.store(true, Ordering::Release);
                    }
                }
                let _finished = Finished(&finished);
                for now in 1..=STEADY_TOUCHES {
                    store.touch(&session, now);
                    progress.store(now, Ordering::Release);
                }
            }
        });
        // Touched at 5000: live until 15000. Moved back to <= 2000, it died at 12000.
        let probe = LATEST + LONG_TTL - 1;
        ensure!(
            CHECK,
            store.touch(&session, probe).is_some(),
            "round {round}: the session was touched at {LATEST} but is dead at {probe}: a racing older touch moved its activity backwards"
        );
    }
    Ok(())
}

/// Writers of other ids never bring a removed session back (copy-on-write stores that publish a
/// stale copy do), and never lose each other's sessions.
pub fn removed_sessions_stay_removed<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "removed_sessions_stay_removed";
    const IDS: u64 = 1_000;
    let store = make(&Config::new(TTL).with_shards(2));
    for n in 0..IDS {
        store.insert(id(n), user(n), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    }
    let start = Barrier::new(2);
    let results = run_threads(2, |t| {
        start.wait();
        let mut problems = Vec::new();
        for n in 0..IDS {
            if t == 0 {
                if store.remove(&id(n)).is_none() {
                    problems.push(format!("remove of present session {n} returned None"));
                } else if store.touch(&id(n), 1).is_some() {
                    problems.push(format!("session {n} answered a touch right after its remove"));
                }
            } else if store.insert(id(IDS + n), user(IDS + n), 0).is_err() {
                problems.push(format!("insert of fresh id {} was refused", IDS + n));
            }
        }
        problems
    });
    let problems: Vec<String> = results.into_iter().flatten().collect();
    ensure!(CHECK, problems.is_empty(), "{} problems, first: {}", problems.len(), problems[0]);
    for n in 0..IDS {
        ensure!(CHECK, store.touch(&id(n), 1).is_none(), "removed session {n} came back");
        ensure!(
            CHECK,
            store.touch(&id(IDS + n), 1).is_some(),
            "inserted session {} was lost",
            IDS + n
        );
    }
    ensure!(CHECK, store.len() == IDS as usize, "len {} at the end, not {IDS}", store.len());
    Ok(())
}

/// The full session workload (handlers plus a live background sweeper) for a moment: nothing
/// lost, resurrected or wrongly swept, and the final count adds up.
pub fn session_workload_is_clean<S: SessionStore + 'static>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "session_workload_is_clean";
    let spec = WorkloadSpec {
        threads: THREADS,
        duration: Duration::from_millis(300),
        max_ops: Some(200_000),
        sessions: 2_000,
        ttl: 20,
        seed: 7,
    };
    let store = crate::sync::Arc::new(make(&spec.config()));
    let report = workload::run(store, &spec, &Progress::default());
    ensure!(
        CHECK,
        report.violations() == 0,
        "lost {}, resurrected {}, wrongly swept {} in {} ops",
        report.lost,
        report.resurrected,
        report.wrongly_swept,
        report.ops
    );
    ensure!(
        CHECK,
        report.final_len as i64 == report.expected_len,
        "final len {} but logins - logouts - swept = {}",
        report.final_len,
        report.expected_len
    );
    Ok(())
}

// ---------------------------------------------------------------------------------------------

fn violation(check: &'static str, message: &str) -> Violation {
    Violation { check, message: message.to_owned() }
}

/// Runs `f(thread_index)` on `n` scoped threads and collects the results in order. A panic in
/// a thread is propagated (the store under test panicked).
fn run_threads<R: Send>(n: usize, f: impl Fn(usize) -> R + Sync) -> Vec<R> {
    std::thread::scope(|s| {
        let f = &f;
        let handles: Vec<_> = (0..n).map(|t| s.spawn(move || f(t))).collect();
        handles
            .into_iter()
            .map(|h| h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)))
            .collect()
    })
}

/// The list of checks, in one place, and what to do with it: `@tests` expands to one
/// `#[test]` per check, `@run_all` to a `Vec` of every check's result.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($mode:ident $make:expr) => {
        $crate::__conformance_checks! { @$mode $make;
            insert_then_touch,
            insert_never_overwrites,
            touch_absent_is_none,
            expired_is_never_revived,
            touch_never_moves_backwards,
            remove_returns_user_once,
            ids_are_reusable,
            sweep_removes_exactly_the_expired,
            create_gives_fresh_ids,
            concurrent_inserts_lose_nothing,
            concurrent_inserts_of_one_id_have_one_winner,
            concurrent_removes_have_one_winner,
            touches_racing_a_sweep_keep_sessions_alive,
            racing_touches_keep_the_latest,
            removed_sessions_stay_removed,
            session_workload_is_clean
        }
    };
    (@tests $make:expr; $($check:ident),*) => {$(
        #[test]
        fn $check() {
            let make = $crate::check::conformance::factory($make);
            if let Err(violation) = $crate::check::conformance::$check(&make) {
                panic!("{violation}");
            }
        }
    )*};
    (@run_all $make:expr; $($check:ident),*) => {
        vec![$((
            stringify!($check),
            $crate::check::conformance::catch_panic(stringify!($check), || $crate::check::conformance::$check($make)),
        )),*]
    };
}

/// Expands to a module `$module` with one `#[test]` per conformance check, run on stores built
/// by `$make` (a closure `|config: &Config| -> impl SessionStore`).
#[macro_export]
macro_rules! conformance_tests {
    ($module:ident, $make:expr) => {
        mod $module {
            #[allow(unused_imports)]
            use super::*;
            $crate::__conformance_checks!(tests $make);
        }
    };
}

/// Runs `check`, turning a panic in the store into a failed check.
#[doc(hidden)]
pub fn catch_panic(name: &'static str, check: impl FnOnce() -> CheckResult) -> CheckResult {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(check)).unwrap_or_else(|panic| {
        Err(Violation {
            check: name,
            message: format!("the store panicked: {}", panic_message(&*panic)),
        })
    })
}

/// Runs every check on stores built by `make` and returns each check's name and result. A
/// store that panics fails that check rather than the caller.
pub fn run_all<S: SessionStore + 'static>(
    make: &dyn Fn(&Config) -> S,
) -> Vec<(&'static str, CheckResult)> {
    crate::__conformance_checks!(run_all make)
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}
