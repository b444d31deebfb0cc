//! Shared by the Redis integration tests: finding (or starting) the server, and giving each test
//! its own key prefix so runs (and tests running in parallel) never see each other's sessions.

#![allow(dead_code)] // each test file uses a different part

use sessionlab::{Config, SessionId};
use sessionlab_redis::test_server;
use sessionlab_redis::{RedisOptions, RedisStore, Unwrapped};
use std::sync::Mutex;
use std::time::Duration;

use sessionlab_redis::test_server::URL_VAR;

/// The shared server's URL, or `None` after printing how to install Redis: tests skip only
/// where `redis-server` is not installed.
pub fn redis_url(test: &str) -> Option<String> {
    test_server::shared_url(test)
}

/// Returns from the test, saying why, when Redis is not installed.
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

/// The stores a test makes for the generic checkers, and their keys deleted at the end: the
/// checkers drop each store themselves, so the deleting waits for this guard instead.
pub struct Scoped {
    url: String,
    made: Mutex<Vec<RedisOptions>>,
}

impl Scoped {
    /// Stores on the server at `url`.
    pub fn new(url: &str) -> Self {
        Self { url: url.to_owned(), made: Mutex::new(Vec::new()) }
    }

    /// A store with its own prefix, adapted for the generic checkers.
    pub fn store(&self, test: &str, config: &Config) -> Unwrapped<RedisStore> {
        let options = options(test);
        self.made.lock().expect("not poisoned").push(options.clone());
        Unwrapped(
            RedisStore::connect_with(&self.url, config, options)
                .unwrap_or_else(|error| panic!("{} is unusable: {error}", self.url)),
        )
    }
}

impl Drop for Scoped {
    fn drop(&mut self) {
        // Best effort: if the server is gone, the safety-net TTL (where the ttl allows one)
        // removes the keys instead.
        let made = std::mem::take(self.made.get_mut().unwrap_or_else(|e| e.into_inner()));
        for options in made {
            if let Ok(store) = RedisStore::connect_with(&self.url, &Config::new(1), options) {
                let _ = store.clear();
            }
        }
    }
}
