//! Recording: real threads call a store through a [`Recorder`], and every call is stamped on
//! its way in and out, so the [`History`] keeps the real-time order linearizability needs.

use crate::check::model::{Op, Ret};
use crate::store::SessionStore;
use crate::sync::{AtomicU64, AtomicUsize, Ordering};
use std::fmt;

/// One completed call: who made it, what it was, what it returned, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Call {
    /// The calling thread's number, as given to [`Recorder::log`].
    pub thread: usize,
    /// The call.
    pub op: Op,
    /// What the store returned.
    pub ret: Ret,
    /// Stamp taken just before the call.
    pub invoked: u64,
    /// Stamp taken just after it returned; always above `invoked`.
    pub returned: u64,
}

/// Wraps a store and hands out [`ThreadLog`]s that record every call made through them.
pub struct Recorder<S> {
    store: S,
    clock: AtomicU64,
}

impl<S: SessionStore> Recorder<S> {
    /// Starts recording calls on `store`.
    pub fn new(store: S) -> Self {
        Self { store, clock: AtomicU64::new(0) }
    }

    /// The store, for calls that should not be recorded (setup, inspection).
    pub fn store(&self) -> &S {
        &self.store
    }

    /// A log for one thread. Give every thread its own number; a log is not shared.
    pub fn log(&self, thread: usize) -> ThreadLog<'_, S> {
        ThreadLog { recorder: self, thread, calls: Vec::new() }
    }

    fn stamp(&self) -> u64 {
        // SeqCst: the stamps must form one order that agrees with real time across threads;
        // a return stamped before another thread's invocation stamp means the call had
        // finished before that one began.
        self.clock.fetch_add(1, Ordering::SeqCst)
    }

    /// Joins the threads' logs into one history, and appends a `len()` made now, when (the
    /// caller promises) every thread has finished: that quiescent `len` is judged exactly.
    pub fn finish(&self, logs: impl IntoIterator<Item = Vec<Call>>) -> History {
        let mut calls: Vec<Call> = logs.into_iter().flatten().collect();
        let thread = calls.iter().map(|call| call.thread + 1).max().unwrap_or(0);
        let mut log = self.log(thread);
        log.call(Op::Len);
        calls.append(&mut log.calls);
        History::new(calls)
    }
}

/// One thread's view of a [`Recorder`]: every call through it is recorded.
pub struct ThreadLog<'r, S> {
    recorder: &'r Recorder<S>,
    thread: usize,
    calls: Vec<Call>,
}

impl<S: SessionStore> ThreadLog<'_, S> {
    /// Makes the call on the store and records it.
    pub fn call(&mut self, op: Op) -> Ret {
        let invoked = self.recorder.stamp();
        let ret = op.apply(&self.recorder.store);
        let returned = self.recorder.stamp();
        self.calls.push(Call { thread: self.thread, op, ret, invoked, returned });
        ret
    }

    /// The calls made so far, in order.
    pub fn into_calls(self) -> Vec<Call> {
        self.calls
    }
}

/// A concurrent history: calls with their stamps.
///
/// A history is either complete (every call returned) or a *prefix*: the history as it stood
/// at some instant ([`History::prefix`]), where calls that had not yet returned are
/// *pending*: each may or may not have taken effect, and its result is unknown.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct History {
    pub(super) calls: Vec<Call>,
    /// For a prefix: the instant it was cut at. Calls returning at or after it are pending.
    pub(super) cut: Option<u64>,
}

impl History {
    /// A history of these calls (in any order; they are sorted by invocation).
    pub fn new(mut calls: Vec<Call>) -> Self {
        calls.sort_by_key(|call| call.invoked);
        Self { calls, cut: None }
    }

    /// The history as it stood just before stamp `before`: the calls invoked earlier, those
    /// that had not returned by then pending. Every prefix of a linearizable history is
    /// linearizable, so a non-linearizable prefix proves the whole history is not; that is
    /// how [`check`](History::check) finds a short witness.
    pub fn prefix(&self, before: u64) -> History {
        let calls = self.calls.iter().filter(|call| call.invoked < before).copied().collect();
        let cut = Some(self.cut.map_or(before, |cut| cut.min(before)));
        History { calls, cut }
    }

    /// Whether `call` had not returned when this history was cut (see [`prefix`](Self::prefix)).
    pub fn is_pending(&self, call: &Call) -> bool {
        self.cut.is_some_and(|cut| call.returned >= cut)
    }

    /// When `call` returned, or never for a pending call.
    pub(super) fn end(&self, call: &Call) -> u64 {
        if self.is_pending(call) { u64::MAX } else { call.returned }
    }

    /// Every event's stamp, ascending: each call's invocation, and its return unless it is
    /// pending.
    pub(super) fn events(&self) -> Vec<u64> {
        let mut stamps: Vec<u64> = self
            .calls
            .iter()
            .flat_map(|call| {
                [Some(call.invoked), (!self.is_pending(call)).then_some(call.returned)]
            })
            .flatten()
            .collect();
        stamps.sort_unstable();
        stamps
    }

    /// The calls, by invocation.
    pub fn calls(&self) -> &[Call] {
        &self.calls
    }

    /// How many calls.
    pub fn len(&self) -> usize {
        self.calls.len()
    }

    /// Whether there are no calls.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty()
    }
}

impl fmt::Display for History {
    /// One call per line, by invocation, with stamps renumbered from 0 so that overlap is
    /// easy to see: `t1 [  3..  6] touch(#2, now=7) -> Some(user-1)`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let stamps = self.events();
        let rank = |stamp: u64| stamps.binary_search(&stamp).unwrap_or(0);
        for call in &self.calls {
            let (thread, invoked) = (call.thread, rank(call.invoked));
            if self.is_pending(call) {
                writeln!(f, "  t{thread} [{invoked:>3}..   ] {} -> (pending)", call.op)?;
            } else {
                let returned = rank(call.returned);
                writeln!(
                    f,
                    "  t{thread} [{invoked:>3}..{returned:>3}] {} -> {}",
                    call.op, call.ret
                )?;
            }
        }
        Ok(())
    }
}

/// Runs `threads[t]`'s calls on thread `t`, all threads released together, through one
/// [`Recorder`] on `store`, and returns the finished [`History`] (a quiescent `len` appended).
/// If a store call panicked, returns what it said instead: a checker reports that rather than
/// dying with the store.
///
/// The start is a spinning gate rather than `std::sync::Barrier`, whose futex wake-ups arrive
/// tens of microseconds apart: longer than a whole scenario takes, which would leave the
/// threads running one after another.
pub fn record_threads<S: SessionStore>(store: S, threads: &[Vec<Op>]) -> Result<History, String> {
    let recorder = Recorder::new(store);
    let start = SpinGate::new(threads.len());
    let logs: Result<Vec<Vec<Call>>, String> = std::thread::scope(|s| {
        let handles: Vec<_> = threads
            .iter()
            .enumerate()
            .map(|(thread, ops)| {
                let (recorder, start) = (&recorder, &start);
                s.spawn(move || {
                    let mut log = recorder.log(thread);
                    start.wait();
                    for op in ops {
                        log.call(*op);
                    }
                    log.into_calls()
                })
            })
            .collect();
        handles
            .into_iter()
            .map(|handle| {
                handle.join().map_err(|panic| {
                    format!("a store call panicked: {}", crate::check::panic_message(&*panic))
                })
            })
            .collect()
    });
    Ok(recorder.finish(logs?))
}

/// A start gate that spins: every thread leaves it within a few nanoseconds of the last one
/// arriving.
struct SpinGate {
    waiting: AtomicUsize,
}

impl SpinGate {
    fn new(threads: usize) -> Self {
        Self { waiting: AtomicUsize::new(threads) }
    }

    fn wait(&self) {
        self.waiting.fetch_sub(1, Ordering::AcqRel);
        let mut spins = 0u32;
        while self.waiting.load(Ordering::Acquire) != 0 {
            spins += 1;
            // More threads than cores: let the late ones run.
            if spins % 64 == 0 {
                std::thread::yield_now();
            } else {
                std::hint::spin_loop();
            }
        }
    }
}
