//! Shared by the Redis integration tests: finding the server, and giving each test its own
//! key prefix so runs (and tests running in parallel) never see each other's sessions.

#![allow(dead_code)] // each test file uses a different part

use sessionlab::{Config, SessionId};
use sessionlab_redis::{RedisOptions, RedisStore, Unwrapped};
use std::time::Duration;

/// The variable that names the shared test server, e.g. `redis://127.0.0.1:6390/`.
pub const URL_VAR: &str = "SESSIONLAB_REDIS_URL";

/// The server's URL, or `None` after printing why the test is skipped. CI always sets it
/// (`redis/ci.sh`, `.ci/run`); a developer without Redis gets a visible skip, not a failure.
pub fn redis_url(test: &str) -> Option<String> {
    match std::env::var(URL_VAR) {
        Ok(url) if !url.is_empty() => Some(url),
        _ => {
            eprintln!(
                "SKIPPED {test}: {URL_VAR} is unset. Start a server and set it \
                 (redis/ci.sh does both), e.g. {URL_VAR}=redis://127.0.0.1:6390/"
            );
            None
        }
    }
}

/// Returns from the test, with the skip message, when no server is configured.
#[macro_export]
macro_rules! require_redis {
    ($test:expr) => {
        match common::redis_url($test) {
            Some(url) => url,
            None => return,
        }
    };
}

/// A prefix no other test or run uses.
pub fn unique_prefix(test: &str) -> String {
    format!("sessionlab-test:{test}:{}:", SessionId::generate())
}

/// Test options: a unique prefix, and a one-minute safety margin (tests pass virtual ticks, so
/// the net must outlast the test in wall time, and leftovers still vanish soon after).
pub fn options(test: &str) -> RedisOptions {
    RedisOptions { safety_margin: Some(Duration::from_secs(60)), ..RedisOptions::default() }
        .with_prefix(unique_prefix(test))
}

/// A store on the shared server with its own prefix.
pub fn store(url: &str, test: &str, config: &Config) -> RedisStore {
    RedisStore::connect_with(url, config, options(test))
        .unwrap_or_else(|error| panic!("{URL_VAR}={url} is set but unusable: {error}"))
}

/// The same, adapted for the generic checkers.
pub fn unwrapped(url: &str, test: &str, config: &Config) -> Unwrapped<RedisStore> {
    Unwrapped(store(url, test, config))
}
