//! # Lesson 3: atomics and memory ordering
//!
//! Every correct store in this lab keeps a session's last activity in one atomic word, and
//! every store that removes without a lock (copy-on-write, lock-free) first moves that word to
//! a *tombstone* by compare-and-swap. The sweeper asks "should I sweep?" through another single
//! word, the [`SweepGate`](crate::SweepGate). This lesson says what one atomic word can and
//! cannot do, and which memory ordering each use needs. Its notebook is
//! `notebooks/03-atomics-and-memory-ordering.ipynb`; its loom models are
//! `loom-tests/atomics.rs`; its exercise is `exercises/src/ex03_sweep_gate.rs`.
//!
//! ## One word, one compare-and-swap
//!
//! `compare_exchange(current, new, ..)` does, as one indivisible step: "if the word holds
//! `current`, write `new`; either way, tell me what it held". Indivisible means that no other
//! write to the word can land between the comparison and the write.
//!
//! What that guarantees comes from one rule of the memory model: all writes to *one* atomic
//! location happen in a single total order (its *modification order*), and a read-modify-write
//! (a CAS, `fetch_add`, `swap`) always reads the value just before its own write in that order.
//! So when two threads CAS the same word from the same expected value, exactly one of them
//! succeeds and the other is told the winner's value. This holds for **every** ordering, even
//! `Relaxed`:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//! use std::thread;
//!
//! let word = AtomicU64::new(0);
//! let (a, b) = thread::scope(|s| {
//!     let a = s.spawn(|| word.compare_exchange(0, 1, Relaxed, Relaxed));
//!     let b = s.spawn(|| word.compare_exchange(0, 2, Relaxed, Relaxed));
//!     (a.join().unwrap(), b.join().unwrap())
//! });
//! assert!(a.is_ok() != b.is_ok(), "exactly one CAS wins");
//! let loser_saw = if a.is_ok() { b.unwrap_err() } else { a.unwrap_err() };
//! assert_eq!(loser_saw, word.load(Relaxed), "the loser is told the winner's value");
//! ```
//!
//! A `load` followed by a separate `store` has no such guarantee: both threads can load 0,
//! both decide they won, and the second store silently overwrites the first. That is the Go
//! lesson's `dbSessionsCleaned` check, kept in the lab as [`LessonGate`](crate::sweeper::LessonGate);
//! loom finds its double sweep (`loom-tests/gate.rs`).
//!
//! The activity word uses this twice. A touch moves the word *forward* with a CAS loop (two
//! touches at 5 and 7 must leave 7, whichever lands last), and gives up if the session has
//! expired or been tombstoned. A remover CASes the word to the tombstone. Both are CASes on the
//! same word, so a touch and a sweep cannot both win:
//!
//! ```
//! use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
//!
//! const TOMBSTONE: u64 = u64::MAX;
//! const TTL: u64 = 10;
//!
//! /// Moves the activity forward to `now`; `false` if the session is gone or expired.
//! fn touch(word: &AtomicU64, now: u64) -> bool {
//!     let mut current = word.load(Relaxed);
//!     loop {
//!         if current == TOMBSTONE || current + TTL <= now {
//!             return false;
//!         }
//!         if current >= now {
//!             return true; // a later touch already got here: never move backwards
//!         }
//!         match word.compare_exchange_weak(current, now, Relaxed, Relaxed) {
//!             Ok(_) => return true,
//!             Err(actual) => current = actual, // retry with what is really there
//!         }
//!     }
//! }
//!
//! /// Tombstones an expired session; `false` if it was touched in time (or already removed).
//! fn sweep_one(word: &AtomicU64, now: u64) -> bool {
//!     let mut current = word.load(Relaxed);
//!     loop {
//!         if current == TOMBSTONE || current + TTL > now {
//!             return false;
//!         }
//!         match word.compare_exchange_weak(current, TOMBSTONE, Relaxed, Relaxed) {
//!             Ok(_) => return true,
//!             Err(actual) => current = actual,
//!         }
//!     }
//! }
//!
//! let word = AtomicU64::new(0);
//! assert!(touch(&word, 7));
//! assert!(touch(&word, 5)); // arrives late: still alive, but the word stays at 7
//! assert_eq!(word.load(Relaxed), 7);
//! assert!(!sweep_one(&word, 16)); // 7 + 10 > 16: alive
//! assert!(sweep_one(&word, 17));
//! assert!(!touch(&word, 17)); // tombstoned: a touch never revives it
//! ```
//!
//! ## Weak and strong compare-and-swap
//!
//! `compare_exchange_weak` may fail even when the word *does* hold `current`: a **spurious
//! failure**. On ARM, POWER and RISC-V a CAS is built from a load-linked/store-conditional
//! pair, and the store fails if anything disturbed the reservation in between (another core
//! touching the cache line, an interrupt). The strong `compare_exchange` hides that with an
//! inner retry loop; the weak one hands the failure to you, which is cheaper when you are in a
//! loop anyway.
//!
//! The rule that follows: use the weak CAS only where a failure just means "retry with the
//! value you were given", as in `touch` and `sweep_one` above. Use the strong CAS where a
//! failure *means something*, as in the sweep gate, where a failed CAS means "another caller
//! claimed this sweep" and the caller returns `false` without retrying: a spurious failure
//! there would skip a sweep that nobody did.
//!
//! You will not see a spurious failure on your laptop or in loom. On x86-64 both CASes compile
//! to the same `lock cmpxchg`, which never fails spuriously; and loom's `compare_exchange_weak`
//! simply calls its `compare_exchange` (loom 0.7; the loom test
//! `atomics::weak_cas_never_fails_spuriously_under_loom` checks that this is still so). A wrong
//! weak-CAS loop passes every test here and breaks on a phone: it has to be right by reading.
//!
//! ## Why `Relaxed` suffices for the activity word and the gate
//!
//! An ordering never makes a load see a *newer* value of the word it loads. What picks one
//! winner among racing CASes is the modification order of that one word, above, and that holds
//! for `Relaxed`. Orderings say something else: whether the writes a thread made to *other*
//! memory before a store are visible to a thread that loads that store's value.
//!
//! The activity word guards nothing but itself (the user id next to it never changes after the
//! insert, and the map that holds it is published by its own lock or pointer). The gate's
//! last-sweep tick guards nothing at all: the sweep it admits synchronises with requests through
//! the store's own locks and CASes. A gate caller that loads a stale tick either sees "not due
//! yet" (and returns `false`, correctly: someone swept recently) or attempts a CAS from the stale
//! value, which fails because the word has moved on. No ordering changes either outcome, so
//! `Relaxed` is enough for both words. The lab's code uses `Acquire`/`AcqRel` on the activity
//! word anyway, and says why in [`Activity`](crate::activity::Activity)'s docs; on x86-64 the
//! cost is the same, since `lock cmpxchg` is a full barrier whatever ordering you ask for.
//!
//! ## When `Release` and `Acquire` matter: publishing
//!
//! They matter when one word announces *other* data: the **message-passing** pattern. A writer
//! fills in data, then raises a flag (or publishes a pointer); a reader that sees the flag reads
//! the data. A `Release` store of the flag and an `Acquire` load that reads it create a
//! *happens-before* edge: everything the writer did before the store is visible to the reader
//! after the load.
//!
//! ```
//! use std::sync::atomic::{AtomicBool, AtomicU64, Ordering::{Acquire, Relaxed, Release}};
//! use std::thread;
//!
//! let data = AtomicU64::new(0);
//! let ready = AtomicBool::new(false);
//! thread::scope(|s| {
//!     s.spawn(|| {
//!         data.store(42, Relaxed);
//!         ready.store(true, Release); // publishes everything written above
//!     });
//!     s.spawn(|| {
//!         if ready.load(Acquire) {
//!             assert_eq!(data.load(Relaxed), 42); // guaranteed by the Release/Acquire pair
//!         }
//!     });
//! });
//! ```
//!
//! With `Relaxed` on the flag, the reader may see `ready == true` and still read `data == 0`.
//! On x86-64 you will almost never see it happen (its stores are not reordered with each
//! other, though the compiler may still reorder them), so a test on your laptop proves nothing.
//! Loom does model it, and finds it:
//!
//! ```text
//! RUSTFLAGS="--cfg loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom atomics::
//! ```
//!
//! runs `message_passing_relaxed_can_lose_the_data` (expected to fail, and it does: "saw the flag
//! but not the data"), `message_passing_release_acquire_delivers_the_data` (passes), and the same
//! pair for a node whose contents are plain memory in an `UnsafeCell`: with `Relaxed`, loom
//! reports "Causality violation: Concurrent read and write accesses", a data race.
//!
//! That is exactly how the lab's lock-free store publishes a new session: it fills in the node,
//! then links it with a `Release` CAS on its predecessor's link, and every reader follows links
//! with `Acquire` loads. The copy-on-write store publishes a whole new map the same way (inside
//! arc-swap). And it is why data under a `Mutex` needs no atomics at all: unlocking is a
//! release, locking is an acquire.
//!
//! ## What `SeqCst` buys: epoch pinning
//!
//! Release/Acquire orders a store with the *earlier* writes, and a load with the *later* reads.
//! It cannot order a thread's store before its own *later load of a different word*. Epoch
//! reclamation needs exactly that:
//!
//! * a reader **pins**: it stores "I am in epoch e", then loads list links;
//! * a remover **unlinks** a node (a store to a link), then loads every reader's epoch to decide
//!   whether the node may be freed yet.
//!
//! Safe means: the reader saw the unlink (and never reaches the node), or the remover saw the pin
//! (and defers the free). With Release/Acquire both threads can read the old value of the other's
//! word (the *store buffering* litmus test; x86-64 does this too, in hardware, through its store
//! buffer), and the node is freed under the reader. A `SeqCst` fence between the store and the
//! load forbids that outcome: all `SeqCst` fences are in one total order, so one of the two
//! threads' fences comes first, and the other thread's load sees its store. crossbeam-epoch's
//! `pin` does exactly this (a `Relaxed` store and `fence(SeqCst)`; on x86-64 a `SeqCst` CAS,
//! which is one `lock cmpxchg`). The loom tests `pin_with_release_acquire_is_unsafe` and
//! `pin_with_seqcst_fence_is_safe` show both outcomes.
//!
//! A caution for reading loom results: loom treats `SeqCst` *loads and stores* as if they were
//! `AcqRel` (its README lists this as unsupported), so code that relies on `SeqCst` accesses can
//! fail under loom although it is correct. `fence(SeqCst)` is modelled, which is why the model
//! above uses a fence.
//!
//! ## Exercise 3
//!
//! `exercises/src/ex03_sweep_gate.rs`: write the single-flight sweep gate. One word (the tick
//! of the last sweep), one strong CAS; the grader runs the lab's loom scenario on your gate
//! (`cargo run -- exercise check 3`). Which ordering does it need, and why would
//! `compare_exchange_weak` without a loop be wrong there?
