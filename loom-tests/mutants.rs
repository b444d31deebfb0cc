#![cfg(loom)]
//! The suite tests itself: every deliberately buggy store in `sessionlab::check::mutants` must be
//! *caught*, each by the scenario its module docs name, failing with that scenario's own
//! assertion (the expected substring). If a change to a scenario makes it too weak to see a
//! bug, the matching test here fails.
//!
//! Each mutant is sequentially correct, so no single-threaded test can catch it; and none has
//! a data race (no `unsafe`), so loom's race detection cannot either. It takes the scenario's
//! assertion on the outcome, checked in every interleaving.

use sessionlab::check::loom::scenarios;
use sessionlab::check::mutants::{
    BackwardsTouchStore, LoadStoreCowStore, UncheckedRemoveStore, UncheckedSweepStore,
};

/// Check under a read lock, remove under a later write lock: both removes return `Some`.
#[test]
#[should_panic(expected = "exactly one remove may return Some")]
fn unchecked_remove_is_caught_by_remove_remove() {
    scenarios::remove_remove(UncheckedRemoveStore::new);
}

/// Load, check, store instead of CAS: a touch at 5 overwrites a touch at 7.
#[test]
#[should_panic(expected = "activity moved backwards")]
fn backwards_touch_is_caught_by_touch_touch() {
    scenarios::touch_touch(BackwardsTouchStore::new);
}

/// Copy-on-write with load + clone + store: one of two logins is lost.
#[test]
#[should_panic(expected = "a concurrent insert was lost")]
fn load_store_cow_is_caught_by_insert_distinct() {
    scenarios::insert_distinct(LoadStoreCowStore::new);
}

/// The same mutant, seen by a second scenario: its occupancy check is on a stale snapshot
/// too, so two logins with one id both succeed.
#[test]
#[should_panic(expected = "exactly one insert of one id may succeed")]
fn load_store_cow_is_caught_by_insert_same() {
    scenarios::insert_same(LoadStoreCowStore::new);
}

/// Decide under a read lock, remove under a later write lock: a just-touched session is swept.
#[test]
#[should_panic(expected = "touch returned Some and sweep removed it")]
fn unchecked_sweep_is_caught_by_touch_sweep() {
    scenarios::touch_sweep(UncheckedSweepStore::new);
}

/// Every entry of `sessionlab::check::mutants::ALL` whose `caught_by` names a generic scenario is
/// really caught by it: a mutant added to that list is checked here with no new code. (Entries
/// whose scenario is not generic, such as the lock-free store's own, are checked in their own
/// file.) Each model runs on its own OS thread, so a panic leaves no loom state behind.
#[test]
fn every_listed_mutant_is_caught_by_the_scenario_it_names() {
    let mut checked = 0;
    for mutant in sessionlab::check::mutants::ALL {
        let Some(&(_, scenario)) =
            scenarios::ALL.iter().find(|(name, _)| *name == mutant.caught_by)
        else {
            println!("{}: caught by `{}`, not a generic scenario", mutant.name, mutant.caught_by);
            continue;
        };
        let build = mutant.build;
        let outcome = std::thread::spawn(move || scenario(build)).join();
        assert!(outcome.is_err(), "mutant {} passed `{}`", mutant.name, mutant.caught_by);
        checked += 1;
    }
    assert!(checked >= 4, "only {checked} mutants were checked");
}
