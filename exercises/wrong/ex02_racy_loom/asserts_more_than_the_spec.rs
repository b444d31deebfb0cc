// WRONG: the scenario asserts both logouts find the session, which a correct store never does.
// expect: the scenario passes on a correct store
//! # Exercise 2: make the racy store fail under loom, and read the report
//!
//! The lesson's store is a plain map shared by every handler, with no lock: in Rust it is
//! [`sessionlab::RacyStore`], which needs `unsafe impl Sync` just to compile. Its sequential
//! behaviour is perfect, so no single-threaded test finds anything wrong with it.
//!
//! Write `scenario`: *one execution* of a two-thread scenario (the grader runs it under loom's
//! model checker, once per interleaving). Spawn one thread with `sessionlab::sync::thread`, do
//! one store call in each thread, join, and assert what the specification allows. Then run
//! the grader, read loom's report, and answer `what_loom_reported`.
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **A scenario with no concurrency** (join before your own call): loom finds no race.
//! - **A scenario that asserts more than the spec** (both logouts find the session): it then
//!   fails on the correct `MutexStore` too.
//! - **Not reading the report** (answering a read/write race, or "nothing found"): the grader
//!   prints loom's report whenever the scenario runs; your answer must match it.
//!
//! Grading (`cargo run -- exercise check 2`, loom only): under loom your scenario must make
//! the racy store fail with a *causality violation* (loom's name for a data race), the kind
//! you name in `what_loom_reported`; and it must pass on the correct `MutexStore`, so it
//! asserts only what the specification promises.

use sessionlab::sync::{Arc, thread};
use sessionlab::{SessionId, SessionStore, UserId};

/// What loom can report about a scenario.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LoomReport {
    /// "Causality violation: Concurrent write accesses to `UnsafeCell`": two writes, with no
    /// happens-before between them.
    ConcurrentWrites,
    /// "Causality violation: Concurrent read and write accesses": a read racing a write.
    ConcurrentReadAndWrite,
    /// "deadlock; threads = ...": every thread waits for another.
    Deadlock,
    /// Every interleaving passed.
    NothingFound,
}

/// One execution of a two-thread scenario on `store`.
///
/// Two logouts of one session: "deleting is different from writing" says this is safe. It is
/// not: `HashMap::remove` writes the table, so two of them race.
pub fn scenario<S: SessionStore + 'static>(store: Arc<S>) {
    let id = SessionId::fixed(1);
    store.insert(id, UserId(1), 0).expect("the store starts empty");
    let other = {
        let store = Arc::clone(&store);
        thread::spawn(move || store.remove(&id))
    };
    let mine = store.remove(&id);
    let theirs = other.join().expect("the other thread panicked");
    let winners = usize::from(mine.is_some()) + usize::from(theirs.is_some());
    assert_eq!(winners, 2, "both logouts find the session");
}

/// What loom reported when your scenario ran on the racy store.
pub fn what_loom_reported() -> LoomReport {
    LoomReport::ConcurrentWrites
}
