//! Serving over a store shared by many server processes: Redis (one server or a cluster).
//!
//! `sessionlab-web serve --store redis --redis-url URL` keeps sessions and the user directory
//! in Redis, so any number of `serve` processes, on one machine or many, serve the same
//! sessions: a login on one is seen by all, a logout on any ends the session for all.
//!
//! Two things must be shared beyond the sessions:
//! - **the user directory**: a session stores a [`UserId`], so every process must map names to
//!   the same numbers ([`SharedUsers`] over [`RedisUsers`]);
//! - **the time base**: every process passes Unix milliseconds to the store
//!   ([`OnWallClock`]), not milliseconds since its own start. The clocks of the machines
//!   must agree to well within the ttl (NTP does); see [`sessionlab_redis::wall`] for what a
//!   skew of `s` ms does (idle sessions live `ttl ± s`).

use crate::backend::Backend;
use crate::users::{NameError, UserDirectory, validate};
use sessionlab::{Config, StoreKind, Tick, UserId};
use sessionlab_redis::{OnWallClock, RedisOptions, RedisStore, RedisStoreError, RedisUsers};
use std::sync::Arc;
use std::time::Duration;

/// Where `serve` keeps its sessions.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// One of the in-memory stores, in this process.
    Memory(StoreKind),
    /// Redis, shared with other processes (needs `--redis-url`).
    Redis,
}

impl StoreChoice {
    /// Parses `redis` or an in-memory store's name.
    pub fn parse(name: &str) -> Result<Self, String> {
        if name == "redis" {
            return Ok(Self::Redis);
        }
        name.parse().map(Self::Memory).map_err(|error: sessionlab::stores::UnknownStore| {
            format!("{error} (or redis, with --redis-url)")
        })
    }
}

impl std::fmt::Display for StoreChoice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(kind) => write!(f, "{kind}"),
            Self::Redis => f.write_str("redis"),
        }
    }
}

/// The web app's [`UserDirectory`] over [`RedisUsers`]: the same ids in every process.
///
/// It keeps no per-user session list (the defaults of [`UserDirectory::add_session`],
/// `end_session` and `prune`): `--max-sessions-per-user` does not apply to a shared store, and
/// names are never freed (the directory is bounded by [`RedisSetup::max_users`] instead).
pub struct SharedUsers(pub RedisUsers);

impl UserDirectory for SharedUsers {
    fn intern(&self, name: &str) -> Result<UserId, NameError> {
        let name = validate(name)?;
        match self.0.intern(name) {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(_full)) => Err(NameError::Full),
            Err(_unreachable) => Err(NameError::Unavailable),
        }
    }
    fn name(&self, id: UserId) -> Option<String> {
        self.0.name(id).ok().flatten()
    }
    /// An unreachable Redis is [`NameError::Unavailable`] (the app answers 503), never `None`:
    /// `None` means "no such user", which the app answers with 401, and a `/me` during an
    /// outage must not look like a session that ended.
    fn active(&self, id: UserId) -> Result<Option<String>, NameError> {
        self.0.name(id).map_err(|_unreachable| NameError::Unavailable)
    }
}

/// How to reach Redis.
#[derive(Debug, Clone)]
pub struct RedisSetup {
    /// `redis://host:port/db`, or a cluster: `redis+cluster://host:port,host:port` or a
    /// comma-separated list of `redis://` URLs.
    pub url: String,
    /// The store's options (key prefix, partitions, timeouts).
    pub options: RedisOptions,
    /// The user directory's key prefix.
    pub users_prefix: String,
    /// The most names the shared directory holds.
    pub max_users: u64,
    /// Added to this machine's clock, in ms (0 in production; tests simulate skew with it).
    pub clock_offset_ms: i64,
}

impl RedisSetup {
    /// The defaults for `url`: default prefixes, a million users, no offset.
    pub fn new(url: &str) -> Self {
        Self {
            url: url.to_owned(),
            options: RedisOptions::default(),
            users_prefix: sessionlab_redis::DEFAULT_USERS_PREFIX.to_owned(),
            max_users: 1_000_000,
            clock_offset_ms: 0,
        }
    }
}

/// A backend over Redis for sessions of `ttl`, its ticks on the wall clock: `process_now` is
/// the server's clock reading now (the clock its handlers will pass). Fails if Redis does not
/// answer.
pub fn redis_backend(
    setup: &RedisSetup,
    ttl: Duration,
    process_now: Tick,
) -> Result<Backend, RedisStoreError> {
    let config = Config::new(u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX));
    let store = RedisStore::connect_with(&setup.url, &config, setup.options.clone())?;
    let users = SharedUsers(RedisUsers::new(&store, &setup.users_prefix, setup.max_users));
    let name = if store.is_cluster() { "redis-cluster" } else { "redis" };
    let store = OnWallClock::new(store, process_now, setup.clock_offset_ms);
    Ok(Backend::remote(name, store).with_users(Arc::new(users)))
}

/// `url` without its credentials (`redis://user:secret@host/` -> `redis://***@host/`), for
/// messages and logs.
pub fn redacted_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            format!("{}://***{}", &url[..scheme], &url[at..])
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::redacted_url;

    #[test]
    fn credentials_never_reach_a_message() {
        assert_eq!(redacted_url("rediss://u:secret@h:6380/0"), "rediss://***@h:6380/0");
        assert_eq!(redacted_url("redis://127.0.0.1:1/"), "redis://127.0.0.1:1/");
    }
}
