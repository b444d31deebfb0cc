//! `CowStore`: copy-on-write with [`arc_swap`]: readers never wait, every write copies the map.
//!
//! **Technique.** The whole map sits behind one atomically swappable pointer
//! ([`CowCell`](crate::sync::CowCell), arc-swap outside loom). A touch loads the current map
//! (no lock, no writes to shared memory) and CASes the session's [`Activity`] word. Insert and
//! remove are *read-copy-update*: clone the map, change the clone, and publish it with a
//! compare-and-swap of the pointer; if another writer published first, start again from its
//! map. Sessions are `Arc`ed, so a clone copies pointers, and every version of the map shares
//! the same session (and so the same activity word).
//!
//! **Invariant (the tombstone protocol).** Removal is two steps: first CAS the session's word
//! to the tombstone (the linearization point), then publish a map without that very entry
//! (compared by pointer, so a newer session that reused the id is never unlinked). A
//! tombstoned entry is absent to everyone: touch fails on it, remove returns `None`, insert
//! may replace it, `len` skips it. This is how a touch and a sweep can never both win: both
//! are CASes on one word, and the second sees the first.
//!
//! **Cost.** Reads: one arc-swap load, wait-free in practice. Writes: O(n) to clone the map,
//! and under write contention the clone is thrown away and redone. With a million sessions a
//! login copies a million entries. The lesson: great for read-mostly data, wrong for a session
//! table with steady logins.
//!
//! **Where it breaks.** Write throughput falls as the map grows; old versions stay alive as
//! long as a reader holds them, so memory can spike under load.

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{Arc, CowCell, HashMap, hash_map_with_capacity};
use crate::time::Tick;

/// The map a copy-on-write store publishes.
pub(crate) type Map = HashMap<SessionId, Arc<Session>>;

/// A copy-on-write store: lock-free reads, O(n) writes.
pub struct CowStore {
    ttl: u64,
    // `pub(crate)`: the load-store mutant (`check::mutants`) wraps this store and publishes
    // into this cell the wrong way.
    pub(crate) map: CowCell<Map>,
}

impl CowStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: CowCell::new(hash_map_with_capacity(config.capacity)) }
    }

    /// Publishes a map without the entries in `doomed`, each compared by pointer: only the
    /// very sessions this thread tombstoned are unlinked.
    fn unlink(&self, doomed: &[(SessionId, Arc<Session>)]) {
        if doomed.is_empty() {
            return;
        }
        self.map.update(|map| {
            let mut next = map.clone();
            for (id, session) in doomed {
                if next.get(id).is_some_and(|current| Arc::ptr_eq(current, session)) {
                    next.remove(id);
                }
            }
            (Some(next), ())
        });
    }
}

impl SessionStore for CowStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let session = Arc::new(Session::new(user, now));
        self.map.update(|map| match map.get(&id) {
            Some(existing) if existing.activity.last_active().is_some() => (None, Err(Occupied)),
            // Absent, or tombstoned and waiting to be unlinked: the id is free.
            _ => {
                let mut next = map.clone();
                next.insert(id, Arc::clone(&session));
                (Some(next), Ok(()))
            }
        })
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.map.load();
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let session = Arc::clone(self.map.load().get(id)?);
        if !session.activity.tombstone() {
            return None;
        }
        let user = session.user;
        self.unlink(&[(*id, session)]);
        Some(user)
    }

    fn sweep(&self, now: Tick) -> usize {
        let doomed: Vec<(SessionId, Arc<Session>)> = self
            .map
            .load()
            .iter()
            .filter(|(_, session)| session.activity.tombstone_if_expired(self.ttl, now))
            .map(|(id, session)| (*id, Arc::clone(session)))
            .collect();
        self.unlink(&doomed);
        doomed.len()
    }

    fn len(&self) -> usize {
        self.map.load().values().filter(|s| s.activity.last_active().is_some()).count()
    }
}
