//! # The lessons, in order
//!
//! | # | lesson | code | checked by | notebook |
//! |---|---|---|---|---|
//! | 1 | the Go lesson's map, and why its two claims are wrong | [`RacyStore`](crate::RacyStore), `go/` | `tests/racy_store.rs`, `go/check.sh` | `notebooks/01-*` |
//! | 2 | one lock: `Mutex` vs `RwLock`, and why touch must not be a map write | [`MutexStore`](crate::MutexStore), [`RwLockStore`](crate::RwLockStore), [`Activity`](crate::activity::Activity) | the [`conformance`](crate::check::conformance) suite | `notebooks/02-*` |
//! | 3 | sharding: less contention, shorter sweep pauses | [`ShardedStore`](crate::ShardedStore) | conformance, loom | `notebooks/03-*` |
//! | 4 | copy-on-write: reads that never wait, writes that cost O(n) | [`CowStore`](crate::CowStore), [`CowCell`](crate::sync::CowCell) | conformance, loom (with a loom-visible stand-in for arc-swap) | `notebooks/04-*` |
//! | 5 | lock-free lists and epoch reclamation | `LockFreeStore` | conformance, loom (`--cfg crossbeam_loom`) | `notebooks/05-*` |
//! | 6 | reading a loom failure | `loom-tests/` | the loom suite itself | `notebooks/06-*` |
//! | 7 | what coordination costs | `benches/`, [`mixes`](crate::benchmark) | criterion, `BENCHMARKS.md` | `notebooks/07-*` |
//!
//! Every lesson ends with an exercise in `exercises/`, graded by the same checkers the lab
//! runs on itself. Beyond one process: the web app (`web/`) serves the lesson's cookie
//! sessions over any store, and `redis/` moves the map into Redis, where server-side scripts
//! play the part of locks.
//!
//! ## Time, in every store
//!
//! Stores never read a clock: every operation takes `now` as a [`Tick`](crate::Tick). Tests and
//! model checkers can then pass any time, including times that go backwards, which real threads
//! produce all the time (two requests read the clock in one order and reach the store in the
//! other). That is why touch takes the *max* of the old and new times.
