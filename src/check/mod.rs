//! The checking kit: the specification as code, and the tools that hold every store to it.
//!
//! Nothing here is taught as a way to build a store; it is how the lab *knows* its stores (and
//! a student's) are right, and how it shows the wrong ones failing. The same kit grades the
//! course's exercises and the Redis store.
//!
//! | what | module | how sure |
//! |---|---|---|
//! | the specification as plain code | [`model`] | the reference |
//! | every rule, on one thread and on real threads | [`conformance`] | catches what a run happens to show |
//! | random real-thread histories, checked for linearizability | [`history`] | the same, far more often |
//! | the lesson's web workload, every answer checked | [`workload`] | the same, under load |
//! | tiny scenarios, every interleaving | `loom` (under `--cfg loom`) | exhaustive within the bound |
//! | crash-prone runs in a child process | [`isolate`] | reports a crash instead of suffering it |
//! | stores with one bug each, which the above must catch | [`mutants`] | tests the tests |

#[cfg(not(loom))]
pub mod conformance;
pub mod history;
#[cfg(not(loom))]
pub mod isolate;
#[cfg(loom)]
pub mod loom;
pub mod model;
pub mod mutants;
#[cfg(not(loom))]
pub mod workload;

/// What a caught panic said: its message if it was a string, else a placeholder. For the
/// checkers and graders that report a panicking store instead of dying with it.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a non-string panic".to_owned())
}
