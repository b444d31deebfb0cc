//! Time in the lab: the [`Tick`] every store is given, and the [`Clock`] front ends read it
//! from.
//!
//! Stores never read a clock themselves: every operation is passed its `now` (see
//! [`docs::semantics`](crate::docs::semantics), "Why time is passed in"). So tests and model
//! checks can pass any time they like, including times that go backwards, as they do on a
//! real server, where threads read the clock at different moments and arrive in any order.

use std::time::Instant;

/// Milliseconds on the caller's clock.
pub type Tick = u64;

/// A millisecond clock for front ends (stores never read one): ticks since it started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock reading 0 now.
    pub fn start() -> Self {
        Self { start: Instant::now() }
    }

    /// Milliseconds since [`Clock::start`].
    pub fn now(&self) -> Tick {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}
