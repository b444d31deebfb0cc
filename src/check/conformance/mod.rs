//! The conformance suite: one generic set of checks that every store must pass.
//!
//! Each check builds fresh stores with the factory it is given, so the same suite grades the
//! lab's own stores, the deliberately buggy [`mutants`](crate::check::mutants), and a student's store
//! in the course exercises. The sequential checks walk through every rule of the
//! specification ([`docs::semantics`](crate::docs::semantics)); the concurrent checks race real threads on the rules
//! that only concurrency can break. Real threads find races by chance, so the concurrent
//! checks repeat their scenario many times; the loom scenarios (`check::loom`, run by `loom-tests/`)
//! are the exhaustive counterpart for small scenarios.
//!
//! Use it from a test file with one line per store:
//!
//! ```
//! # use sessionlab::MutexStore;
//! sessionlab::conformance_tests!(mutex, |config| MutexStore::new(config));
//! ```
//!
//! or programmatically with [`run_all`].
//!
//! The checks live in [`sequential`] and [`concurrent`], and are all re-exported here; the
//! list of checks is written once, in the macro behind [`conformance_tests!`](crate::conformance_tests)
//! and [`run_all`].

pub mod concurrent;
pub mod memory;
pub mod sequential;

pub use concurrent::*;
pub use sequential::*;

use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, SessionStore};
use std::fmt;

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
use ensure;

/// Time-to-live of the stores the checks build.
const TTL: u64 = 100;

fn user(n: u64) -> UserId {
    UserId(n)
}

fn id(n: u64) -> SessionId {
    SessionId::fixed(n)
}

fn violation(check: &'static str, message: &str) -> Violation {
    Violation { check, message: message.to_owned() }
}

/// Gives a closure the right signature for the checks (`for<'a> Fn(&'a Config) -> S`).
pub fn factory<S: SessionStore, F: Fn(&Config) -> S>(make: F) -> F {
    make
}

/// The list of checks, in one place, and what to do with it: `@tests` expands to one
/// `#[test]` per check, `@run_all` to a `Vec` of every check's result, `@run_sequential` to
/// the sequential checks' results.
#[doc(hidden)]
#[macro_export]
macro_rules! __conformance_checks {
    ($mode:ident $make:expr) => {
        $crate::__conformance_checks! { @$mode $make;
            sequential: [
                insert_then_touch,
                insert_never_overwrites,
                touch_absent_is_none,
                expired_is_never_revived,
                touch_never_moves_backwards,
                remove_returns_user_once,
                ids_are_reusable,
                sweep_removes_exactly_the_expired,
                create_gives_fresh_ids
            ],
            concurrent: [
                concurrent_inserts_lose_nothing,
                concurrent_inserts_of_one_id_have_one_winner,
                concurrent_removes_have_one_winner,
                touches_racing_a_sweep_keep_sessions_alive,
                racing_touches_keep_the_latest,
                removed_sessions_stay_removed,
                session_workload_is_clean
            ]
        }
    };
    (@tests $make:expr; sequential: [$($s:ident),*], concurrent: [$($c:ident),*]) => {$(
        #[test]
        fn $s() {
            let make = $crate::check::conformance::factory($make);
            if let Err(violation) = $crate::check::conformance::$s(&make) {
                panic!("{violation}");
            }
        }
    )* $(
        #[test]
        fn $c() {
            let make = $crate::check::conformance::factory($make);
            if let Err(violation) = $crate::check::conformance::$c(&make) {
                panic!("{violation}");
            }
        }
    )*};
    (@run_all $make:expr; sequential: [$($s:ident),*], concurrent: [$($c:ident),*]) => {
        vec![$((
            stringify!($s),
            $crate::check::conformance::catch_panic(stringify!($s), || $crate::check::conformance::$s($make)),
        ),)* $((
            stringify!($c),
            $crate::check::conformance::catch_panic(stringify!($c), || $crate::check::conformance::$c($make)),
        )),*]
    };
    (@run_sequential $make:expr; sequential: [$($s:ident),*], concurrent: [$($c:ident),*]) => {
        vec![$((
            stringify!($s),
            $crate::check::conformance::catch_panic(stringify!($s), || $crate::check::conformance::$s($make)),
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
            message: format!("the store panicked: {}", crate::check::panic_message(&*panic)),
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

/// Runs only the sequential checks (a single-threaded store, such as a mutant that needs an
/// interleaving to fail, must pass all of them).
pub fn run_sequential<S: SessionStore + 'static>(
    make: &dyn Fn(&Config) -> S,
) -> Vec<(&'static str, CheckResult)> {
    crate::__conformance_checks!(run_sequential make)
}
