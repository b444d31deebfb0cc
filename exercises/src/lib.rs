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
//! Each exercise is behind a cargo feature of its own name (all on by default), so the grader
//! builds one exercise at a time (`--no-default-features --features ex04_rwlock`): a
//! half-written file never fails another exercise's check.
//!
//! Every exercise imports its primitives from `sessionlab::sync`, so it also builds under
//! `RUSTFLAGS="--cfg loom"`, where the loom graders check it.

// A stub's `todo!()` bodies leave arguments, imports and helpers unused until it is solved.
#![cfg_attr(not(feature = "solutions"), allow(unused_variables, unused_imports, dead_code))]

/// Exercise 1 (after lesson 1): a `Mutex` store.
#[cfg(feature = "ex01_mutex")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex01_mutex.rs")]
pub mod ex01_mutex;

/// Exercise 2 (after lesson 2): make the racy store fail under loom, and read the report.
#[cfg(feature = "ex02_racy_loom")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex02_racy_loom.rs")]
pub mod ex02_racy_loom;

/// Exercise 3 (after lesson 3): the single-flight sweep gate (the lesson's `dbSessionsCleaned`).
#[cfg(feature = "ex03_sweep_gate")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex03_sweep_gate.rs")]
pub mod ex03_sweep_gate;

/// Exercise 4 (after lesson 4): an `RwLock` store whose `touch` is a compare-and-swap under the
/// read lock.
#[cfg(feature = "ex04_rwlock")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex04_rwlock.rs")]
pub mod ex04_rwlock;

/// Exercise 5 (after lesson 5): a sharded store.
#[cfg(feature = "ex05_sharded")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex05_sharded.rs")]
pub mod ex05_sharded;

/// Exercise 6 (after lesson 6): a copy-on-write store: `rcu` writes and the tombstone sweep.
#[cfg(feature = "ex06_cow")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex06_cow.rs")]
pub mod ex06_cow;

/// Exercise 7 (capstone of lessons 2-6): find the bug in a store that passes every sequential
/// test.
#[cfg(feature = "ex07_find_the_bug")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex07_find_the_bug.rs")]
pub mod ex07_find_the_bug;

/// Exercise 8 (advanced, after lesson 7): the lock-free list's `remove`.
#[cfg(feature = "ex08_lockfree_remove")]
#[cfg_attr(feature = "solutions", path = "../solutions/ex08_lockfree_remove.rs")]
pub mod ex08_lockfree_remove;

/// The line a stub carries until its student says it is done (the rustlings convention).
pub const NOT_DONE_MARKER: &str = concat!("I AM ", "NOT DONE");
