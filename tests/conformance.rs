//! The conformance suite on every correct store (one line each), and on the deliberately buggy
//! mutants, which it must catch: a suite that passes a mutant is too weak.

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

use sessionlab::check::conformance::{self, CheckResult};
use sessionlab::check::mutants;
use sessionlab::{
    Config, CowStore, LockFreeStore, MutexStore, RwLockStore, SessionStore, ShardedStore,
};

sessionlab::conformance_tests!(mutex, MutexStore::new);
sessionlab::conformance_tests!(rwlock, RwLockStore::new);
sessionlab::conformance_tests!(sharded, ShardedStore::new);
sessionlab::conformance_tests!(sharded_one_shard, |config: &Config| ShardedStore::new(
    &config.clone().with_shards(1)
));
sessionlab::conformance_tests!(cow, CowStore::new);
sessionlab::conformance_tests!(lockfree, LockFreeStore::new);

/// The checks that failed on stores built by `build`, retried a few times: real threads find
/// races by chance, so a mutant gets up to 20 runs of the whole suite to be caught (it
/// usually takes one; more tries cost nothing when it is caught early).
fn failed_checks(
    build: fn(&Config) -> Box<dyn SessionStore>,
    tries: usize,
) -> Vec<(&'static str, String)> {
    let mut failed = Vec::new();
    for _ in 0..tries {
        let results: Vec<(&str, CheckResult)> =
            conformance::run_all(&|config: &Config| build(config));
        failed.extend(
            results
                .into_iter()
                .filter_map(|(name, result)| result.err().map(|v| (name, v.message))),
        );
        if !failed.is_empty() {
            break;
        }
    }
    failed
}

fn mutant(name: &str) -> &'static mutants::Mutant {
    mutants::ALL.iter().find(|m| m.name == name).unwrap_or_else(|| panic!("no mutant named {name}"))
}

fn assert_caught(name: &str, expected_checks: &[&str]) {
    let failed = failed_checks(mutant(name).build, 20);
    assert!(!failed.is_empty(), "the conformance suite passed the {name} mutant: it is too weak");
    assert!(
        failed.iter().any(|(check, _)| expected_checks.contains(check)),
        "{name} was caught, but not by {expected_checks:?}: {failed:?}"
    );
    println!("{name}: caught by {failed:?}");
}

#[test]
fn catches_unchecked_remove() {
    assert_caught("unchecked-remove", &["concurrent_removes_have_one_winner"]);
}

#[test]
fn catches_backwards_touch() {
    assert_caught("backwards-touch", &["racing_touches_keep_the_latest"]);
}

#[test]
fn catches_load_store_cow() {
    assert_caught(
        "load-store-cow",
        &[
            "concurrent_inserts_lose_nothing",
            "removed_sessions_stay_removed",
            "concurrent_inserts_of_one_id_have_one_winner",
        ],
    );
}

#[test]
fn catches_unchecked_sweep() {
    assert_caught("unchecked-sweep", &["touches_racing_a_sweep_keep_sessions_alive"]);
}

#[test]
fn run_all_reports_every_check_on_a_correct_store() {
    let results = conformance::run_all(&|config: &Config| MutexStore::new(config));
    assert!(results.len() >= 16, "only {} checks", results.len());
    for (name, result) in results {
        assert!(result.is_ok(), "{name}: {result:?}");
    }
}
