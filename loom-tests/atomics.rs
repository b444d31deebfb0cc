#![cfg(loom)]
//! The atomics lesson's claims (`sessionlab::docs::atomics`, notebook 03), each as a loom model:
//!
//! * one word, one CAS: of two compare-and-swaps from the same expected value exactly one
//!   wins, even with `Relaxed` (the activity word and the sweep gate rely on nothing more);
//! * loom's `compare_exchange_weak` never fails spuriously (so loom cannot test a weak CAS's
//!   retry path; the loop must be right by reading);
//! * message passing: data written, then a flag raised. With `Relaxed` on the flag the reader
//!   can see the flag and still read the old data (an atomic) or race on it (an `UnsafeCell`,
//!   which is how a node is published); with `Release`/`Acquire` it cannot;
//! * epoch pinning is a store followed by a load of *another* location (store buffering):
//!   `Release`/`Acquire` allow both threads to miss each other's store, a `SeqCst` fence
//!   between the store and the load does not. (Loom treats `SeqCst` *accesses* as `AcqRel`,
//!   per its README, but models `fence(SeqCst)`, which is what crossbeam-epoch uses off x86.)

use loom::cell::UnsafeCell;
use loom::sync::Arc;
use loom::sync::atomic::{AtomicBool, AtomicUsize, Ordering, fence};
use loom::thread;
use sessionlab::check::loom::run_model;

/// Two threads CAS the same word from 0: exactly one succeeds, whatever the ordering.
#[test]
fn relaxed_cas_picks_one_winner() {
    run_model("atomics::relaxed_cas_picks_one_winner", 3, || {
        let word = Arc::new(AtomicUsize::new(0));
        let other = {
            let word = Arc::clone(&word);
            thread::spawn(move || word.compare_exchange(0, 2, Ordering::Relaxed, Ordering::Relaxed))
        };
        let mine = word.compare_exchange(0, 1, Ordering::Relaxed, Ordering::Relaxed);
        let theirs = other.join().unwrap();
        assert!(mine.is_ok() != theirs.is_ok(), "exactly one CAS must win: {mine:?} {theirs:?}");
        let winner = if mine.is_ok() { 1 } else { 2 };
        assert_eq!(word.load(Ordering::Relaxed), winner, "the word holds the winner's value");
    });
}

/// Loom's weak CAS is its strong CAS: uncontended, it succeeds first time in every execution.
/// If a loom release starts modelling spurious failure, this test fails and the lesson's
/// sentence "loom never shows a spurious failure" must change.
#[test]
fn weak_cas_never_fails_spuriously_under_loom() {
    run_model("atomics::weak_cas_never_fails_spuriously_under_loom", 3, || {
        let word = AtomicUsize::new(5);
        let result = word.compare_exchange_weak(5, 6, Ordering::Relaxed, Ordering::Relaxed);
        assert_eq!(result, Ok(5), "an uncontended weak CAS failed under loom");
    });
}

/// The message-passing pattern with an atomic payload: write the data, raise the flag; the
/// reader checks the flag, then reads the data. Returns what the reader saw, if the flag.
fn message_passing(flag_store: Ordering, flag_load: Ordering) {
    let data = Arc::new(AtomicUsize::new(0));
    let ready = Arc::new(AtomicBool::new(false));
    let writer = {
        let (data, ready) = (Arc::clone(&data), Arc::clone(&ready));
        thread::spawn(move || {
            data.store(42, Ordering::Relaxed);
            ready.store(true, flag_store);
        })
    };
    if ready.load(flag_load) {
        assert_eq!(data.load(Ordering::Relaxed), 42, "saw the flag but not the data");
    }
    writer.join().unwrap();
}

/// Release on the flag's store, Acquire on its load: everything written before the store is
/// visible after a load that sees it.
#[test]
fn message_passing_release_acquire_delivers_the_data() {
    run_model("atomics::message_passing_release_acquire", 3, || {
        message_passing(Ordering::Release, Ordering::Acquire);
    });
}

/// Relaxed on the flag: loom finds an execution where the reader sees `ready == true` and
/// still reads `data == 0`.
#[test]
#[should_panic(expected = "saw the flag but not the data")]
fn message_passing_relaxed_can_lose_the_data() {
    run_model("atomics::message_passing_relaxed", 3, || {
        message_passing(Ordering::Relaxed, Ordering::Relaxed);
    });
}

/// Publishing a node: its contents are plain memory (an `UnsafeCell`), written before the
/// pointer (here: a flag) is published. Reading them after a `Relaxed` flag is a data race.
fn publish_node(flag_store: Ordering, flag_load: Ordering) {
    let node = Arc::new(UnsafeCell::new(0usize));
    let published = Arc::new(AtomicBool::new(false));
    let writer = {
        let (node, published) = (Arc::clone(&node), Arc::clone(&published));
        thread::spawn(move || {
            // SAFETY: nothing reads the node before `published` says so; loom checks the claim.
            node.with_mut(|p| unsafe { *p = 42 });
            published.store(true, flag_store);
        })
    };
    if published.load(flag_load) {
        // SAFETY: as above; with Relaxed this is exactly the race loom reports.
        let value = node.with(|p| unsafe { *p });
        assert_eq!(value, 42);
    }
    writer.join().unwrap();
}

#[test]
fn publish_node_release_acquire_is_race_free() {
    run_model("atomics::publish_node_release_acquire", 3, || {
        publish_node(Ordering::Release, Ordering::Acquire);
    });
}

#[test]
#[should_panic(expected = "Causality violation: Concurrent read and write accesses")]
fn publish_node_relaxed_is_a_data_race() {
    run_model("atomics::publish_node_relaxed", 3, || {
        publish_node(Ordering::Relaxed, Ordering::Relaxed);
    });
}

/// Epoch pinning, reduced to its two words. The reader pins (stores its epoch), then loads the
/// list's link. The remover unlinks the node (stores the link), then reads the reader's epoch
/// to decide whether the node may be freed. Safe means: the reader saw the unlink, or the
/// remover saw the pin. `fence` is `None` for Release/Acquire accesses and no fence.
fn pin_and_unlink(fence_between: bool) {
    const LINKED: usize = 1;
    const UNLINKED: usize = 0;
    let pinned = Arc::new(AtomicBool::new(false));
    let link = Arc::new(AtomicUsize::new(LINKED));
    let (store, load) = if fence_between {
        (Ordering::Relaxed, Ordering::Relaxed)
    } else {
        (Ordering::Release, Ordering::Acquire)
    };
    let remover = {
        let (pinned, link) = (Arc::clone(&pinned), Arc::clone(&link));
        thread::spawn(move || {
            link.store(UNLINKED, store);
            if fence_between {
                fence(Ordering::SeqCst);
            }
            pinned.load(load) // true: the remover defers the free
        })
    };
    pinned.store(true, store);
    if fence_between {
        fence(Ordering::SeqCst);
    }
    let reader_sees_node = link.load(load) == LINKED;
    let remover_defers = remover.join().unwrap();
    assert!(
        !reader_sees_node || remover_defers,
        "the remover freed a node the pinned reader still reaches"
    );
}

/// crossbeam-epoch's pin off x86: a `Relaxed` store of the epoch, then `fence(SeqCst)`.
#[test]
fn pin_with_seqcst_fence_is_safe() {
    run_model("atomics::pin_with_seqcst_fence", 3, || pin_and_unlink(true));
}

/// Release/Acquire cannot order a store before a later load of another word: both threads
/// can miss each other, and the node is freed under the reader.
#[test]
#[should_panic(expected = "the remover freed a node the pinned reader still reaches")]
fn pin_with_release_acquire_is_unsafe() {
    run_model("atomics::pin_with_release_acquire", 3, || pin_and_unlink(false));
}
