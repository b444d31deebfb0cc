#![cfg(all(loom, crossbeam_loom))]
//! The lock-free store under loom, epochs included.
//!
//! Only in crossbeam's loom mode: crossbeam-epoch's atomics are loom's only with
//! `--cfg crossbeam_loom`, and a model that sees our activity words but not the list's links
//! would check nothing worth having. Run it as its own command (a second build: the cfg
//! changes every crossbeam crate):
//!
//! ```text
//! RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=3 \
//!     cargo test --release --test loom lockfree
//! ```
//!
//! Under loom the store starts with a single bucket, doubles as soon as it holds more
//! sessions than buckets (load factor 1, checked on every insert) and stops at four, and it
//! owns an explicit epoch collector, so each execution starts with empty epochs. Every
//! scenario here builds it *without* a capacity hint, so the generic scenarios' second
//! session already triggers a doubling: every one of them runs with a resize in flight.
//!
//! The generic scenarios run one by one rather than through `loom_scenarios!`, because one of
//! them, `insert_distinct`, has three threads: with each thread registering with the epoch
//! collector (and collecting on its first pin) it ran for more than 90 s at preemption bound 2
//! without finishing, past this suite's budget. Its two-thread form, [`insert_pair`], runs
//! instead: two inserts of neighbouring ids racing for one link. [`remove_insert_next`] is the
//! interleaving Harris's mark exists for, with the test that the mark-less mutant fails it.
//! [`sweep_reinsert`] is a sweep racing a login under the id it is removing: one sweep
//! removes an id at most once (before the fix, loom found the execution in which the sweep
//! removed both sessions).
//!
//! The resize scenarios (`grow_*`) pick ids by their hash under loom's fixed hasher
//! ([`in_bucket`]), so that a session lands in bucket 1, which only exists after the first
//! doubling, while an insert that triggers the doubling runs on another thread:
//! [`grow_insert_insert`], [`grow_touch`], [`grow_remove`], [`grow_sweep`] and
//! [`grow_init_race`], the last with the test that the mutant whose new buckets get their
//! sentinel by a plain store fails it. [`grow_link_sentinel`], a login through a stale bucket
//! count racing the new bucket's sentinel, takes about 70 s at bound 3 and is ignored (with a reason)
//! with the command that runs it.

use sessionlab::check::loom::run_model;
use sessionlab::check::loom::scenarios::{TTL, model_config};
use sessionlab::check::mutants::{BlindSentinelStore, UnmarkedUnlinkStore};
use sessionlab::sync::{Arc, SessionHasher, thread};
use sessionlab::{Config, LockFreeStore, SessionId, SessionStore, UserId};
use std::hash::BuildHasher;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex as StdMutex;

/// The store under test, without a capacity hint: it starts with one bucket and grows.
fn lockfree(config: &Config) -> LockFreeStore {
    LockFreeStore::new(&config.clone().with_capacity(0))
}

/// Builds a store for a scenario that is not generic over the store type.
type Make<'a> = &'a dyn Fn(&Config) -> Box<dyn SessionStore>;

/// Every two-thread generic scenario on the lock-free store, one `#[test]` each.
macro_rules! generic_scenarios {
    ($($scenario:ident),+) => {
        /// The generic scenarios (`scenarios.rs`), on [`LockFreeStore`].
        mod generic {
            $(
                #[test]
                fn $scenario() {
                    sessionlab::check::loom::scenarios::$scenario(super::lockfree);
                }
            )+
        }
    };
}

generic_scenarios!(
    insert_same,
    remove_remove,
    touch_remove,
    touch_touch,
    touch_sweep,
    touch_expired_sweep,
    insert_sweep,
    sweep_sweep,
    len_insert
);

/// Like `run_model`, but a failed assertion ends the execution normally and is raised only
/// after the model: the store's epoch handles live in loom thread-locals, which loom can only
/// drop inside the execution, so a panic unwinding out of the model would abort the process
/// instead of failing the test. Used where a failure is the expected outcome (the mutant).
fn run_model_reporting(
    name: &str,
    preemptions: usize,
    body: fn(Make<'_>),
    make: fn(&Config) -> Box<dyn SessionStore>,
) {
    silence_panics_on_this_thread();
    let failure = std::sync::Arc::new(StdMutex::new(None::<String>));
    let seen = std::sync::Arc::clone(&failure);
    run_model(name, preemptions, move || {
        // Every execution runs the whole body, failed ones included: loom replays a recorded
        // path into each execution, so skipping the body would break its exploration.
        if let Err(panic) = catch_unwind(AssertUnwindSafe(|| body(&make))) {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a non-string panic".to_owned());
            seen.lock().unwrap().get_or_insert(message);
        }
    });
    if let Some(message) = failure.lock().unwrap().take() {
        panic!("{message}");
    }
}

/// Keeps the panic hook quiet for the calling (test) thread, whose model is expected to fail
/// in thousands of executions: printing each failure took more than half the run. Panics on
/// every other thread are reported by the previous hook as before. Loom runs its threads on
/// the calling OS thread, so their panics are silenced too.
fn silence_panics_on_this_thread() {
    let quiet = std::thread::current().id();
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if std::thread::current().id() != quiet {
            previous(info);
        }
    }));
}

/// Two logins with neighbouring ids, racing for the same link of the one list: both succeed
/// and both sessions are there afterwards.
fn insert_pair(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let (a, b) = (SessionId::fixed(1), SessionId::fixed(2));
    let other = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(b, UserId(2), 0))
    };
    let mine = store.insert(a, UserId(1), 0);
    let theirs = other.join().unwrap();
    assert_eq!((mine, theirs), (Ok(()), Ok(())), "an insert of an absent id failed");
    assert_eq!(store.touch(&a, 1), Some(UserId(1)), "a concurrent insert was lost: {a}");
    assert_eq!(store.touch(&b, 1), Some(UserId(2)), "a concurrent insert was lost: {b}");
    assert_eq!(store.len(), 2, "a concurrent insert was lost (len)");
}

/// A logout of one session racing a login of the id right after it in the list: the logout
/// finds the session, the login succeeds, and afterwards exactly the new session is there.
fn remove_insert_next(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    // The login's id sorts right after the logout's (same bucket, larger split-order key), so
    // the login links its node after the logout's.
    let leaving = SessionId::fixed(1);
    let key = |id: &SessionId| (SessionHasher::default().hash_one(id) | 1 << 63).reverse_bits();
    let arriving = (2..)
        .map(SessionId::fixed)
        .find(|id| key(id) > key(&leaving) && (key(id) ^ key(&leaving)) >> 62 == 0)
        .expect("an id after the logout's in its bucket");
    store.insert(leaving, UserId(1), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(arriving, UserId(2), 0))
    };
    let logout = store.remove(&leaving);
    let login = login.join().unwrap();
    assert_eq!((logout, login), (Some(UserId(1)), Ok(())), "a logout or a login failed");
    assert_eq!(store.touch(&arriving, 1), Some(UserId(2)), "a login next to a logout was lost");
    assert_eq!(store.touch(&leaving, 1), None, "a removed session is still there");
    assert_eq!(store.len(), 1, "the counts do not add up");
    assert_eq!(store.sweep(TTL + 1), 1);
}

/// A sweep racing a login under the id of the expired session it is removing: the login
/// succeeds only once the old session is gone, and the new session, though expired at the
/// sweep's `now` too (its login says 0), came in after the sweep's instant for that id, so
/// the sweep must leave it. One sweep removes an id at most once. (Found by the
/// linearizability test: a sweep whose unlink lost a race restarted its walk, met the new
/// session at the old one's place and removed it too.)
fn sweep_reinsert(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let id = SessionId::fixed(1);
    store.insert(id, UserId(1), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(id, UserId(2), 0))
    };
    let swept = store.sweep(TTL);
    let login = login.join().unwrap();
    assert_eq!(swept, 1, "one sweep removed an id twice (or not at all)");
    let expected = usize::from(login.is_ok());
    assert_eq!(store.len(), expected, "after login {login:?} and a sweep of 1");
}

/// Runs a scenario of this file on the store under test, one `#[test]` each (attributes
/// before a name go on its test).
macro_rules! lockfree_tests {
    ($($(#[$attr:meta])* $test:ident: $scenario:ident),+ $(,)?) => {$(
        #[test]
        $(#[$attr])*
        fn $test() {
            run_model(concat!("LockFreeStore::", stringify!($scenario)), 3, || {
                $scenario(&|c| Box::new(lockfree(c)))
            });
        }
    )+};
}

lockfree_tests!(
    insert_pair_on_lockfree: insert_pair,
    remove_insert_next_on_lockfree: remove_insert_next,
    sweep_reinsert_on_lockfree: sweep_reinsert,
);

/// Remove unlinks without marking: the login's node is linked after the node being unlinked,
/// and is lost with it.
#[test]
#[should_panic(expected = "a login next to a logout was lost")]
fn unmarked_unlink_is_caught_by_remove_insert_next() {
    run_model_reporting("UnmarkedUnlinkStore::remove_insert_next", 3, remove_insert_next, |c| {
        Box::new(UnmarkedUnlinkStore::new(c))
    });
}

/// `count` distinct fixed ids, from `from` on, whose hash's two low bits (the bucket at the
/// largest loom table, four buckets) are `bucket`. Loom's hasher has fixed keys, so the
/// choice is the same in every execution and every run.
fn in_bucket(bucket: u64, from: u64, count: usize) -> Vec<SessionId> {
    (from..)
        .map(SessionId::fixed)
        .filter(|id| SessionHasher::default().hash_one(id) & 3 == bucket)
        .take(count)
        .collect()
}

/// Every session in `expected` is reachable twice over: from its bucket's sentinel (touch)
/// and from the head of the list (a sweep that removes them all walks the whole list).
fn assert_all_there(store: &dyn SessionStore, expected: &[(SessionId, UserId)], now: u64) {
    for (id, user) in expected {
        assert_eq!(store.touch(id, now), Some(*user), "a session was lost during a resize: {id}");
    }
    assert_eq!(store.len(), expected.len(), "the count does not match the sessions");
    assert_eq!(
        store.sweep(now + TTL),
        expected.len(),
        "a session was lost during a resize: reachable from its bucket but not from the head \
         of the list"
    );
}

/// Two logins into the bucket that the first doubling creates, racing each other and the
/// doubling one of them triggers: both are there afterwards.
fn grow_insert_insert(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x] = in_bucket(0, 1, 1)[..] else { unreachable!() };
    let [a, b] = in_bucket(1, 1, 2)[..] else { unreachable!() };
    store.insert(x, UserId(0), 0).unwrap();
    let other = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(b, UserId(2), 0))
    };
    let mine = store.insert(a, UserId(1), 0);
    let theirs = other.join().unwrap();
    assert_eq!((mine, theirs), (Ok(()), Ok(())), "an insert of an absent id failed");
    assert_all_there(&**store, &[(x, UserId(0)), (a, UserId(1)), (b, UserId(2))], 1);
}

/// A touch of a session in bucket 1 (which it may have to initialise) while a login
/// triggers the doubling that creates bucket 1.
fn grow_touch(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x] = in_bucket(1, 1, 1)[..] else { unreachable!() };
    let [a] = in_bucket(0, 1, 1)[..] else { unreachable!() };
    store.insert(x, UserId(0), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(a, UserId(1), 0))
    };
    let touched = store.touch(&x, 1);
    login.join().unwrap().unwrap();
    assert_eq!(touched, Some(UserId(0)), "a touch during a resize missed a live session");
    assert_all_there(&**store, &[(x, UserId(0)), (a, UserId(1))], 1);
}

/// A logout of a session in bucket 1 while a login triggers the doubling that creates it.
fn grow_remove(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x] = in_bucket(1, 1, 1)[..] else { unreachable!() };
    let [a] = in_bucket(1, 1000, 1)[..] else { unreachable!() };
    store.insert(x, UserId(0), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(a, UserId(1), 0))
    };
    let logout = store.remove(&x);
    login.join().unwrap().unwrap();
    assert_eq!(logout, Some(UserId(0)), "a logout during a resize missed its session");
    assert_eq!(store.touch(&x, 1), None, "a removed session is still there");
    assert_all_there(&**store, &[(a, UserId(1))], 1);
}

/// A sweep while a login triggers a doubling: it removes exactly the expired session, in
/// bucket 1, and not the new one.
fn grow_sweep(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x] = in_bucket(1, 1, 1)[..] else { unreachable!() };
    let [a] = in_bucket(1, 1000, 1)[..] else { unreachable!() };
    store.insert(x, UserId(0), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(a, UserId(1), TTL))
    };
    let swept = store.sweep(TTL);
    login.join().unwrap().unwrap();
    assert_eq!(swept, 1, "a sweep during a resize did not remove exactly the expired session");
    assert_eq!(store.touch(&x, TTL), None, "a swept session is still there");
    assert_all_there(&**store, &[(a, UserId(1))], TTL);
}

/// A login that read the bucket count before a doubling links its session through the old
/// bucket (the parent), while another thread, after the doubling, initialises the new bucket
/// and links its sentinel into that very link.
fn grow_link_sentinel(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x, b] = in_bucket(0, 1, 2)[..] else { unreachable!() };
    let [a, c] = in_bucket(1, 1, 2)[..] else { unreachable!() };
    store.insert(x, UserId(0), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(a, UserId(1), 0))
    };
    // The second session doubles the table; the third is the first into bucket 1.
    store.insert(b, UserId(2), 0).unwrap();
    store.insert(c, UserId(3), 0).unwrap();
    login.join().unwrap().unwrap();
    let all = [(x, UserId(0)), (a, UserId(1)), (b, UserId(2)), (c, UserId(3))];
    assert_all_there(&**store, &all, 1);
}

/// Two logins into a bucket that a doubling has just made reachable and no thread has used
/// yet: both try to initialise it (one claims its slot and links the sentinel, the other walks
/// from the parent bucket meanwhile) and the second one doubles the table again, while the
/// first may still be linking.
fn grow_init_race(make: Make<'_>) {
    let store: Arc<Box<dyn SessionStore>> = Arc::new(make(&model_config()));
    let [x, y] = in_bucket(0, 1, 2)[..] else { unreachable!() };
    let [a, c] = in_bucket(1, 1, 2)[..] else { unreachable!() };
    // Two sessions in bucket 0 double the table to two buckets; bucket 1 is still unused.
    store.insert(x, UserId(0), 0).unwrap();
    store.insert(y, UserId(1), 0).unwrap();
    let login = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.insert(a, UserId(2), 0))
    };
    let mine = store.insert(c, UserId(3), 0);
    let theirs = login.join().unwrap();
    assert_eq!((mine, theirs), (Ok(()), Ok(())), "an insert of an absent id failed");
    let all = [(x, UserId(0)), (y, UserId(1)), (a, UserId(2)), (c, UserId(3))];
    assert_all_there(&**store, &all, 1);
}

lockfree_tests!(
    grow_insert_insert_on_lockfree: grow_insert_insert,
    grow_touch_on_lockfree: grow_touch,
    grow_remove_on_lockfree: grow_remove,
    grow_sweep_on_lockfree: grow_sweep,
    grow_init_race_on_lockfree: grow_init_race,
    /// The stale-size interleaving: a login that read the bucket count before a doubling
    /// links through the parent bucket while the new bucket's sentinel goes into the same
    /// link.
    #[ignore = "145k executions, about 70 s at preemption bound 3 on the lab machine: run with \
                `-- --ignored lockfree::grow_link_sentinel` (grow_init_race covers the sentinel \
                race in CI)"]
    grow_link_sentinel_on_lockfree: grow_link_sentinel,
);

/// A new bucket's sentinel linked by a plain store: of two threads logging in to the same new
/// bucket, one claims it and links its sentinel, the other links its session through the
/// parent bucket meanwhile, into the very link the sentinel goes into, and is overwritten.
#[test]
#[should_panic(expected = "a session was lost during a resize")]
fn blind_sentinel_is_caught_by_grow_init_race() {
    run_model_reporting("BlindSentinelStore::grow_init_race", 3, grow_init_race, |c| {
        Box::new(BlindSentinelStore::new(&c.clone().with_capacity(0)))
    });
}
