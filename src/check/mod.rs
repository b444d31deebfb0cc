//! The checking kit: the specification as code, and the tools that hold every store to it.
//!
//! Nothing here is taught as a way to build a store; it is how the lab *knows* its stores (and
//! a student's) are right, and how it shows the wrong ones failing.

#[cfg(not(loom))]
pub mod conformance;
/// Recording real threads' calls and checking the history for linearizability.
pub mod history;
#[cfg(not(loom))]
pub mod isolate;
#[cfg(loom)]
pub mod loom;
/// The sequential reference model: the specification every store is compared with.
pub mod model;
/// Deliberately buggy stores, one concurrency bug each, that the checkers must catch.
pub mod mutants;
#[cfg(not(loom))]
pub mod workload;
