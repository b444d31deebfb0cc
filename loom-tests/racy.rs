#![cfg(loom)]
//! The lesson's racy store fails, and these tests say exactly how: loom reports a causality
//! violation on the store's `UnsafeCell` (two accesses, at least one a write, with no
//! happens-before between them), which is a data race, which is undefined behaviour.
//!
//! The expected strings are loom's own messages (loom 0.7, `src/rt/cell.rs`). A write racing a
//! write reads "Concurrent write accesses to `UnsafeCell`"; a read racing a write reads
//! "Concurrent read and write accesses", with " to `UnsafeCell`" added when the write is the
//! later access. `README.md` shows a captured report and how to read it.

use sessionlab::check::loom::scenarios;
use sessionlab::{Config, RacyStore};

/// Builds the racy store for a model.
fn racy(config: &Config) -> RacyStore {
    // SAFETY: only ever called inside a loom model, where every access to the store's cell is
    // checked before it is made: the first racing access panics with a causality violation
    // instead of running (`RacyStore::new`'s contract).
    unsafe { RacyStore::new(config) }
}

/// Two logins at once: write/write.
#[test]
#[should_panic(expected = "Causality violation: Concurrent write accesses to `UnsafeCell`.")]
fn insert_distinct() {
    scenarios::insert_distinct(racy);
}

/// Two logouts at once: "deleting is not writing" is false; a delete is a write.
#[test]
#[should_panic(expected = "Causality violation: Concurrent write accesses to `UnsafeCell`.")]
fn remove_remove() {
    scenarios::remove_remove(racy);
}

/// The background sweep against a request: the lesson's `go cleanSessions()`.
#[test]
#[should_panic(expected = "Causality violation: Concurrent write accesses to `UnsafeCell`.")]
fn touch_sweep() {
    scenarios::touch_sweep(racy);
}

/// `len` reading the map while a login writes it: read/write.
#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn len_insert() {
    scenarios::len_insert(racy);
}
