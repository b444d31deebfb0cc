#![cfg(loom)]
//! The loom suite: model-checked interleavings of every store, the racy store's data races,
//! the mutants' logic races, and the sweeper gate. Run the whole suite with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom
//! ```
//!
//! and see `loom-tests/README.md` for how to read a failure, the exhaustive mode, and costs.
//!
//! Layout: [`model`] runs a model with its bounds; [`scenarios`] holds the generic scenarios
//! and the `loom_scenarios!` macro; the other modules instantiate them.

mod gate;
mod lockfree;
mod model;
mod mutants;
mod racy;
mod scenarios;
mod stores;
