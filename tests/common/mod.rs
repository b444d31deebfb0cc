//! Helpers the integration tests share (each test file that needs them declares `mod common;`).
//! The checkers' own shared pieces (recording threads, panic messages) live in the library, in
//! `sessionlab::check`, where the exercise grader and the Redis tests use them too.

#![allow(dead_code)] // each test file uses its own part

use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

/// A knob a test run can turn from the environment: `$name` if set and a number, else
/// `default`.
pub fn knob(name: &str, default: u64) -> u64 {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// The lab's proptest configuration: `PROPTEST_CASES` if set, else `default` cases, and
/// failures saved in `proptest-regressions/<file>`, where they are replayed first next time.
pub fn proptest_config(default: u32, file: &'static str) -> ProptestConfig {
    let cases = u32::try_from(knob("PROPTEST_CASES", u64::from(default))).unwrap_or(u32::MAX);
    let path: &'static str = Box::leak(format!("proptest-regressions/{file}").into_boxed_str());
    ProptestConfig {
        cases,
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(path))),
        ..ProptestConfig::default()
    }
}
