//! [`RedisStoreError`]: why a call to the Redis store failed.

use std::fmt;

/// Why a [`RedisStore`](crate::RedisStore) call failed. Every variant means "the store could
/// not answer", never "the answer is no": a web front end maps all of them to
/// `503 Service Unavailable`.
///
/// As with any remote call, a failure after the request was sent (a dropped connection, a
/// timeout) leaves the outcome unknown: the server may or may not have run the script. The
/// store never retries a call on its own, because a retried `remove` or `insert` could report
/// the wrong answer (its own first attempt having succeeded).
#[derive(Debug)]
pub enum RedisStoreError {
    /// No connection could be had within the connect timeout: the server is down or
    /// unreachable.
    Unavailable(r2d2::Error),
    /// A command failed: the connection broke or timed out mid-call, the URL is malformed, or
    /// the server refused the command.
    Redis(redis::RedisError),
    /// A key under the store's prefix holds a value this store did not write.
    Corrupt {
        /// The key.
        key: String,
        /// What is wrong with it.
        detail: String,
    },
}

impl RedisStoreError {
    /// Whether this is a connection problem (server down, connection dropped or timed out)
    /// rather than a refused command or a corrupt value: the kind that goes away when the
    /// server comes back.
    pub fn is_connection_error(&self) -> bool {
        match self {
            Self::Unavailable(_) => true,
            Self::Redis(error) => {
                error.is_io_error()
                    || error.is_connection_dropped()
                    || error.is_connection_refusal()
                    || error.is_timeout()
            }
            Self::Corrupt { .. } => false,
        }
    }
}

impl fmt::Display for RedisStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(error) => write!(f, "redis is unavailable: {error}"),
            Self::Redis(error) => write!(f, "redis command failed: {error}"),
            Self::Corrupt { key, detail } => write!(f, "redis key {key:?} is corrupt: {detail}"),
        }
    }
}

impl std::error::Error for RedisStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable(error) => Some(error),
            Self::Redis(error) => Some(error),
            Self::Corrupt { .. } => None,
        }
    }
}

impl From<r2d2::Error> for RedisStoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(error)
    }
}

impl From<redis::RedisError> for RedisStoreError {
    /// A script's `CORRUPT <key> <what>` error becomes [`Corrupt`](Self::Corrupt); everything
    /// else stays a [`Redis`](Self::Redis) error.
    fn from(error: redis::RedisError) -> Self {
        if error.code() == Some("CORRUPT") {
            let detail = error.detail().unwrap_or_default();
            let (key, what) = detail.split_once(' ').unwrap_or((detail, ""));
            // Redis appends " script: <sha>, on @user_script:<line>." to script errors.
            let what = what.split(" script: ").next().unwrap_or(what);
            return Self::Corrupt { key: key.to_owned(), detail: what.to_owned() };
        }
        Self::Redis(error)
    }
}
