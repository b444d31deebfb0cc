//! # Misconceptions the lab corrects
//!
//! The lesson this lab starts from keeps its sessions in a plain map,
//! `var dbSessions = map[string]session{}`, written by every HTTP handler goroutine
//! (`dbSessions[id] = s` on each request) and by a sweep started with `go cleanSessions()`.
//!
//! ## "Deleting is different from writing"
//!
//! It is not. A delete rewrites the table exactly as an insert does: it clears a slot's control
//! byte, moves or frees entries, and changes the length. In Go, `mapdelete` sets the map's
//! "writing" flag and the race detector reports it as a **Write**; two goroutines deleting the
//! same keys die with `fatal error: concurrent map writes` (30 of 30 plain runs in `go/`, in a
//! median of 10 ms). In Rust, `HashMap::remove` and `retain` take `&mut self`: the type system
//! says "write" before anything runs, which is why [`RacyStore`](crate::RacyStore) needs
//! `unsafe impl Sync` to compile at all.
//!
//! ## "`go build -race` reports no race"
//!
//! The race detector is not a static analysis. `go build -race` only *instruments* the program;
//! it prints nothing, whatever the code does. Races are reported when the instrumented binary
//! *runs* and two unsynchronised accesses actually happen close enough together. A lightly
//! used lesson server can run for minutes without crashing (at ~400 writes/s, 28 of 32
//! ten-second plain runs survived) while the race build still reports several races within
//! seconds. Silence from the build is not evidence; silence from a test run is evidence only
//! about the paths that ran.
//!
//! ## "Several goroutines deleting the same entry is no problem"
//!
//! Two deletes of one key are two writes to one table. Beyond the crash, the *result* is
//! wrong: both callers believe they logged the session out. The spec here says that of two
//! concurrent removes exactly one gets `Some`, and the conformance check
//! [`concurrent_removes_have_one_winner`](crate::check::conformance::concurrent_removes_have_one_winner)
//! and the loom scenario `remove_remove` hold every store to it.
//!
//! ## "The cleanup timestamp is harmless"
//!
//! `dbSessionsCleaned = time.Now()` is a second unsynchronised write, and the check that reads
//! it is check-then-act: two logouts that both read an old timestamp both start a sweep.
//! [`LessonGate`](crate::sweeper::LessonGate) keeps that pattern (with atomics, so only the
//! logic race remains) and loom shows both callers sweeping;
//! [`SweepGate`](crate::SweepGate) fixes it with one `compare_exchange`.
//!
//! ## "A read-write lock makes requests parallel"
//!
//! Only if requests are reads. The lesson's touch is a map write (`dbSessions[id] = s`), so
//! under an `RwLock` every request would still take the write lock. The fix is to make touch
//! a read of the map and a compare-and-swap on an atomic activity word inside the value (see
//! [`Activity`](crate::activity::Activity)). And even then a read lock is a shared counter that
//! every reader writes: it serialises on one cache line, which is what sharding fixes.
//!
//! ## "If it ran fine in testing, it is fine"
//!
//! Undefined behaviour has no guaranteed symptom. The same racy run here hangs (a thread
//! probing a corrupted table forever), dies of SIGSEGV, aborts with `free(): invalid pointer`,
//! or finishes and quietly loses hundreds of sessions. That is why the lab runs it only in a
//! child process ([`isolate`](crate::check::isolate)) or under loom, which turns the race into a
//! deterministic report: `Causality violation: Concurrent write accesses to UnsafeCell`.
