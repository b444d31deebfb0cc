//! Shared by the Redis integration tests: finding (or starting) the server, and giving each test
//! its own key prefix so runs (and tests running in parallel) never see each other's sessions.

#![allow(dead_code)] // each test file uses a different part

use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use sessionlab_redis::test_server;
use sessionlab_redis::{RedisOptions, RedisStore, Unwrapped};
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

/// The same, adapted for the generic checkers, and deleting its keys when dropped.
pub fn scoped(url: &str, test: &str, config: &Config) -> Scoped {
    Scoped(Unwrapped(store(url, test, config)))
}

/// An [`Unwrapped`] Redis store that deletes its keys when dropped. A sweep `SCAN`s the whole
/// database, not just its prefix, so every key a test leaves behind slows every later sweep
/// until the safety net removes it.
pub struct Scoped(pub Unwrapped<RedisStore>);

impl Drop for Scoped {
    fn drop(&mut self) {
        // Best effort: if the server is gone, the safety-net TTL removes the keys instead.
        let _ = self.0.0.clear();
    }
}

impl SessionStore for Scoped {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.0.insert(id, user, now)
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        self.0.touch(id, now)
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.0.remove(id)
    }
    fn sweep(&self, now: Tick) -> usize {
        self.0.sweep(now)
    }
    fn len(&self) -> usize {
        self.0.len()
    }
}
