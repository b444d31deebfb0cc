//! # sessionlab-redis
//!
//! A sessionlab store in a Redis server: the store a site needs once it runs more than one web
//! server, because sessions must then live somewhere every server can reach.
//!
//! - [`RedisStore`] implements [`sessionlab::FallibleSessionStore`]: the same semantics as the
//!   in-memory stores (the core crate's specification, [`sessionlab::docs::semantics`]), but every
//!   call may fail with a typed [`RedisStoreError`] when the server is unreachable. It runs on
//!   one server or, unchanged, on a Redis Cluster.
//! - [`Unwrapped`] adapts it to [`sessionlab::SessionStore`] for test harnesses (an error
//!   panics, failing the test).
//! - [`RedisUsers`] is the user-name directory that servers sharing sessions must share too.
//! - [`OnWallClock`] puts the ticks of every process sharing the store on one time base (Unix
//!   milliseconds); [`wall`] says what clock skew does.
//! - [`keys`] documents the key layout and the expiry index; [`scripts`] the server-side atomic
//!   steps; [`lesson`] compares coordination in one process with coordination through Redis,
//!   says how to run the lab across machines, and gives the measurements.
//! - [`test_server`] starts throwaway `redis-server`s and clusters on loopback for tests.
//!
//! ```no_run
//! use sessionlab::{Config, FallibleSessionStore, UserId};
//! use sessionlab_redis::RedisStore;
//!
//! // One server; a cluster is "redis+cluster://10.0.0.1:6379,10.0.0.2:6379".
//! let store = RedisStore::connect("redis://127.0.0.1:6379/", &Config::new(1_000))?;
//! let id = store.try_create(UserId(7), 0)?;
//! assert_eq!(store.try_touch(&id, 500)?, Some(UserId(7)));
//! assert_eq!(store.try_sweep(1_500)?, 1); // touched at 500: expired at 1_500
//! # Ok::<(), sessionlab_redis::RedisStoreError>(())
//! ```

mod connection;
mod error;
pub mod keys;
pub mod scripts;
mod store;
pub mod test_server;
mod unwrapped;
pub mod users;
pub mod wall;

#[doc = include_str!("../README.md")]
pub mod lesson {}

pub use error::RedisStoreError;
pub use keys::{DEFAULT_PARTITIONS, DEFAULT_PREFIX};
pub use store::{
    MAX_SWEEP_BATCH, RedisOptions, RedisStore, SWEEP_BATCH, SWEEP_CONNECTIONS, SweepReport,
};
pub use unwrapped::Unwrapped;
pub use users::{DEFAULT_USERS_PREFIX, DirectoryFull, RedisUsers};
pub use wall::OnWallClock;
