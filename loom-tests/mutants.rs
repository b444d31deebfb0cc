#![cfg(loom)]
//! The suite tests itself: every deliberately buggy store in `sessionlab::mutants` must be
//! *caught*, each by the scenario its module docs name, failing with that scenario's own
//! assertion (the expected substring). If a change to a scenario makes it too weak to see a
//! bug, the matching test here fails.
//!
//! Each mutant is sequentially correct, so no single-threaded test can catch it; and none has
//! a data race (no `unsafe`), so loom's race detection cannot either. It takes the scenario's
//! assertion on the outcome, checked in every interleaving.

use crate::scenarios;
use sessionlab::mutants::{
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

/// Every mutant in `sessionlab::mutants::ALL` has a test above (a new mutant needs one).
#[test]
fn every_mutant_has_a_catching_test() {
    let tested = ["unchecked-remove", "backwards-touch", "load-store-cow", "unchecked-sweep"];
    for mutant in sessionlab::mutants::ALL {
        assert!(tested.contains(&mutant.name), "mutant {} has no loom test", mutant.name);
    }
}
