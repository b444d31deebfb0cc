//! Deliberately buggy stores ("mutants"): each is a correct design with **one** concurrency
//! bug put in, the kind people really write. They exist to test the tests: a checker that
//! passes a mutant is too weak.
//!
//! Each one wraps the correct store it breaks and overrides only the method it breaks, so
//! the bug is the whole difference, and a reader sees it in one place.
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
//! | [`UnmarkedUnlinkStore`] | lock-free remove unlinks a node without marking it first | `remove_insert_next` (`loom-tests/lockfree.rs`, needs `--cfg crossbeam_loom`) |
//! | [`BlindSentinelStore`] | lock-free resize links a new bucket's sentinel with a store, not a CAS | `grow_init_race` (`loom-tests/lockfree.rs`, needs `--cfg crossbeam_loom`) |
//!
//! [`ALL`] lists them with a constructor, for suites that want to run every mutant.

/// Declares a mutant: a struct that wraps the correct store it breaks (in its field `store`),
/// and its `new(config)`. Each mutant file then implements only the method it breaks, and
/// forwards the rest with [`forward_to_store!`](crate::store::forward_to_store).
macro_rules! mutant_of {
    ($(#[$doc:meta])* $name:ident wraps $inner:ident) => {
        $(#[$doc])*
        pub struct $name {
            store: $inner,
        }

        impl $name {
            /// An empty store built from `config`.
            pub fn new(config: &Config) -> Self {
                Self { store: $inner::new(config) }
            }
        }
    };
}

pub mod backwards_touch;
pub mod blind_sentinel;
pub mod load_store_cow;
pub mod unchecked_remove;
pub mod unchecked_sweep;
pub mod unmarked_unlink;

pub use backwards_touch::BackwardsTouchStore;
pub use blind_sentinel::BlindSentinelStore;
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
    /// The loom scenario that catches it: a generic one (`check::loom::scenarios`, compiled
    /// under `--cfg loom`) or, for the lock-free store, one of `loom-tests/lockfree.rs`.
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
    Mutant {
        name: "unmarked-unlink",
        bug: "lock-free remove CASes the predecessor's link past the node without marking the \
              node's own link first: an insert linked after it is lost",
        caught_by: "remove_insert_next",
        build: |config| Box::new(UnmarkedUnlinkStore::new(config)),
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
            for (check, result) in conformance::run_sequential(&mutant.build) {
                assert_eq!(result, Ok(()), "mutant {} fails {check} sequentially", mutant.name);
            }
        }
    }
}
