//! The course text: prose modules with no code, so that `cargo doc --open` reads as the
//! lesson (in the manner of arc-swap's `docs` module).
//!
//! * [`misconceptions`]: the Go lesson's claims, and what the runtime, the race detector, loom
//!   and this crate's tests say instead.
//! * [`lessons`]: the order to take the lab in, and where each lesson's code, tests and
//!   notebook live.

pub mod atomics;
pub mod lessons;
pub mod misconceptions;
