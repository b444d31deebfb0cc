//! [`BenchSpec`]: how to set up and run a mix, and the deterministic ids it uses.

use super::{Driver, MapUnderTest, Mix};
use crate::id::SessionId;
use crate::session::UserId;
use crate::time::Tick;
use std::time::Duration;

/// The tick at which prefilled sessions are created and the sweeper sweeps.
pub const START: Tick = 1 << 40;

/// How to set up and run a mix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BenchSpec {
    /// The operation mix.
    pub mix: Mix,
    /// Live sessions stored before the timed part starts, shared out among the threads.
    pub prefill: usize,
    /// Seed for every thread's choices (each derives its own stream).
    pub seed: u64,
    /// How long the session mix's sweeper rests between sweeps.
    pub sweep_every: Duration,
}

impl BenchSpec {
    /// `mix` over 10,000 prefilled sessions, seed 1, a sweep every millisecond.
    pub fn new(mix: Mix) -> Self {
        Self { mix, prefill: 10_000, seed: 1, sweep_every: Duration::from_millis(1) }
    }

    /// Sets the prefill.
    pub fn with_prefill(mut self, prefill: usize) -> Self {
        self.prefill = prefill;
        self
    }

    /// The ttl the maps must be built with: long enough that no live session expires during a
    /// run, short enough that the session mix's idle sessions are expired at [`START`].
    pub fn ttl(&self) -> u64 {
        START / 2
    }

    /// The capacity hint to build maps with: the prefill plus the idle sessions.
    pub fn capacity(&self) -> usize {
        self.prefill + self.idle()
    }

    fn idle(&self) -> usize {
        if self.mix.sweeper { self.prefill / 2 } else { 0 }
    }

    /// Fills `map` (built empty, with [`ttl`](Self::ttl)) and returns one [`Driver`] per
    /// thread, each owning an equal share of the live sessions. Not timed by [`run_drivers`](super::run_drivers).
    pub fn prepare<M: MapUnderTest + ?Sized>(&self, map: &M, threads: usize) -> Vec<Driver> {
        let threads = threads.max(1);
        let mut pools: Vec<Vec<SessionId>> =
            (0..threads).map(|_| Vec::with_capacity(self.prefill / threads + 1)).collect();
        for i in 0..self.prefill {
            let id = prefill_id(i as u64);
            map.insert(id, UserId(i as u64), START);
            pools[i % threads].push(id);
        }
        for i in 0..self.idle() {
            map.insert(idle_id(i as u64), UserId(i as u64), 0);
        }
        pools
            .into_iter()
            .enumerate()
            .map(|(thread, pool)| Driver::new(self.mix, self.seed, thread, pool))
            .collect()
    }
}

/// The id of prefilled session `i`. Ids are deterministic so runs repeat exactly; they are
/// still hashed with the keyed hasher, so they spread like random ids.
pub fn prefill_id(i: u64) -> SessionId {
    SessionId::fixed(i)
}

/// The id of idle (already expired) session `i` in the session mix.
pub fn idle_id(i: u64) -> SessionId {
    SessionId::fixed(1 << 62 | i)
}

/// The `n`-th fresh id of thread `thread`: distinct from every other thread's and from the
/// prefill.
pub fn fresh_id(thread: usize, n: u64) -> SessionId {
    SessionId::fixed((thread as u64 + 1) << 48 | (n & ((1 << 48) - 1)))
}
