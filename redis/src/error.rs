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
///
/// No variant carries a full session id: a session id is the cookie's secret, and errors end
/// up in logs. [`Corrupt`](Self::Corrupt) names the session by its
/// [redacted](sessionlab::SessionId::redacted) form.
#[derive(Debug)]
pub enum RedisStoreError {
    /// No connection could be had within the connect timeout: the server is down or
    /// unreachable.
    Unavailable(r2d2::Error),
    /// A command failed: the connection broke or timed out mid-call, the URL is malformed, or
    /// the server refused the command.
    Redis(redis::RedisError),
    /// The key of a session holds a value this store did not write.
    Corrupt {
        /// The session, redacted (its first 8 characters).
        session: String,
        /// What is wrong with it.
        detail: String,
    },
    /// The store's options cannot work (a prefix with a brace, zero partitions, an empty URL
    /// list).
    Options(String),
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
                    || error.is_cluster_error()
            }
            Self::Corrupt { .. } | Self::Options(_) => false,
        }
    }

    /// A script's `CORRUPT <what>` error becomes [`Corrupt`](Self::Corrupt) for `session`
    /// (already redacted); everything else stays a [`Redis`](Self::Redis) error.
    pub(crate) fn from_script(error: redis::RedisError, session: impl FnOnce() -> String) -> Self {
        if error.code() == Some("CORRUPT") {
            let detail = error.detail().unwrap_or_default();
            // Redis appends " script: <sha>, on @user_script:<line>." to script errors.
            let what = detail.split(" script: ").next().unwrap_or(detail);
            return Self::Corrupt { session: session(), detail: what.to_owned() };
        }
        Self::Redis(error)
    }
}

impl fmt::Display for RedisStoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Unavailable(error) => write!(f, "redis is unavailable: {error}"),
            Self::Redis(error) => write!(f, "redis command failed: {error}"),
            Self::Corrupt { session, detail } => {
                write!(f, "the redis key of session {session} is corrupt: {detail}")
            }
            Self::Options(what) => write!(f, "invalid redis store options: {what}"),
        }
    }
}

impl std::error::Error for RedisStoreError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Unavailable(error) => Some(error),
            Self::Redis(error) => Some(error),
            Self::Corrupt { .. } | Self::Options(_) => None,
        }
    }
}

impl From<r2d2::Error> for RedisStoreError {
    fn from(error: r2d2::Error) -> Self {
        Self::Unavailable(error)
    }
}

impl From<redis::RedisError> for RedisStoreError {
    fn from(error: redis::RedisError) -> Self {
        Self::Redis(error)
    }
}
