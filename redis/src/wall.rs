//! Wall-clock ticks: the time base every process sharing a remote store must agree on.
//!
//! In one process, ticks count milliseconds from the process's own `Clock::start()`, and every
//! thread reads the same clock. Two processes (on one machine or many) each start their clock
//! at their own moment, so their ticks are not comparable: a session created by a process that
//! started an hour ago carries ticks an hour ahead of a process started just now. Touches from
//! the younger process would then never advance `last` (touch keeps the larger tick), and its
//! sweeps would see every session of the older one as fresh, or the other way round, expire
//! them early.
//!
//! [`OnWallClock`] fixes the time base: it adds to every tick the Unix time (in milliseconds)
//! at which the process's clock read 0, so the store sees **Unix milliseconds** from every
//! process. Elapsed time still comes from the process's monotonic clock, so the ticks of one
//! process never go backwards even if the system clock is stepped; the system clock is read
//! once, when the adapter is made.
//!
//! **Skew.** Processes whose system clocks differ by `s` ms disagree on every tick by `s`. The
//! store's rules keep that harmless as long as `s` is small next to the ttl: touch keeps the
//! larger `last` (a lagging process never moves a session backwards), and a session is judged
//! by whichever process touches or sweeps it, so an idle session lives between `ttl - s` and
//! `ttl + s` of real time. With NTP (a few ms of skew) and a ttl of minutes that is noise; the
//! lab's two-process test runs with a skew of a quarter of the ttl. Keep the skew well under
//! the ttl: at `s >= ttl` a process ahead by `s` sweeps sessions the moment another creates
//! them.

use sessionlab::{FallibleSessionStore, SessionId, Tick, TryInsert, UserId};
use std::time::{SystemTime, UNIX_EPOCH};

/// Milliseconds since the Unix epoch by the system clock (0 before 1970).
pub fn unix_millis() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |since| u64::try_from(since.as_millis()).unwrap_or(u64::MAX))
}

/// A store whose callers pass process ticks (milliseconds since their clock started), seen by
/// the inner store as Unix milliseconds (see the module docs).
#[derive(Debug)]
pub struct OnWallClock<S> {
    store: S,
    /// Unix milliseconds when the process clock read 0 (plus the configured offset).
    base: Tick,
}

impl<S> OnWallClock<S> {
    /// Wraps `store`. `process_now` is the process clock's reading now; `offset_ms` is added to
    /// the system clock (0 in production; tests use it to simulate a skewed machine).
    pub fn new(store: S, process_now: Tick, offset_ms: i64) -> Self {
        let wall = unix_millis().saturating_add_signed(offset_ms);
        Self { store, base: wall.saturating_sub(process_now) }
    }

    /// The wall tick for a process tick.
    pub fn wall(&self, process_tick: Tick) -> Tick {
        self.base.saturating_add(process_tick)
    }

    /// The inner store.
    pub fn inner(&self) -> &S {
        &self.store
    }
}

impl<S: FallibleSessionStore> FallibleSessionStore for OnWallClock<S> {
    type Error = S::Error;

    fn try_insert(&self, id: SessionId, user: UserId, now: Tick) -> TryInsert<Self::Error> {
        self.store.try_insert(id, user, self.wall(now))
    }
    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, Self::Error> {
        self.store.try_touch(id, self.wall(now))
    }
    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, Self::Error> {
        self.store.try_remove(id)
    }
    fn try_sweep(&self, now: Tick) -> Result<usize, Self::Error> {
        self.store.try_sweep(self.wall(now))
    }
    fn try_len(&self) -> Result<usize, Self::Error> {
        self.store.try_len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sessionlab::{Config, StoreKind};
    use std::sync::Arc;

    #[test]
    fn two_processes_started_apart_share_one_time_base() {
        // In-memory stores are fallible stores that never fail: the ticks that reach it are
        // what this test watches.
        let shared = Arc::new(StoreKind::Sharded.build(&Config::new(1_000)));
        // The old process has been up for an hour; the young one just started.
        let old = OnWallClock::new(Arc::clone(&shared), 3_600_000, 0);
        let young = OnWallClock::new(Arc::clone(&shared), 0, 0);
        let base = unix_millis();
        assert!(old.wall(3_600_000).abs_diff(base) < 1_000);
        assert!(young.wall(0).abs_diff(base) < 1_000);
        let id = SessionId::fixed(1);
        young.try_insert(id, UserId(1), 0).unwrap().unwrap();
        // Half a ttl later, by both processes' clocks, the session is alive for both.
        assert_eq!(old.try_sweep(3_600_500).unwrap(), 0);
        assert_eq!(young.try_touch(&id, 500).unwrap(), Some(UserId(1)));
        assert_eq!(old.try_sweep(3_601_400).unwrap(), 0, "the young touch counts for the old");
        assert_eq!(old.try_sweep(3_601_600).unwrap(), 1);
    }

    #[test]
    fn an_offset_shifts_every_tick() {
        let ahead = OnWallClock::new((), 0, 250);
        let behind = OnWallClock::new((), 0, -250);
        let gap = ahead.wall(10) - behind.wall(10);
        assert!((499..=520).contains(&gap), "{gap}");
    }
}
