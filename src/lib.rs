//! # sessionlab
//!
//! A teaching lab that shows, with code that runs, why concurrent writes to a shared map need
//! coordination.
//!
//! The story comes from a classic web-course lesson on sessions: a cookie holds a random UUID,
//! the server keeps `session id -> (user, last activity)` in a map, every request *touches* its
//! session, and a background `cleanSessions` sweep deletes idle ones while requests keep
//! arriving. The lesson claims that deleting is not writing, and that a race-detector *build*
//! finds no race. Both claims are wrong; this crate proves it, and shows what each way of
//! fixing it costs.
//!
//! ## Start here
//!
//! 1. Run the demo: `cargo run --release`. Every store runs the same concurrent session
//!    workload; the racy one, in a child process, loses sessions, hangs or crashes.
//! 2. Read [`docs::misconceptions`]: the lesson's claims, and what the runtime, the race
//!    detector and loom say instead.
//! 3. Take the lessons in the order of [`docs::lessons`]: each is a notebook, and ends with an
//!    exercise graded by the lab's own checkers (`cargo run -- exercise list`).
//!
//! Everything the stores promise is in one place, [`docs::semantics`]: the specification the
//! code, the checkers and the exercises all cite.
//!
//! ## The layers
//!
//! * **The code being taught**, from the bottom up: [`sync`] (the one std/loom switch),
//!   [`time`], [`id`], [`activity`] (the word every store's touch is a CAS on), [`session`],
//!   [`store`] (the trait), [`stores`] (the variants and their registry), [`sweeper`].
//! * **The checking kit**, [`check`]: how the lab knows a store is right.
//! * **Measuring**, [`benchmark`]: the workloads behind `benches/` and `BENCHMARKS.md`.
//! * **The course text**, [`docs`].
//!
//! ```
//! use sessionlab::{Config, SessionStore, StoreKind, UserId};
//!
//! let store = StoreKind::Sharded.build(&Config::new(1_000));
//! let id = store.create(UserId(7), 0);
//! assert_eq!(store.touch(&id, 500), Some(UserId(7)));
//! assert_eq!(store.sweep(1_499), 0); // touched at 500: live until 1_500
//! assert_eq!(store.sweep(1_500), 1);
//! assert_eq!(store.touch(&id, 1_500), None);
//! ```

// The taught code: what a session store is made of, from the bottom up.
pub mod activity;
pub mod id;
pub mod session;
pub mod store;
pub mod stores;
pub mod sweeper;
pub mod sync;
pub mod time;

// The checking kit: the specification as code, and the tools that hold every store to it.
pub mod check;

// Measuring: the workloads behind `benches/` and BENCHMARKS.md.
#[cfg(not(loom))]
pub mod benchmark;

// The course text.
#[cfg(not(loom))]
pub mod docs;

pub use activity::Activity;
pub use id::{ParseSessionIdError, SessionId};
pub use session::UserId;
pub use store::{Config, FallibleSessionStore, Occupied, SessionStore, TryInsert};
pub use stores::{
    CowStore, LockFreeStore, MutexStore, RacyStore, RwLockStore, ShardedStore, StoreKind,
};
pub use sweeper::SweepGate;
pub use time::{Clock, Tick};
