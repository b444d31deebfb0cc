//! Sweeping idle sessions: the single-flight [`SweepGate`] and the background [`Sweeper`].
//!
//! The Go lesson sweeps from its logout handler, guarded by a global timestamp:
//!
//! ```go
//! if time.Now().Sub(dbSessionsCleaned) > (time.Second * 30) {
//!     go cleanSessions()            // ... which ends with dbSessionsCleaned = time.Now()
//! }
//! ```
//!
//! Two logouts that read the timestamp before either writes it both start a sweep, and the
//! timestamp itself is a second unsynchronised write. [`LessonGate`] is that pattern (made of
//! atomics, so it is a logic race rather than undefined behaviour) and [`SweepGate`] is the
//! fix: a `compare_exchange` on the last-sweep tick, so of any number of callers past the
//! interval exactly one wins.

use crate::sync::{AtomicU64, Ordering};
use crate::time::Tick;

/// A single-flight gate: at most one caller per interval is told to sweep.
#[derive(Debug)]
pub struct SweepGate {
    interval: u64,
    last_sweep: AtomicU64,
}

impl SweepGate {
    /// A gate that opens once per `interval` ticks, counting from `start`.
    pub fn new(interval: u64, start: Tick) -> Self {
        Self { interval, last_sweep: AtomicU64::new(start) }
    }

    /// Whether the caller should sweep now. Of several callers at or past the interval,
    /// exactly one gets `true`: the one whose compare-and-swap moves the last-sweep tick.
    pub fn try_claim(&self, now: Tick) -> bool {
        // The compare-and-swap on this one word is what picks the winner: of the callers that
        // read the same `last`, exactly one moves it, and every other CAS fails (all
        // read-modify-writes of one atomic are totally ordered). No ordering makes a load see
        // a newer value, and the word guards no other memory, so `Relaxed` would do here; we
        // use Acquire/AcqRel as the activity word does (`crate::activity`), at no cost on
        // x86-64, where the CAS is a locked instruction either way.
        let last = self.last_sweep.load(Ordering::Acquire);
        if now < last.saturating_add(self.interval) {
            return false;
        }
        self.last_sweep.compare_exchange(last, now, Ordering::AcqRel, Ordering::Acquire).is_ok()
    }

    /// The tick of the last claimed sweep.
    pub fn last_sweep(&self) -> Tick {
        self.last_sweep.load(Ordering::Acquire)
    }
}

/// The lesson's `dbSessionsCleaned` check, kept **wrong on purpose**: a load, a comparison
/// and a separate store. Two callers can both pass the check before either stores, so both
/// sweep. (With plain variables, as in Go, it would also be a data race; atomics leave only
/// the logic race, which is the part the loom scenario shows.)
#[derive(Debug)]
pub struct LessonGate {
    interval: u64,
    cleaned: AtomicU64,
}

impl LessonGate {
    /// A gate that should open once per `interval` ticks, counting from `start`.
    pub fn new(interval: u64, start: Tick) -> Self {
        Self { interval, cleaned: AtomicU64::new(start) }
    }

    /// Check-then-act: *not* single-flight.
    pub fn try_claim(&self, now: Tick) -> bool {
        if now < self.cleaned.load(Ordering::Acquire).saturating_add(self.interval) {
            return false;
        }
        self.cleaned.store(now, Ordering::Release);
        true
    }
}

// `crossbeam_loom` too: crossbeam-channel does not build in crossbeam's loom mode (see
// Cargo.toml), and a background thread has no place in a model anyway.
#[cfg(not(any(loom, crossbeam_loom)))]
pub use background::{SweepStats, Sweeper};

#[cfg(not(any(loom, crossbeam_loom)))]
mod background {
    use crate::store::SessionStore;
    use crate::sync::{Arc, thread};
    use crate::time::{Clock, Tick};
    use crossbeam_channel::{Sender, select, tick};
    use std::time::Duration;

    /// What a [`Sweeper`] did.
    #[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
    pub struct SweepStats {
        /// Sweeps run.
        pub sweeps: u64,
        /// Sessions they removed.
        pub removed: u64,
    }

    /// A background thread that sweeps a store every interval: the Rust answer to
    /// `go cleanSessions()`. Dropping it (or calling [`Sweeper::stop`]) stops the thread
    /// promptly, without waiting out the interval, and joins it.
    pub struct Sweeper {
        stop: Option<Sender<()>>,
        thread: Option<thread::JoinHandle<SweepStats>>,
    }

    impl Sweeper {
        /// Starts sweeping `store` every `interval`, at the time `clock` gives.
        pub fn spawn<S>(store: Arc<S>, clock: Clock, interval: Duration) -> Self
        where
            S: SessionStore + ?Sized + 'static,
        {
            Self::spawn_with(clock, interval, move |now| store.sweep(now))
        }

        /// Starts calling `sweep` every `interval` with the time `clock` gives; `sweep`
        /// returns how many sessions it removed. For a sweep that is not one
        /// [`SessionStore::sweep`] call, such as a remote store's, which can fail and must
        /// say so somewhere.
        pub fn spawn_with<F>(clock: Clock, interval: Duration, mut sweep: F) -> Self
        where
            F: FnMut(Tick) -> usize + Send + 'static,
        {
            let (stop, stopped) = crossbeam_channel::bounded::<()>(0);
            let ticker = tick(interval);
            let thread = thread::Builder::new()
                .name("sweeper".into())
                .spawn(move || {
                    let mut stats = SweepStats::default();
                    loop {
                        select! {
                            // A message or a disconnect (the sender dropped) both mean stop.
                            recv(stopped) -> _ => return stats,
                            recv(ticker) -> _ => {
                                stats.removed += sweep(clock.now()) as u64;
                                stats.sweeps += 1;
                            }
                        }
                    }
                })
                .expect("the OS refused to start the sweeper thread");
            Self { stop: Some(stop), thread: Some(thread) }
        }

        /// Stops the thread and returns what it did.
        pub fn stop(mut self) -> SweepStats {
            self.shutdown()
        }

        fn shutdown(&mut self) -> SweepStats {
            drop(self.stop.take());
            match self.thread.take().map(thread::JoinHandle::join) {
                Some(Ok(stats)) => stats,
                // The store panicked inside a sweep; the panic was already reported on stderr.
                Some(Err(_)) | None => SweepStats::default(),
            }
        }
    }

    impl Drop for Sweeper {
        fn drop(&mut self) {
            self.shutdown();
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;
    use crate::id::SessionId;
    use crate::session::UserId;
    use crate::store::{Config, SessionStore};
    use crate::stores::MutexStore;
    use crate::sync::Arc;
    use crate::time::Clock;
    use std::time::{Duration, Instant};

    #[test]
    fn gate_opens_once_per_interval() {
        let gate = SweepGate::new(10, 0);
        assert!(!gate.try_claim(9));
        assert!(gate.try_claim(10));
        assert!(!gate.try_claim(15));
        assert!(gate.try_claim(20));
    }

    #[test]
    fn gate_is_single_flight_on_real_threads() {
        for _ in 0..200 {
            let gate = SweepGate::new(10, 0);
            let winners: usize = std::thread::scope(|s| {
                let handles: Vec<_> = (0..4).map(|_| s.spawn(|| gate.try_claim(10))).collect();
                handles.into_iter().map(|h| usize::from(h.join().unwrap())).sum()
            });
            assert_eq!(winners, 1);
        }
    }

    #[test]
    fn lesson_gate_is_fine_sequentially() {
        // Sequentially the lesson's gate looks fine; its flaw needs an interleaving (the loom
        // suite shows it). Here: both callers check before either stores.
        let gate = LessonGate::new(10, 0);
        assert!(gate.try_claim(10));
        assert!(!gate.try_claim(11));
    }

    #[test]
    fn background_sweeper_removes_idle_sessions_and_stops_promptly() {
        let store = Arc::new(MutexStore::new(&Config::new(1)));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        let sweeper = Sweeper::spawn(Arc::clone(&store), Clock::start(), Duration::from_millis(5));
        let deadline = Instant::now() + Duration::from_secs(5);
        while !store.is_empty() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        assert!(store.is_empty(), "the sweeper never removed the idle session");
        // An hour-long interval must not delay shutdown.
        let slow = Sweeper::spawn(Arc::clone(&store), Clock::start(), Duration::from_secs(3600));
        let started = Instant::now();
        drop(slow);
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(sweeper.stop().sweeps >= 1);
    }
}
