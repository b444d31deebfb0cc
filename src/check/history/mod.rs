//! Recording what real threads did to a store, and deciding whether it was linearizable.
//!
//! Loom proves small scenarios exhaustively; this module checks large random ones on real
//! threads, the way Lincheck (JVM) and Porcupine (Go) do. Two parts:
//!
//! * [`Recorder`] wraps any [`SessionStore`](crate::SessionStore). Each thread calls through its own
//!   [`ThreadLog`], which stamps every call's *invocation* and *return* from one shared atomic
//!   counter and keeps the result. The stamps give real-time order: if call A's return stamp
//!   is below call B's invocation stamp, A finished before B began, so every linearization
//!   must put A first. Calls whose stamps interleave were concurrent and may go either way.
//! * [`History::check`] decides whether some order of the calls, consistent with those
//!   real-time constraints, is a legal run of the sequential model ([`crate::check::model`]) that
//!   returns exactly what the store returned.
//!
//!
//! [`record`] holds the first part, [`check`] the second, with how the search works.
//!
//! ```
//! use sessionlab::check::history::Recorder;
//! use sessionlab::check::model::Op;
//! use sessionlab::{Config, SessionId, StoreKind, UserId};
//!
//! let ttl = 10;
//! let recorder = Recorder::new(StoreKind::Sharded.build(&Config::new(ttl)));
//! let id = SessionId::fixed(1);
//! let logs = std::thread::scope(|s| {
//!     let a = s.spawn(|| {
//!         let mut log = recorder.log(0);
//!         log.call(Op::Insert { id, user: UserId(1), now: 0 });
//!         log.call(Op::Remove { id });
//!         log.into_calls()
//!     });
//!     let b = s.spawn(|| {
//!         let mut log = recorder.log(1);
//!         log.call(Op::Touch { id, now: 5 });
//!         log.call(Op::Sweep { now: 20 });
//!         log.into_calls()
//!     });
//!     [a.join().unwrap(), b.join().unwrap()]
//! });
//! let mut history = recorder.finish(logs);
//! assert!(history.check(ttl).is_ok(), "{history}");
//! ```

pub mod check;
pub mod record;

pub use check::{Checked, NotLinearizable};
pub use record::{Call, History, Recorder, ThreadLog, record_threads};
