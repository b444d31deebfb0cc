//! Shared by the Redis integration tests: finding (or starting) the server, and giving each test
//! its own key prefix so runs (and tests running in parallel) never see each other's sessions.

#![allow(dead_code)] // each test file uses a different part

use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};
use sessionlab_redis::test_server::{self, RedisServer};
use sessionlab_redis::{RedisOptions, RedisStore, Unwrapped};
use std::io::Write;
use std::sync::OnceLock;
use std::time::Duration;

/// The variable that names a server to use instead of starting one, e.g.
/// `redis://127.0.0.1:6390/`.
pub const URL_VAR: &str = "SESSIONLAB_REDIS_URL";

/// The server this test binary shares: the one `SESSIONLAB_REDIS_URL` names, else one started
/// on a free loopback port at the first call (and killed when the binary exits), else `None`
/// when `redis-server` is not installed.
fn shared_url() -> Option<&'static str> {
    static SHARED: OnceLock<Option<(String, Option<RedisServer>)>> = OnceLock::new();
    let shared = SHARED.get_or_init(|| {
        if let Ok(url) = std::env::var(URL_VAR)
            && !url.is_empty()
        {
            return Some((url, None));
        }
        if !test_server::binary_available() {
            return None;
        }
        let server = RedisServer::start()
            .unwrap_or_else(|error| panic!("redis-server is installed but did not start: {error}"));
        Some((server.url(), Some(server)))
    });
    shared.as_ref().map(|(url, _)| url.as_str())
}

/// The shared server's URL, or `None` after printing how to install Redis: tests skip only
/// where `redis-server` is not installed.
pub fn redis_url(test: &str) -> Option<String> {
    let url = shared_url().map(str::to_owned);
    if url.is_none() {
        skip(test);
    }
    url
}

/// Whether this test may start servers of its own (`redis-server` is installed); prints how to
/// install it otherwise.
pub fn can_start_servers(test: &str) -> bool {
    let available = test_server::binary_available();
    if !available {
        skip(test);
    }
    available
}

fn skip(test: &str) {
    // Straight to the process's stderr: libtest captures `eprintln!` of passing tests, and a
    // skip must be seen.
    let _ = writeln!(
        std::io::stderr().lock(),
        "{test} did not run: redis-server is not on the PATH; {}",
        test_server::INSTALL_HINT
    );
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
