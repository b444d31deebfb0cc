//! The loom kit, compiled only under `RUSTFLAGS="--cfg loom"`: the one place a loom model is
//! run ([`run_model`]), the generic scenarios every store must pass ([`scenarios`], written
//! once), and the sweep gate's scenario ([`gate`]). The lab's loom suite (`loom-tests/`) and
//! the exercise grader (`exercises/tests/loom.rs`) both use it.

pub mod gate;
mod runner;
pub mod scenarios;

pub use runner::{EXHAUSTIVE_VAR, run_model};
