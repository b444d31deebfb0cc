//! The `sessionlab` command line: the lab's demo, and the entry points later lessons add.
//!
//! `cargo run --release` with no arguments runs the main demo: every store under the same
//! concurrent session workload, with the racy one in a child process.

#[cfg(not(loom))]
mod cli;

#[cfg(not(loom))]
fn main() -> std::process::ExitCode {
    cli::main()
}

/// Under `--cfg loom` only the loom tests are meaningful; the binary is built (cargo builds
/// binaries for integration tests) but has nothing to do.
#[cfg(loom)]
fn main() {
    eprintln!("sessionlab was built with --cfg loom; run the loom tests instead (see README)");
}
