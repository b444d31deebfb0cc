//! The scenarios, written once and generic over the store.
//!
//! Each one builds a tiny store ([`model_config`]: two shards, room for four sessions), runs
//! two threads (the model's main thread and one spawned thread; three for `insert_distinct`)
//! on fixed ids, joins, and asserts the *set of allowed outcomes* of the specification
//! ([`docs::semantics`](crate::docs::semantics)), the way *Rust Atomics and Locks* ends its
//! examples. Loom runs the scenario once per interleaving it can tell apart, so an assertion
//! here holds for every one of them.
//!
//! The assertion messages are part of the kit's interface: `loom-tests/mutants.rs` expects
//! some of them by substring, so change them together.
//!
//! The list of scenarios is written once, in [`loom_scenarios!`](crate::loom_scenarios); the
//! run-time table [`ALL`] is generated from it. To check a new store, instantiate every
//! scenario with one line in a test file:
//!
//! ```ignore
//! sessionlab::loom_scenarios!(lockfree, |config| LockFreeStore::new(config));
//! ```

use super::run_model;
use crate::sync::{Arc, AtomicBool, Ordering, thread};
use crate::{Config, SessionId, SessionStore, UserId};

/// Time-to-live in every model: a session last active at `t` is expired from `t + 10` on.
pub const TTL: u64 = 10;

/// The store configuration for models: tiny, so each execution is cheap, and with two
/// shards, so the sharded store really is sharded.
pub fn model_config() -> Config {
    Config::new(TTL).with_shards(2).with_capacity(4)
}

/// Instantiates every generic loom scenario for one store as `mod $module`, one `#[test]`
/// each. Compiled only under `--cfg loom`.
///
/// `$make` builds the store from a `&Config`: a constructor path (`MutexStore::new`) or a
/// closure (`|config| LockFreeStore::new(config)`); the invoking module's imports are visible
/// to it.
///
/// The `@list` arm is **the** list of generic scenarios: the tests above and the run-time
/// table [`ALL`](crate::check::loom::scenarios::ALL) and
/// [`run_by_name`](crate::check::loom::scenarios::run_by_name) are all expanded from it.
#[macro_export]
macro_rules! loom_scenarios {
    ($module:ident, $make:expr) => {
        #[doc = concat!("Every generic loom scenario, run on `", stringify!($module), "`.")]
        mod $module {
            #[allow(unused_imports)]
            use super::*;

            $crate::loom_scenarios!(@list tests $make);
        }
    };
    (@list $($how:tt)*) => {
        $crate::loom_scenarios! { @ $($how)*;
            insert_distinct, insert_same, remove_remove, touch_remove, touch_touch,
            touch_sweep, touch_expired_sweep, insert_sweep, sweep_sweep, len_insert
        }
    };
    (@tests $make:expr; $($scenario:ident),+) => {
        $(
            #[test]
            // `|config| Store::new(config)` reads well as the one-line instantiation.
            #[allow(clippy::redundant_closure)]
            fn $scenario() {
                $crate::check::loom::scenarios::$scenario($make);
            }
        )+
    };
    (@dispatch $name:expr, $make:expr; $($scenario:ident),+) => {
        match $name {
            $(stringify!($scenario) => {
                $crate::check::loom::scenarios::$scenario($make);
                true
            })+
            _ => false,
        }
    };
    (@table; $($scenario:ident),+) => {
        &[$((
            stringify!($scenario),
            $crate::check::loom::scenarios::$scenario::<
                $crate::check::loom::scenarios::Boxed,
                $crate::check::loom::scenarios::MakeBoxed,
            > as $crate::check::loom::scenarios::BoxedScenario,
        )),+]
    };
}

/// A store behind a pointer, so one list can hold every scenario (see [`ALL`]).
pub type Boxed = Box<dyn SessionStore>;

/// Builds a [`Boxed`] store.
pub type MakeBoxed = fn(&Config) -> Boxed;

/// A generic scenario, instantiated for [`Boxed`] stores.
pub type BoxedScenario = fn(MakeBoxed);

/// Every generic scenario by name, for stores built at run time (such as the entries of
/// [`mutants::ALL`](crate::check::mutants::ALL), whose `caught_by` names one, or a grader's
/// list), expanded from the one list in [`loom_scenarios!`](crate::loom_scenarios).
pub const ALL: &[(&str, BoxedScenario)] = crate::loom_scenarios!(@list table);

/// Runs the generic scenario called `name` on stores built by `make`, for a caller that
/// picks scenarios at run time (the exercise grader runs each in a child process); `false`
/// if there is no scenario of that name.
pub fn run_by_name<S, M>(name: &str, make: M) -> bool
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    crate::loom_scenarios!(@list dispatch name, make)
}

/// `store type :: scenario`, for the model's printout.
fn label<S>(scenario: &str) -> String {
    let store = std::any::type_name::<S>().rsplit("::").next().unwrap_or("store");
    format!("{store}::{scenario}")
}

/// Runs `op` on a clone of `store` in a new (loom) thread.
fn spawn_on<S, R>(
    store: &Arc<S>,
    op: impl FnOnce(&S) -> R + Send + 'static,
) -> thread::JoinHandle<R>
where
    S: SessionStore + 'static,
    R: Send + 'static,
{
    let store = Arc::clone(store);
    thread::spawn(move || op(&store))
}

/// Three logins with distinct ids, on three threads: all succeed, and all three sessions are
/// there afterwards. Three ids on a two-shard store put two of them in one shard whatever the
/// hash does (pigeonhole), so the sharded store races within a shard too.
pub fn insert_distinct<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("insert_distinct"), 2, move || {
        let store = Arc::new(make(&model_config()));
        let ids = [1, 2, 3].map(SessionId::fixed);
        let others =
            [1, 2].map(|n| spawn_on(&store, move |s| s.insert(ids[n], UserId(n as u64), 0)));
        let mine = store.insert(ids[0], UserId(0), 0);
        let [second, third] = others.map(|other| other.join().unwrap());
        assert_eq!([mine, second, third], [Ok(()); 3], "an insert of an absent id failed");
        for (n, id) in ids.iter().enumerate() {
            let user = Some(UserId(n as u64));
            assert_eq!(store.touch(id, 1), user, "a concurrent insert was lost: {id}");
        }
        assert_eq!(store.len(), 3, "a concurrent insert was lost (len)");
    });
}

/// Two logins racing for one id: exactly one gets `Ok`, and its user is the one stored.
pub fn insert_same<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("insert_same"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        let other = spawn_on(&store, move |s| s.insert(id, UserId(2), 0));
        let mine = store.insert(id, UserId(1), 0);
        let theirs = other.join().unwrap();
        let winner = match (mine, theirs) {
            (Ok(()), Err(_)) => UserId(1),
            (Err(_), Ok(())) => UserId(2),
            outcome => panic!("exactly one insert of one id may succeed; got {outcome:?}"),
        };
        assert_eq!(store.touch(&id, 1), Some(winner), "the loser's insert overwrote the winner");
        assert_eq!(store.len(), 1);
    });
}

/// Two logouts of one session: exactly one gets `Some`.
pub fn remove_remove<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("remove_remove"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let other = spawn_on(&store, move |s| s.remove(&id));
        let mine = store.remove(&id);
        let theirs = other.join().unwrap();
        let winners = [mine, theirs].iter().filter(|r| r.is_some()).count();
        assert_eq!(winners, 1, "exactly one remove may return Some; got {mine:?} and {theirs:?}");
        assert_eq!(mine.or(theirs), Some(UserId(1)));
        assert_eq!(store.touch(&id, 1), None, "a removed session is still there");
        assert_eq!(store.len(), 0);
    });
}

/// A request and a logout of one session: afterwards it is gone; the logout always finds it;
/// the touch may succeed only if it came first, so a touch that starts after the logout has
/// returned must fail.
pub fn touch_remove<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("touch_remove"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        // Set once the remove has *returned*: real-time order, which linearizability keeps.
        let removed = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&removed);
        let other = spawn_on(&store, move |s| {
            let result = s.remove(&id);
            flag.store(true, Ordering::SeqCst);
            result
        });
        let remove_returned_before_touch = removed.load(Ordering::SeqCst);
        let touched = store.touch(&id, 5);
        let logged_out = other.join().unwrap();
        assert_eq!(logged_out, Some(UserId(1)), "the logout did not find a present session");
        assert!(
            !(remove_returned_before_touch && touched.is_some()),
            "touch succeeded after the remove had returned"
        );
        assert!(touched.is_none() || touched == Some(UserId(1)));
        assert_eq!(store.touch(&id, 6), None, "a removed session is still there");
        assert_eq!(store.len(), 0);
    });
}

/// Two requests of one session with different clocks (7 and 5): both succeed, and activity
/// ends at the later one, 7, never moving backwards.
pub fn touch_touch<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("touch_touch"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let other = spawn_on(&store, move |s| s.touch(&id, 7));
        let mine = store.touch(&id, 5);
        let theirs = other.join().unwrap();
        assert_eq!((mine, theirs), (Some(UserId(1)), Some(UserId(1))), "a live touch failed");
        // Last active at max(7, 5) = 7: live at 16, expired at 17.
        assert_eq!(store.sweep(7 + TTL - 1), 0, "activity moved backwards: swept before 7+ttl");
        assert_eq!(store.sweep(7 + TTL), 1, "activity moved past the latest touch");
    });
}

/// A request just inside the ttl (at 9, session last active at 0) against a sweep at the
/// expiry boundary (10): exactly one of them wins. Never both "the touch returned `Some`"
/// and "the sweep removed it".
pub fn touch_sweep<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("touch_sweep"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let sweeper = spawn_on(&store, |s| s.sweep(TTL));
        let touched = store.touch(&id, TTL - 1);
        let swept = sweeper.join().unwrap();
        assert!(
            !(touched.is_some() && swept == 1),
            "touch returned Some and sweep removed it (a live session was swept)"
        );
        assert!(swept <= 1);
        if touched.is_some() {
            assert_eq!(store.touch(&id, TTL + TTL - 2), Some(UserId(1)), "touch at 9 was lost");
        } else {
            assert_eq!(swept, 1, "touch of a live session failed, yet nothing removed it");
            assert_eq!(store.len(), 0);
        }
    });
}

/// A request that arrives exactly at expiry (10) against a sweep at 10: the touch always
/// fails and the sweep always removes the session. An expired session is never revived.
pub fn touch_expired_sweep<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("touch_expired_sweep"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let id = SessionId::fixed(1);
        store.insert(id, UserId(1), 0).unwrap();
        let sweeper = spawn_on(&store, |s| s.sweep(TTL));
        let touched = store.touch(&id, TTL);
        let swept = sweeper.join().unwrap();
        assert_eq!(touched, None, "an expired session was revived");
        assert_eq!(swept, 1, "a session expired throughout the sweep survived it");
        assert_eq!(store.len(), 0);
    });
}

/// A login reusing an expired, not yet swept id, against a sweep: the sweep removes exactly
/// the expired session, never the live one nor the new login; the counts add up.
pub fn insert_sweep<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("insert_sweep"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let (expired, live) = (SessionId::fixed(1), SessionId::fixed(2));
        store.insert(expired, UserId(1), 0).unwrap();
        store.insert(live, UserId(2), 5).unwrap();
        let sweeper = spawn_on(&store, |s| s.sweep(TTL));
        let login = store.insert(expired, UserId(3), TTL);
        let swept = sweeper.join().unwrap();
        assert_eq!(swept, 1, "the sweep must remove exactly the one expired session");
        assert_eq!(store.touch(&live, TTL + 1), Some(UserId(2)), "a live session was swept");
        let relogged = login.is_ok();
        let expected = relogged.then_some(UserId(3));
        assert_eq!(store.touch(&expired, TTL + 1), expected, "the new login was swept or lost");
        assert_eq!(store.len(), 2 + usize::from(relogged) - swept, "the counts do not add up");
    });
}

/// Two sweeps at once over two expired sessions and a live one: together they remove each
/// expired session exactly once, and leave the live one.
pub fn sweep_sweep<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("sweep_sweep"), 3, move || {
        let store = Arc::new(make(&model_config()));
        let live = SessionId::fixed(3);
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        store.insert(SessionId::fixed(2), UserId(2), 0).unwrap();
        store.insert(live, UserId(3), 5).unwrap();
        let other = spawn_on(&store, |s| s.sweep(TTL));
        let mine = store.sweep(TTL);
        let theirs = other.join().unwrap();
        assert_eq!(mine + theirs, 2, "the sweeps' counts do not add up: {mine} + {theirs}");
        assert_eq!(store.touch(&live, TTL + 1), Some(UserId(3)), "a live session was swept");
        assert_eq!(store.len(), 1);
    });
}

/// `len` (a read of the whole map) while a login writes it: it sees the map before or
/// after, nothing else. This is the read/write scenario.
pub fn len_insert<S, M>(make: M)
where
    S: SessionStore + 'static,
    M: Fn(&Config) -> S + Send + Sync + 'static,
{
    run_model(&label::<S>("len_insert"), 3, move || {
        let store = Arc::new(make(&model_config()));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        let other = spawn_on(&store, |s| s.insert(SessionId::fixed(2), UserId(2), 0));
        let seen = store.len();
        other.join().unwrap().unwrap();
        assert!(seen == 1 || seen == 2, "len saw {seen} sessions, neither before nor after");
        assert_eq!(store.len(), 2);
    });
}
