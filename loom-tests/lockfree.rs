#![cfg(all(loom, crossbeam_loom))]
//! The lock-free store under loom, epochs included.
//!
//! Only in crossbeam's loom mode: crossbeam-epoch's atomics are loom's only with
//! `--cfg crossbeam_loom`, and a model that sees our activity words but not the list's links
//! would check nothing worth having. Run it as its own command (a second build: the cfg
//! changes every crossbeam crate):
//!
//! ```text
//! RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=2 \
//!     cargo test --release --test loom lockfree
//! ```
//!
//! Under loom the store has a single bucket (`MIN_BUCKETS` is 1), so every scenario's ids
//! share one list and race on its links, and it owns an explicit epoch collector, so each
//! execution starts with empty epochs.
//!
//! Besides the generic scenarios, one more: a logout racing a login of the *next* id in the
//! list. It is the interleaving Harris's mark exists for, and no generic scenario has it (they
//! race inserts with inserts and removes with removes or touches), so it lives here, with the
//! test that the mark-less mutant fails it.

use crate::model::run_model;
use crate::scenarios::{TTL, loom_scenarios, model_config};
use sessionlab::mutants::UnmarkedUnlinkStore;
use sessionlab::sync::{Arc, thread};
use sessionlab::{Config, LockFreeStore, SessionId, SessionStore, UserId};

loom_scenarios!(generic, |config| LockFreeStore::new(config));

/// A logout of one session racing a login of the id right after it in the list: the logout
/// finds the session, the login succeeds, and afterwards exactly the new session is there.
pub fn remove_insert_next<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model("remove_insert_next", 3, move || {
        let store = Arc::new(make(&model_config()));
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
    });
}

#[test]
fn remove_insert_next_on_lockfree() {
    remove_insert_next(|config| LockFreeStore::new(config));
}

/// Remove unlinks without marking: the login's node is linked after the node being unlinked,
/// and is lost with it.
#[test]
#[should_panic(expected = "a login next to a logout was lost")]
fn unmarked_unlink_is_caught_by_remove_insert_next() {
    remove_insert_next(|config| UnmarkedUnlinkStore::new(config));
}
