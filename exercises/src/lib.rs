//! # The sessionlab course
//!
//! Eight exercises, each a small file with a `TODO`, a hint and visible tests, graded by the
//! lab's own public checkers (the conformance suite, the linearizability checker, the loom
//! scenarios). Start with `cargo run -- exercise list`; read `exercises/README.md`.
//!
//! Each module below is a stub in `exercises/src/`. With the `solutions` feature the same module
//! is compiled from `exercises/solutions/` instead, so the graders (in `tests/`) are written
//! once and run on either. A stub that still says `I AM NOT DONE` is *expected to fail* its
//! grader (so `cargo test` stays green while you work, and a grader that passes an unsolved
//! stub is caught as vacuous); delete that line when you think you are done, and the same
//! tests then require it to pass.
//!
//! Every exercise imports its primitives from `sessionlab::sync`, so it also builds under
//! `RUSTFLAGS="--cfg loom"`, where the loom graders check it.

// A stub's `todo!()` bodies leave arguments, imports and helpers unused until it is solved.
#![cfg_attr(not(feature = "solutions"), allow(unused_variables, unused_imports, dead_code))]

/// Exercise 1: make the racy store fail under loom, and read the report.
#[cfg_attr(feature = "solutions", path = "../solutions/ex01_racy_loom.rs")]
pub mod ex01_racy_loom;

/// Exercise 2: a `Mutex` store.
#[cfg_attr(feature = "solutions", path = "../solutions/ex02_mutex.rs")]
pub mod ex02_mutex;

/// Exercise 3: an `RwLock` store whose `touch` is a compare-and-swap under the read lock.
#[cfg_attr(feature = "solutions", path = "../solutions/ex03_rwlock.rs")]
pub mod ex03_rwlock;

/// Exercise 4: a sharded store.
#[cfg_attr(feature = "solutions", path = "../solutions/ex04_sharded.rs")]
pub mod ex04_sharded;

/// Exercise 5: a copy-on-write store: `rcu` writes and the tombstone sweep.
#[cfg_attr(feature = "solutions", path = "../solutions/ex05_cow.rs")]
pub mod ex05_cow;

/// Exercise 6: the single-flight sweep gate (the lesson's `dbSessionsCleaned`).
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_sweep_gate.rs")]
pub mod ex06_sweep_gate;

/// Exercise 7: find the bug in a store that passes every sequential test.
#[cfg_attr(feature = "solutions", path = "../solutions/ex07_find_the_bug.rs")]
pub mod ex07_find_the_bug;

/// Exercise 8 (advanced): the lock-free list's `remove`.
#[cfg_attr(feature = "solutions", path = "../solutions/ex08_lockfree_remove.rs")]
pub mod ex08_lockfree_remove;

/// The line a stub carries until its student says it is done (the rustlings convention).
pub const NOT_DONE_MARKER: &str = concat!("I AM ", "NOT DONE");
