//! # The course, lesson by lesson
//!
//! Eight lessons, in this order. Each is a notebook in `notebooks/` (its real output saved, so
//! it reads without running), and each ends with the exercise in `exercises/` that needs exactly
//! what it taught, graded by the checkers the lab runs on itself (`cargo run -- exercise check
//! N`). Start with the demo, `cargo run --release`: the racy store breaks and the five correct
//! stores report zero lost, resurrected and wrongly swept sessions.
//!
//! ## 1. The Go lesson and the racy store
//!
//! **Key idea:** deleting from a map *is* writing it, and `go build -race` only builds an
//! instrumented binary: races are found when the program runs, on the paths it runs. The lab
//! checks both claims with Go's own tools (`go/check.sh`), then reproduces the lesson's map in
//! Rust, which refuses to compile it until it is lied to: [`RacyStore`](crate::RacyStore) is an
//! `UnsafeCell<HashMap>` with `unsafe impl Sync`. Run concurrently (in a child process, by
//! [`isolate`](crate::check::isolate)) it loses sessions, crashes or hangs.
//!
//! **Code:** [`RacyStore`](crate::RacyStore), `go/`, the [`misconceptions`](super::misconceptions)
//! page. **Notebook:** `01-the-go-lesson-and-the-racy-store`. **Exercise 1** (`ex01_mutex`): the
//! simplest correct fix, one `Mutex` around the map.
//!
//! ## 2. Reading a loom failure
//!
//! **Key idea:** loom runs a small concurrent test once per distinguishable interleaving, up to
//! a bound on preemptions (3 in this lab), and tracks happens-before for every `UnsafeCell`
//! access; two unordered accesses, one a write, are a data race, reported as a *causality
//! violation* with the source lines of both accesses. A logic race shows up instead as the
//! scenario's own assertion failing in some interleaving.
//!
//! **Code:** `loom-tests/` (its `README.md` reads a report line by line), the one std/loom
//! switch [`sync`](crate::sync). **Notebook:** `02-reading-a-loom-failure`. **Exercise 2**
//! (`ex02_racy_loom`): write the two-thread scenario that makes loom fail the racy store, and
//! name the race.
//!
//! ## 3. Atomics and memory ordering
//!
//! **Key idea:** one compare-and-swap on one word picks exactly one winner, with any ordering;
//! a weak CAS may fail spuriously, so it belongs in a retry loop; orderings are about *other*
//! memory (`Release`/`Acquire` publish data, a `SeqCst` fence orders a store before a later
//! load of another word, which epoch pinning needs).
//!
//! **Code:** the whole lesson is [`atomics`](super::atomics); the loom models are
//! `loom-tests/atomics.rs`; [`SweepGate`](crate::SweepGate) and the lesson's wrong
//! [`LessonGate`](crate::sweeper::LessonGate). **Notebook:** `03-atomics-and-memory-ordering`.
//! **Exercise 3** (`ex03_sweep_gate`): the single-flight sweep gate, one word and one CAS.
//!
//! ## 4. `Mutex` vs `RwLock`
//!
//! **Key idea:** a read-write lock only helps if requests *read*; the Go lesson writes the map
//! on every request. Keeping the last activity in an atomic word inside the session makes a
//! touch a read lock plus one CAS (lesson 3), and only logins, logouts and sweeps write the map.
//!
//! **Code:** [`MutexStore`](crate::MutexStore), [`RwLockStore`](crate::RwLockStore), the
//! activity word [`Activity`](crate::activity::Activity). **Notebook:** `04-mutex-vs-rwlock`.
//! **Exercise 4** (`ex04_rwlock`).
//!
//! ## 5. Sharding
//!
//! **Key idea:** N locks over N sub-maps, the shard picked by the id's hash: every operation on
//! one id still goes through one lock, so per-key linearizability survives, and a sweep holds
//! one shard's lock at a time, so a request waits for 1/N of the walk. How much throughput it
//! buys depends on how many cores contend; on two cores, little.
//!
//! **Code:** [`ShardedStore`](crate::ShardedStore). **Notebook:** `05-sharding`. **Exercise 5**
//! (`ex05_sharded`).
//!
//! ## 6. Copy-on-write
//!
//! **Key idea:** readers load the current map through one atomic pointer and never wait; a
//! writer copies the whole map, changes the copy and publishes it with a CAS, so a write costs
//! O(n). A removal first CASes the session's activity word to a *tombstone* (the linearization
//! point), then publishes a map without that very entry.
//!
//! **Code:** [`CowStore`](crate::CowStore), [`CowCell`](crate::sync::CowCell);
//! `cargo bench --bench cow_write_cost` measures a write from 1k to 1M sessions.
//! **Notebook:** `06-copy-on-write`. **Exercise 6** (`ex06_cow`), then **exercise 7**
//! (`ex07_find_the_bug`), the capstone of lessons 2 to 6: a store that passes its unit tests
//! and fails under loom.
//!
//! ## 7. Lock-free, with epochs
//!
//! **Key idea:** Harris–Michael lists: tombstone the activity word, *mark* the node's link so
//! nothing can be inserted after it, unlink it with one CAS, and let the epoch collector free it
//! once no pinned thread can still reach it (lesson 3's `SeqCst` fence).
//!
//! **Code:** [`LockFreeStore`](crate::LockFreeStore). **Notebook:** `07-lock-free-with-epochs`.
//! **Exercise 8** (`ex08_lockfree_remove`).
//!
//! ## 8. What coordination costs
//!
//! **Key idea:** every correct store pays for its correctness differently: measure each
//! against a floor (a single-threaded `HashMap` with the same hasher) and report ratios from
//! one run, never lone times; say how many cores the machine had and what its parallel ceiling
//! was, because two cores cannot show scaling.
//!
//! **Code:** `benches/`, [`benchmark`](crate::benchmark). **Notebooks:** `08-the-cost-lesson`, then
//! `analysis.ipynb` (the charts).
//!
//! ## Time, in every store
//!
//! Stores never read a clock: every operation takes `now` as a [`Tick`](crate::Tick). Tests and
//! model checkers can then pass any time, including times that go backwards, which real threads
//! produce all the time (two requests read the clock in one order and reach the store in the
//! other). That is why touch takes the *max* of the old and new times.
