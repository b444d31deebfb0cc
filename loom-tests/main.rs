//! The loom suite: model-checked interleavings of every store, the racy store's data races,
//! the mutants' logic races, and the sweeper gate. Run the whole suite with
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom
//! ```
//!
//! and see `loom-tests/README.md` for how to read a failure, the exhaustive mode, and costs.
//!
//! The kit lives in the library, as `sessionlab::check::loom` (compiled under the same cfg): the
//! model runner, the generic scenarios written once with the `loom_scenarios!` macro, and the
//! sweep gate's scenario. The modules here instantiate them.
// The crate docs come before the cfg, the one exception to "every file starts with
// `#![cfg(loom)]`": without `--cfg loom` the crate is empty, and an empty crate must still be
// documented or `missing_docs` fails clippy's `-D warnings`.
#![cfg(loom)]

mod atomics;
mod gate;
mod lockfree;
mod mutants;
mod racy;
mod stores;
