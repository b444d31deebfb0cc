//! Deliberately buggy stores ("mutants"): each is a correct design with **one** concurrency
//! bug put in, the kind people really write. They exist to test the tests: a checker that
//! passes a mutant is too weak.
//!
//! Every mutant is *sequentially correct*: a single-threaded test, or the conformance suite
//! run on one thread, passes it. Each bug needs an interleaving, and the loom suite
//! (`loom-tests/`, see its README) finds one for every mutant here; `loom-tests/mutants.rs`
//! asserts that it does. They are built on [`crate::sync`], so under `--cfg loom` the model
//! checker sees every lock and atomic they use.
//!
//! | mutant | what is wrong | loom scenario that catches it |
//! |---|---|---|
//! | [`UncheckedRemoveStore`] | remove checks under a read lock, removes under a later write lock | `remove_remove` |
//! | [`BackwardsTouchStore`] | touch does load, check, store instead of a CAS to the max | `touch_touch` |
//! | [`LoadStoreCowStore`] | copy-on-write writes do load + clone + store instead of `rcu` | `insert_distinct` |
//! | [`UncheckedSweepStore`] | sweep decides under a read lock, removes under a later write lock | `touch_sweep` |
//!
//! [`ALL`] lists them with a constructor, for suites that want to run every mutant.

pub mod backwards_touch;
pub mod load_store_cow;
pub mod unchecked_remove;
pub mod unchecked_sweep;
pub mod unmarked_unlink;

pub use backwards_touch::BackwardsTouchStore;
pub use load_store_cow::LoadStoreCowStore;
pub use unchecked_remove::UncheckedRemoveStore;
pub use unchecked_sweep::UncheckedSweepStore;
pub use unmarked_unlink::UnmarkedUnlinkStore;

use crate::store::{Config, SessionStore};

/// One deliberately buggy store: its name, its bug, and the loom scenario that catches it.
#[derive(Debug, Clone, Copy)]
pub struct Mutant {
    /// The short name, e.g. `"unchecked-remove"`.
    pub name: &'static str,
    /// What is wrong, in one line.
    pub bug: &'static str,
    /// The loom scenario (in `loom-tests/`) that catches it.
    pub caught_by: &'static str,
    /// Builds an empty store.
    pub build: fn(&Config) -> Box<dyn SessionStore>,
}

/// Every mutant.
pub const ALL: &[Mutant] = &[
    Mutant {
        name: "unchecked-remove",
        bug: "remove checks presence under a read lock, then removes under a later write lock \
              without re-checking: two concurrent removes both return Some",
        caught_by: "remove_remove",
        build: |config| Box::new(UncheckedRemoveStore::new(config)),
    },
    Mutant {
        name: "backwards-touch",
        bug: "touch loads the activity tick, checks it, then stores `now` without a CAS: a \
              concurrent later touch is overwritten and activity moves backwards",
        caught_by: "touch_touch",
        build: |config| Box::new(BackwardsTouchStore::new(config)),
    },
    Mutant {
        name: "load-store-cow",
        bug: "copy-on-write writes load, clone and store the map instead of rcu \
              (compare-and-swap): concurrent logins lose each other's sessions",
        caught_by: "insert_distinct",
        build: |config| Box::new(LoadStoreCowStore::new(config)),
    },
    Mutant {
        name: "unchecked-sweep",
        bug: "sweep collects expired ids under a read lock, then removes them under a later \
              write lock without re-checking: it removes a session that was just touched",
        caught_by: "touch_sweep",
        build: |config| Box::new(UncheckedSweepStore::new(config)),
    },
];

#[cfg(all(test, not(loom)))]
mod tests {
    use super::ALL;
    use crate::check::conformance;

    /// The promise in the module docs: every bug needs an interleaving. Each sequential
    /// conformance check passes on each mutant.
    #[test]
    fn every_mutant_is_sequentially_correct() {
        for mutant in ALL {
            let make = mutant.build;
            let results = [
                conformance::insert_then_touch(&make),
                conformance::insert_never_overwrites(&make),
                conformance::touch_absent_is_none(&make),
                conformance::expired_is_never_revived(&make),
                conformance::touch_never_moves_backwards(&make),
                conformance::remove_returns_user_once(&make),
                conformance::ids_are_reusable(&make),
                conformance::sweep_removes_exactly_the_expired(&make),
                conformance::create_gives_fresh_ids(&make),
            ];
            for result in results {
                assert_eq!(result, Ok(()), "mutant {} fails sequentially", mutant.name);
            }
        }
    }
}
