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
//! Under loom the store has a single bucket (`MIN_BUCKETS` is 1), so every scenario's ids
//! share one list and race on its links, and it owns an explicit epoch collector, so each
//! execution starts with empty epochs.
//!
//! The generic scenarios run one by one rather than through `loom_scenarios!`, because one of
//! them, `insert_distinct`, has three threads: with each thread registering with the epoch
//! collector (and collecting on its first pin) it ran for more than 90 s at preemption bound 2
//! without finishing, past this suite's budget. Its two-thread form, [`insert_pair`], runs
//! instead: two inserts of neighbouring ids racing for one link. One more scenario,
//! [`remove_insert_next`], is the interleaving Harris's mark exists for, with the test that
//! the mark-less mutant fails it.

use sessionlab::check::loom::run_model;
use sessionlab::check::loom::scenarios::{TTL, model_config};
use sessionlab::check::mutants::UnmarkedUnlinkStore;
use sessionlab::sync::{Arc, thread};
use sessionlab::{Config, LockFreeStore, SessionId, SessionStore, UserId};
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Mutex as StdMutex;

/// The store under test.
fn lockfree(config: &Config) -> LockFreeStore {
    LockFreeStore::new(config)
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
    // fixed(1) < fixed(2): in a sorted list the login links its node after the logout's.
    let (leaving, arriving) = (SessionId::fixed(1), SessionId::fixed(2));
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

#[test]
fn insert_pair_on_lockfree() {
    run_model("LockFreeStore::insert_pair", 3, || insert_pair(&|c| Box::new(lockfree(c))));
}

#[test]
fn remove_insert_next_on_lockfree() {
    run_model("LockFreeStore::remove_insert_next", 3, || {
        remove_insert_next(&|c| Box::new(lockfree(c)))
    });
}

/// Remove unlinks without marking: the login's node is linked after the node being unlinked,
/// and is lost with it.
#[test]
#[should_panic(expected = "a login next to a logout was lost")]
fn unmarked_unlink_is_caught_by_remove_insert_next() {
    run_model_reporting("UnmarkedUnlinkStore::remove_insert_next", 3, remove_insert_next, |c| {
        Box::new(UnmarkedUnlinkStore::new(c))
    });
}
