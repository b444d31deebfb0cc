//! The graders on real threads: the lab's conformance suite, its linearizability checker, the
//! memory checks (leaks, drop) and each exercise's lesson checks, run on each exercise's
//! store. One `#[test]` per exercise, named after it, so
//! `cargo test -p sessionlab-exercises --test grade -- ex04_rwlock --exact` grades one.
//!
//! Every check runs in a child process of its own (this binary re-executed on the hidden
//! `child` test, see `common::in_child`) under a time limit: a check that hangs, aborts or
//! corrupts the heap is reported by name, with what killed it, and the remaining checks still
//! run. Verdicts are printed as each check finishes.
//!
//! Whether a test requires the grader to pass or to fail is decided per exercise by
//! `common::expectation` (the not-done marker, or `SESSIONLAB_EXERCISE_EXPECT`).
//!
//! Knobs: `SESSIONLAB_EXERCISE_ROUNDS` (random histories per store, default 300),
//! `SESSIONLAB_CHECK_TIMEOUT_S` (per check, default 60).
#![cfg(not(loom))]
// Each exercise's grader is compiled only with its feature (`--features ex04_rwlock`).
#![allow(dead_code, unused_imports)]

mod common;

use common::{
    CHILD_VAR, Expect, Report, catching, check_timeout, child_verdict, expectation, in_child, join,
};
use sessionlab::check::conformance;
use sessionlab::check::conformance::memory::{self, CountingAllocator};
use sessionlab::check::history::Recorder;
use sessionlab::check::model::Op;
use sessionlab::{Config, SessionId, SessionStore, UserId};
use std::sync::Barrier;
use std::time::Duration;

/// Counts the bytes this test binary has allocated and not yet freed, so the memory checks
/// (`sessionlab::check::conformance::memory`) can see a store that leaks.
#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// The conformance suite's sequential checks: the ones a store with only a concurrency bug
/// passes.
const SEQUENTIAL: [&str; 9] = [
    "insert_then_touch",
    "insert_never_overwrites",
    "touch_absent_is_none",
    "expired_is_never_revived",
    "touch_never_moves_backwards",
    "remove_returns_user_once",
    "ids_are_reusable",
    "sweep_removes_exactly_the_expired",
    "create_gives_fresh_ids",
];

const TTL: u64 = 10;

/// One named check.
type Check = (String, Box<dyn Fn() -> Result<(), String>>);

fn knob(name: &str, default: usize) -> usize {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Every conformance check, by name, on stores built by `make`.
macro_rules! conformance_checks {
    ($make:expr; $($check:ident),* $(,)?) => {
        vec![$(
            (
                format!("conformance::{}", stringify!($check)),
                Box::new(move || conformance::$check(&$make).map_err(|v| v.message))
                    as Box<dyn Fn() -> Result<(), String>>,
            )
        ),*]
    };
}

/// The full store grader: conformance, linearizability, memory, the remove/sweep race.
fn store_checks<S: SessionStore + 'static>(make: fn(&Config) -> S) -> Vec<Check> {
    let mut checks = conformance_checks![make;
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
        session_workload_is_clean,
    ];
    let rounds = knob("SESSIONLAB_EXERCISE_ROUNDS", 300);
    checks.push((
        format!("linearizability ({rounds} random histories)"),
        Box::new(move || linearizability(make, rounds)),
    ));
    let live = CountingAllocator::live_bytes;
    checks.push((
        "race::remove_vs_sweep".into(),
        Box::new(move || {
            memory::remove_racing_a_sweep_has_one_winner(&make).map_err(|v| v.message)
        }),
    ));
    checks.push((
        "memory::sessions_that_came_and_went_leave_nothing".into(),
        Box::new(move || {
            memory::sessions_that_came_and_went_leave_nothing(&make, live).map_err(|v| v.message)
        }),
    ));
    checks.push((
        "memory::dropping_the_store_frees_it".into(),
        Box::new(move || memory::dropping_the_store_frees_it(&make, live).map_err(|v| v.message)),
    ));
    checks
}

/// Random three-thread histories over two ids, recorded on real threads released together,
/// each checked for linearizability against the lab's sequential model.
fn linearizability<S: SessionStore + 'static>(
    make: fn(&Config) -> S,
    rounds: usize,
) -> Result<(), String> {
    let mut rng = fastrand::Rng::with_seed(7);
    for round in 0..rounds {
        let scenario: Vec<Vec<Op>> =
            (0..3).map(|_| (0..8).map(|_| random_op(&mut rng)).collect()).collect();
        let recorder = Recorder::new(make(&Config::new(TTL)));
        let barrier = Barrier::new(scenario.len());
        let logs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = scenario
                .iter()
                .enumerate()
                .map(|(thread, ops)| {
                    let (recorder, barrier) = (&recorder, &barrier);
                    s.spawn(move || {
                        let mut log = recorder.log(thread);
                        barrier.wait();
                        for op in ops {
                            log.call(*op);
                        }
                        log.into_calls()
                    })
                })
                .collect();
            handles.into_iter().map(join).collect()
        });
        let history = recorder.finish(logs);
        history.check(TTL).map_err(|e| format!("history {round} of {rounds}: {e}"))?;
    }
    Ok(())
}

fn random_op(rng: &mut fastrand::Rng) -> Op {
    let id = SessionId::fixed(rng.u64(0..2));
    let now = rng.u64(0..3 * TTL);
    match rng.u8(0..10) {
        0..=2 => Op::Insert { id, user: UserId(rng.u64(1..4)), now },
        3..=6 => Op::Touch { id, now },
        7..=8 => Op::Remove { id },
        _ => Op::Sweep { now },
    }
}

// -------------------------------------------------------------------------------------------
// Each exercise's own checks.

/// Exercise 3's gate: the rules one caller can check, and racing callers.
#[cfg(feature = "ex03_sweep_gate")]
fn gate_checks() -> Vec<Check> {
    use sessionlab_exercises::ex03_sweep_gate::SweepGate;
    vec![
        (
            "gate::closed_before_the_interval_open_at_it_once".into(),
            Box::new(|| {
                let gate = SweepGate::new(10, 0);
                let got =
                    [gate.try_claim(9), gate.try_claim(10), gate.try_claim(15), gate.try_claim(20)];
                if got == [false, true, false, true] {
                    Ok(())
                } else {
                    Err(format!(
                        "claims at 9, 10, 15, 20 gave {got:?}, not [false, true, false, true]"
                    ))
                }
            }),
        ),
        (
            "gate::a_refused_claim_writes_nothing".into(),
            Box::new(|| {
                let gate = SweepGate::new(10, 0);
                let mut log = Vec::new();
                for now in [20, 15, 25, 12, 30] {
                    let won = gate.try_claim(now);
                    log.push((now, won, gate.last_claim()));
                }
                let want = [
                    (20, true, 20),
                    (15, false, 20),
                    (25, false, 20),
                    (12, false, 20),
                    (30, true, 30),
                ];
                if log == want {
                    Ok(())
                } else {
                    Err(format!(
                        "(now, claimed, last claimed tick) went {log:?}, not {want:?}: only the \
                         winner may write the tick, so a caller told `false` leaves it alone \
                         and it never moves backwards (a `swap` or a `store` writes for every \
                         caller: lesson 3, compare-and-swap)"
                    ))
                }
            }),
        ),
        (
            "gate::four_racing_callers_one_winner_who_wrote_the_tick (500 races)".into(),
            Box::new(|| {
                for race in 0..500 {
                    let gate = SweepGate::new(10, 0);
                    let barrier = Barrier::new(4);
                    let won: Vec<bool> = std::thread::scope(|s| {
                        let handles: Vec<_> = (0..4u64)
                            .map(|t| {
                                let (gate, barrier) = (&gate, &barrier);
                                s.spawn(move || {
                                    barrier.wait();
                                    gate.try_claim(10 + t)
                                })
                            })
                            .collect();
                        handles.into_iter().map(join).collect()
                    });
                    let winners: Vec<u64> =
                        (0..4u64).filter(|t| won[*t as usize]).map(|t| 10 + t).collect();
                    if winners.len() != 1 {
                        return Err(format!(
                            "race {race}: the callers at {winners:?} all claimed the sweep; \
                             exactly one may (check-then-act: lesson 3)"
                        ));
                    }
                    if gate.last_claim() != winners[0] {
                        return Err(format!(
                            "race {race}: the caller at {} won, but the claimed tick is {}: a \
                             loser wrote it (only the winner's CAS may write: lesson 3)",
                            winners[0],
                            gate.last_claim()
                        ));
                    }
                }
                Ok(())
            }),
        ),
    ]
}

/// Exercise 4's lesson: `touch` shares the read lock, so it finishes while another thread
/// holds a read guard (a touch that takes the write lock waits for that guard forever).
#[cfg(feature = "ex04_rwlock")]
fn touch_under_a_read_guard() -> Result<(), String> {
    use sessionlab_exercises::ex04_rwlock::RwLockStore;
    let store = RwLockStore::new(&Config::new(TTL));
    let id = SessionId::fixed(1);
    store.insert(id, UserId(7), 0).map_err(|_| "insert into an empty store failed")?;
    let guard = store.read();
    std::thread::scope(|s| {
        let toucher = s.spawn(|| store.touch(&id, 5));
        let waited = std::time::Instant::now();
        while !toucher.is_finished() && waited.elapsed() < Duration::from_secs(2) {
            std::thread::sleep(Duration::from_millis(5));
        }
        let finished = toucher.is_finished();
        drop(guard);
        let got = join(toucher);
        if !finished {
            return Err("touch did not finish while another thread held a read guard (2 s): it \
                        takes the write lock, so every request waits for every other one. \
                        Lesson 4: with the activity in an atomic word, touch needs only the READ \
                        lock plus a CAS on that word"
                .to_owned());
        }
        if got == Some(UserId(7)) {
            Ok(())
        } else {
            Err(format!("touch of a live session gave {got:?}, not Some(UserId(7))"))
        }
    })
}

/// Exercise 5's lesson: ids spread over the shards (one shard for all is one lock again).
#[cfg(feature = "ex05_sharded")]
fn ids_spread_over_the_shards() -> Result<(), String> {
    use sessionlab_exercises::ex05_sharded::ShardedStore;
    const IDS: u64 = 4_000;
    let store = ShardedStore::new(&Config::new(TTL).with_shards(8));
    for n in 0..IDS {
        store.insert(SessionId::fixed(n), UserId(n), 0).map_err(|_| "insert failed")?;
    }
    let lens = store.shard_lens();
    let fair = IDS as usize / lens.len().max(1);
    if lens.len() < 2 || lens.iter().any(|len| *len < fair / 4) {
        return Err(format!(
            "{IDS} ids landed in the shards as {lens:?}: the store is correct but they do not \
             spread, so most requests still share one lock (lesson 5: pick the shard from the \
             id's hash, `hash % shards`)"
        ));
    }
    Ok(())
}

/// The checks of one exercise, by name (each runs in its own child).
fn checks_for(exercise: &str) -> Vec<Check> {
    use sessionlab_exercises::*;
    match exercise {
        #[cfg(feature = "ex01_mutex")]
        "ex01_mutex" => store_checks(ex01_mutex::MutexStore::new),
        #[cfg(feature = "ex03_sweep_gate")]
        "ex03_sweep_gate" => gate_checks(),
        #[cfg(feature = "ex04_rwlock")]
        "ex04_rwlock" => {
            let mut checks = store_checks(ex04_rwlock::RwLockStore::new);
            checks.insert(
                0,
                (
                    "lesson4::touch_finishes_while_another_thread_holds_a_read_guard".into(),
                    Box::new(touch_under_a_read_guard),
                ),
            );
            checks
        }
        #[cfg(feature = "ex05_sharded")]
        "ex05_sharded" => {
            let mut checks = store_checks(ex05_sharded::ShardedStore::new);
            checks.push((
                "lesson5::ids_spread_over_the_shards".into(),
                Box::new(ids_spread_over_the_shards),
            ));
            checks
        }
        #[cfg(feature = "ex06_cow")]
        "ex06_cow" => store_checks(ex06_cow::CowStore::new),
        #[cfg(feature = "ex07_find_the_bug")]
        "ex07_find_the_bug" => store_checks(ex07_find_the_bug::SuspectStore::new),
        #[cfg(feature = "ex08_lockfree_remove")]
        "ex08_lockfree_remove" => store_checks(ex08_lockfree_remove::LockFreeList::new),
        other => panic!("no real-thread grader for {other} in this build (is its feature on?)"),
    }
}

/// The hidden entry of a child process: runs the one check `CHILD_VAR` names
/// (`exercise:check`); does nothing in a normal test run.
#[test]
fn child() {
    let Ok(target) = std::env::var(CHILD_VAR) else { return };
    common::exit_when_parent_dies();
    let (exercise, name) = target.split_once(':').expect("exercise:check");
    let check = checks_for(exercise)
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("{exercise} has no check {name}"));
    child_verdict(catching(check.1));
}

/// Runs every check of `exercise` whose name `keep` accepts, each in its own child.
fn run_checks(exercise: &str, keep: impl Fn(&str) -> bool) -> Report {
    let limit = check_timeout(60);
    let mut report = Report::default();
    for (name, _) in checks_for(exercise).iter().filter(|(n, _)| keep(n)) {
        report.timed(name.clone(), || in_child(&format!("{exercise}:{name}"), limit));
    }
    report
}

fn grade(exercise: &str) {
    run_checks(exercise, |_| true).finish(exercise, "threads");
}

#[cfg(feature = "ex01_mutex")]
#[test]
fn ex01_mutex() {
    grade("ex01_mutex");
}

#[cfg(feature = "ex03_sweep_gate")]
#[test]
fn ex03_sweep_gate() {
    grade("ex03_sweep_gate");
}

#[cfg(feature = "ex04_rwlock")]
#[test]
fn ex04_rwlock() {
    grade("ex04_rwlock");
}

#[cfg(feature = "ex05_sharded")]
#[test]
fn ex05_sharded() {
    grade("ex05_sharded");
}

#[cfg(feature = "ex06_cow")]
#[test]
fn ex06_cow() {
    grade("ex06_cow");
}

/// The suspect store passes every sequential check: that is the exercise. While it is
/// unsolved, this grader asserts exactly that (the loom grader is the one that must fail it);
/// once solved, it must pass everything.
#[cfg(feature = "ex07_find_the_bug")]
#[test]
fn ex07_find_the_bug() {
    if expectation("ex07_find_the_bug") == Expect::Fail {
        let report = run_checks("ex07_find_the_bug", |name| {
            SEQUENTIAL.iter().any(|s| name == format!("conformance::{s}"))
        });
        assert_eq!(
            report.failures(),
            0,
            "the find-the-bug stub must pass every sequential check (its bug is concurrent)"
        );
        println!("ex07_find_the_bug [threads]: the stub passes the sequential checks, as it must");
        return;
    }
    grade("ex07_find_the_bug");
}

#[cfg(feature = "ex08_lockfree_remove")]
#[test]
fn ex08_lockfree_remove() {
    grade("ex08_lockfree_remove");
}

/// `exercises.json` (read by `sessionlab exercise`) lists exactly the exercises in `src/`, each
/// with a kept solution that does not carry the not-done marker. (That the committed stubs do
/// carry it is checked by `exercises/ci.sh`, not here: a student deletes it.)
#[test]
fn the_exercise_list_matches_the_files() {
    let list = include_str!("../exercises.json");
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut stubs: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .filter_map(|e| e.ok()?.file_name().into_string().ok())
        .filter(|f| f.starts_with("ex") && f.ends_with(".rs"))
        .map(|f| f.trim_end_matches(".rs").to_owned())
        .collect();
    stubs.sort();
    assert!(stubs.len() >= 8, "only {} exercises", stubs.len());
    let manifest = include_str!("../Cargo.toml");
    for stub in &stubs {
        assert!(list.contains(&format!("\"name\": \"{stub}\"")), "{stub} is not in exercises.json");
        assert!(manifest.contains(&format!("\n{stub} = []")), "{stub} has no cargo feature");
        let solution = format!("{}/solutions/{stub}.rs", env!("CARGO_MANIFEST_DIR"));
        let text = std::fs::read_to_string(&solution).unwrap_or_else(|e| panic!("{solution}: {e}"));
        assert!(!text.contains(sessionlab_exercises::NOT_DONE_MARKER), "{solution} has the marker");
    }
    assert_eq!(list.matches("\"number\":").count(), stubs.len(), "exercises.json lists others");
}
