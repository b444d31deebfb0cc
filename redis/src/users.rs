//! [`RedisUsers`]: the user-name directory in Redis, shared by every web server.
//!
//! A session stores a [`UserId`], a number. Each web server's in-process registry numbers names
//! in the order it first sees them, so two servers over one session store would read each
//! other's `UserId(0)` as different people. The directory must be shared as the sessions are.
//!
//! **Keys.** Two hashes under their own prefix (default [`DEFAULT_USERS_PREFIX`]):
//! `{<prefix>}by-name` (name -> id) and `{<prefix>}by-id` (id -> name). The braces are a hash
//! tag: both hashes live in one slot, so the interning script runs on a Redis Cluster too. Names are never removed (a session may still point at one),
//! as in the in-process registry, so ids are dense: the next id is the count so far.
//!
//! **Atomicity.** Interning is get-or-insert: read the name's id, and if there is none, take
//! the next number and write both directions. As client code those are several commands, and
//! two servers interning a new name at once could both miss it and hand out two ids (or one
//! id to two names). As one script (`lua/intern.lua`) they are one step on the server.

use crate::connection::Connections;
use crate::error::RedisStoreError;
use crate::store::RedisStore;
use redis::Script;
use sessionlab::UserId;
use std::fmt;

/// The users prefix a directory uses unless told otherwise.
pub const DEFAULT_USERS_PREFIX: &str = "sessionlab:users:";

/// Returned by [`RedisUsers::intern`] for a new name when the directory holds as many names as
/// it may (a client minting fresh names must not grow it without bound).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DirectoryFull;

impl fmt::Display for DirectoryFull {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("the user directory holds as many names as it may")
    }
}

impl std::error::Error for DirectoryFull {}

/// A user-name directory in Redis: name <-> [`UserId`], the same on every server.
///
/// It stores names as given: validating them (length, control characters) is the caller's
/// job, as it is for the web app's in-process registry.
pub struct RedisUsers {
    connections: Connections,
    intern: Script,
    by_name: String,
    by_id: String,
    max_users: u64,
}

impl RedisUsers {
    /// A directory on `store`'s server (sharing its connection pool) under `prefix`, holding
    /// at most `max_users` names.
    pub fn new(store: &RedisStore, prefix: &str, max_users: u64) -> Self {
        Self {
            connections: store.connections().clone(),
            intern: Script::new(include_str!("lua/intern.lua")),
            by_name: format!("{{{prefix}}}by-name"),
            by_id: format!("{{{prefix}}}by-id"),
            max_users,
        }
    }

    /// The id of `name`, assigning the next one if the name is new, or [`DirectoryFull`].
    pub fn intern(&self, name: &str) -> Result<Result<UserId, DirectoryFull>, RedisStoreError> {
        let mut connection = self.connections.get()?;
        let id: i64 = self
            .intern
            .key(&self.by_name)
            .key(&self.by_id)
            .arg(name)
            .arg(self.max_users)
            .invoke(connection.get())?;
        Ok(u64::try_from(id).map(UserId).map_err(|_| DirectoryFull))
    }

    /// The name registered for `id`, if any.
    pub fn name(&self, id: UserId) -> Result<Option<String>, RedisStoreError> {
        let mut connection = self.connections.get()?;
        let name: Option<Vec<u8>> =
            redis::cmd("HGET").arg(&self.by_id).arg(id.0).query(connection.get())?;
        // Names are written by `intern` from `&str`; anything else was not written by us.
        Ok(name.map(|bytes| String::from_utf8_lossy(&bytes).into_owned()))
    }

    /// Deletes the directory (both hashes). For tests and resets.
    pub fn clear(&self) -> Result<(), RedisStoreError> {
        let mut connection = self.connections.get()?;
        redis::cmd("DEL").arg(&self.by_name).arg(&self.by_id).query::<()>(connection.get())?;
        Ok(())
    }
}
