// WRONG: sweep unlinks expired sessions without the tombstone CAS: a touch racing it succeeds on a removed session.
// expect: loom::
//! # Exercise 6: copy-on-write, with `rcu` and the tombstone sweep
//!
//! The whole map sits behind one atomically swappable pointer
//! ([`CowCell`](sessionlab::sync::CowCell): arc-swap normally, a loom-visible stand-in under
//! loom). Readers load the current map and never wait. A writer does *read-copy-update*
//! (`CowCell::update`): clone the map, change the clone, publish it with a compare-and-swap
//! of the pointer, and start again if another writer published first. Sessions are `Arc`ed,
//! so every version of the map shares one `Session` and its activity word.
//!
//! The hard part is removal. A touch CASes the activity word in the *current* map, while a
//! sweep is building the *next* map: if the sweep just dropped expired entries from its clone,
//! a touch that succeeded in between would be lost (a live session swept). So removal is two
//! steps: (1) CAS the word to the tombstone ([`Activity::tombstone`] /
//! [`Activity::tombstone_if_expired`]), which is the linearization point: a touch and a
//! removal are now CASes on one word, and only one can win; (2) publish a map without that
//! very entry, compared by pointer (`Arc::ptr_eq`), so a new session that reused the id is
//! never unlinked. A tombstoned entry is absent to everyone (see `insert` and `len`).
//!
//! Your part: `remove` and `sweep` (and the `unlink` helper). The cost lesson: every write
//! clones the whole map, O(n).
//!
//! ## What this exercise teaches against (each is a check that fails it)
//!
//! - **Unlinking without winning the tombstone CAS**: loom's `remove_remove` (two logouts
//!   both get the user) and the remove-vs-sweep race.
//! - **A tombstone that is never unlinked** (a leak that `len` does not show): the memory check
//!   (100 000 sessions come and go; the live bytes must stay flat).
//! - **Unlinking by id instead of by pointer**: loom's `remove_insert_same_id` (a re-login
//!   racing the logout is unlinked with it).
//! - **A sweep that skips the tombstone**: loom's touch/sweep scenarios.
//!
//! Grading (`cargo run -- exercise check 6`): conformance, linearizability, loom scenarios.
//!
//! [`Activity::tombstone`]: sessionlab::activity::Activity::tombstone
//! [`Activity::tombstone_if_expired`]: sessionlab::activity::Activity::tombstone_if_expired

use sessionlab::session::Session;
use sessionlab::sync::{Arc, CowCell, HashMap, hash_map_with_capacity};
use sessionlab::{Config, Occupied, SessionId, SessionStore, Tick, UserId};

type Map = HashMap<SessionId, Arc<Session>>;

/// A copy-on-write store: lock-free reads, O(n) writes.
pub struct CowStore {
    ttl: u64,
    map: CowCell<Map>,
}

impl CowStore {
    /// An empty store built from `config`.
    pub fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: CowCell::new(hash_map_with_capacity(config.capacity)) }
    }

    /// Step 2 of a removal: publishes a map without the entries in `doomed`, each compared by
    /// pointer, so only the very sessions this thread tombstoned are unlinked.
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
        // Step 1: of two removers (or a remover and a sweep) exactly one wins this CAS.
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
            .filter(|(_, session)| !session.activity.is_live(self.ttl, now))
            .map(|(id, session)| (*id, Arc::clone(session)))
            .collect();
        // One `rcu` for the whole sweep: one O(n) copy, not one per expired session.
        self.unlink(&doomed);
        doomed.len()
    }

    fn len(&self) -> usize {
        self.map.load().values().filter(|s| s.activity.last_active().is_some()).count()
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    #[test]
    fn sweep_unlinks_what_it_tombstoned() {
        let store = CowStore::new(&Config::new(10));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        store.insert(SessionId::fixed(2), UserId(2), 5).unwrap();
        assert_eq!(store.sweep(10), 1);
        assert_eq!(store.map.load().len(), 1, "the tombstoned entry was not unlinked");
        assert_eq!(store.touch(&SessionId::fixed(2), 10), Some(UserId(2)));
    }

    #[test]
    fn remove_wins_once() {
        let store = CowStore::new(&Config::new(10));
        store.insert(SessionId::fixed(1), UserId(1), 0).unwrap();
        assert_eq!(store.remove(&SessionId::fixed(1)), Some(UserId(1)));
        assert_eq!(store.remove(&SessionId::fixed(1)), None);
        assert!(store.map.load().is_empty());
    }
}
