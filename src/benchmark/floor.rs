//! [`Floor`]: the uncoordinated baseline every ratio is taken against.

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::sync::{HashMap, hash_map_with_capacity};
use crate::time::Tick;

/// The floor: a plain `HashMap` with the lab's hasher, owned by one thread, doing a store's
/// work (the same expiry check, the same never-backwards touch) with no coordination at all.
/// Every single-thread ratio in `BENCHMARKS.md` is a store's time over this one's.
#[derive(Debug)]
pub struct Floor {
    ttl: u64,
    map: HashMap<SessionId, (UserId, Tick)>,
}

impl Floor {
    /// An empty floor map with time-to-live `ttl`.
    pub fn new(ttl: u64, capacity: usize) -> Self {
        Self { ttl, map: hash_map_with_capacity(capacity) }
    }

    /// [`MapUnderTest::touch`](super::MapUnderTest::touch) without a lock.
    pub fn touch(&mut self, id: &SessionId, now: Tick) -> bool {
        match self.map.get_mut(id) {
            Some((_, last)) if !is_expired(*last, self.ttl, now) => {
                *last = (*last).max(now);
                true
            }
            _ => false,
        }
    }

    /// [`MapUnderTest::insert`](super::MapUnderTest::insert) without a lock.
    pub fn insert(&mut self, id: SessionId, user: UserId, now: Tick) -> bool {
        match self.map.entry(id) {
            std::collections::hash_map::Entry::Occupied(_) => false,
            std::collections::hash_map::Entry::Vacant(slot) => {
                slot.insert((user, now));
                true
            }
        }
    }

    /// [`MapUnderTest::remove`](super::MapUnderTest::remove) without a lock.
    pub fn remove(&mut self, id: &SessionId) -> bool {
        self.map.remove(id).is_some()
    }

    /// [`MapUnderTest::sweep`](super::MapUnderTest::sweep) without a lock.
    pub fn sweep(&mut self, now: Tick) -> usize {
        let before = self.map.len();
        self.map.retain(|_, (_, last)| !is_expired(*last, self.ttl, now));
        before - self.map.len()
    }

    /// Sessions stored.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no session is stored.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }
}
