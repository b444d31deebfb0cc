//! What a store keeps per session: the [`UserId`] it belongs to, and its [`Activity`] word.

use crate::activity::Activity;
use crate::time::Tick;
use std::fmt;

/// The user a session belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(pub u64);

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "user-{}", self.0)
    }
}

/// A stored session for stores whose map values are shared by reference: the user and the
/// atomic activity word.
#[derive(Debug)]
pub struct Session {
    /// Who the session belongs to. Immutable.
    pub user: UserId,
    /// When it was last active, or tombstoned.
    pub activity: Activity,
}

impl Session {
    /// A session for `user`, last active at `now`.
    pub fn new(user: UserId, now: Tick) -> Self {
        Self { user, activity: Activity::new(now) }
    }
}
