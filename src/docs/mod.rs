//! The course text: prose modules with no code, so that `cargo doc --open` reads as the
//! lesson (in the manner of arc-swap's `docs` module).

pub mod atomics;
pub mod lessons;
pub mod misconceptions;
pub mod semantics;
