//! The concurrent rules, on real threads: the rules only concurrency can break. Real threads
//! find races by chance, so each check repeats its scenario many times.

use super::{CheckResult, TTL, Violation, ensure, id, user, violation};
use crate::check::workload::{self, Progress, WorkloadSpec};
use crate::store::{Config, SessionStore};
use crate::sync::{AtomicBool, Barrier, Ordering};
use crate::time::Tick;
use std::time::Duration;

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
