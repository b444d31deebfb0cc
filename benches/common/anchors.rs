//! The anchors: the best-known concurrent maps, dashmap, papaya and scc, holding the same
//! sessions (user + activity word) with the same hasher as our stores, so a ratio against
//! them compares coordination and nothing else.
//!
//! They implement [`SessionStore`] (a local type may implement the library's trait), so the
//! harness drives stores and anchors through one path, `Box<dyn SessionStore>`, with the same
//! single virtual call per operation.

use sessionlab::session::Session;
use sessionlab::sync::SessionHasher;
use sessionlab::{Config, Occupied, SessionId, SessionStore, StoreKind, Tick, UserId};
use std::cell::Cell;

/// A map to measure: a store from the registry or an anchor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Contender {
    /// One of the lab's stores.
    Store(StoreKind),
    /// dashmap 6: N `RwLock<hashbrown>` shards, like our sharded store.
    DashMap,
    /// papaya 0.2: lock-free reads, incremental resize, epoch reclamation (seize).
    Papaya,
    /// scc 3: bucket-level locks, lock-free reads through epochs (sdd).
    Scc,
}

impl Contender {
    /// Every correct store (the registry decides, so a new store appears here by itself),
    /// then the anchors.
    pub fn all() -> Vec<Contender> {
        StoreKind::correct()
            .map(Contender::Store)
            .chain([Contender::DashMap, Contender::Papaya, Contender::Scc])
            .collect()
    }

    /// The name in reports.
    pub fn name(self) -> &'static str {
        match self {
            Contender::Store(kind) => kind.name(),
            Contender::DashMap => "dashmap",
            Contender::Papaya => "papaya",
            Contender::Scc => "scc",
        }
    }

    /// Whether every write copies the whole map, so prefilling n sessions costs O(n²).
    pub fn copies_on_write(self) -> bool {
        self == Contender::Store(StoreKind::Cow)
    }

    /// An empty map.
    pub fn build(self, config: &Config) -> Box<dyn SessionStore> {
        let (ttl, capacity) = (config.ttl, config.capacity);
        match self {
            Contender::Store(kind) => kind.build(config),
            Contender::DashMap => Box::new(DashMapAnchor {
                ttl,
                map: dashmap::DashMap::with_capacity_and_hasher(capacity, SessionHasher::default()),
            }),
            Contender::Papaya => Box::new(PapayaAnchor {
                ttl,
                map: papaya::HashMap::builder()
                    .capacity(capacity)
                    .hasher(SessionHasher::default())
                    .build(),
            }),
            Contender::Scc => Box::new(SccAnchor {
                ttl,
                map: scc::HashMap::with_capacity_and_hasher(capacity, SessionHasher::default()),
            }),
        }
    }
}

struct DashMapAnchor {
    ttl: u64,
    map: dashmap::DashMap<SessionId, Session, SessionHasher>,
}

impl SessionStore for DashMapAnchor {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match self.map.entry(id) {
            dashmap::Entry::Occupied(_) => Err(Occupied),
            dashmap::Entry::Vacant(slot) => {
                slot.insert(Session::new(user, now));
                Ok(())
            }
        }
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let session = self.map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.map.remove(id).map(|(_, session)| session.user)
    }
    fn sweep(&self, now: Tick) -> usize {
        // retain holds each shard's write lock while it decides, as our sharded store does.
        let removed = Cell::new(0);
        self.map.retain(|_, session| {
            let live = session.activity.is_live(self.ttl, now);
            removed.set(removed.get() + usize::from(!live));
            live
        });
        removed.get()
    }
    fn len(&self) -> usize {
        self.map.len()
    }
}

/// papaya is lock-free, so its sweep uses the tombstone protocol (`sessionlab::docs::semantics`,
/// "The activity word and its tombstone"): the CAS to the tombstone decides, and papaya's `retain` then unlinks. One
/// difference from the spec, harmless here because benchmark ids are never reused: between
/// the two steps, an insert of the same id is refused.
struct PapayaAnchor {
    ttl: u64,
    map: papaya::HashMap<SessionId, Session, SessionHasher>,
}

impl SessionStore for PapayaAnchor {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match self.map.pin().try_insert(id, Session::new(user, now)) {
            Ok(_) => Ok(()),
            Err(_) => Err(Occupied),
        }
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = self.map.pin();
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let map = self.map.pin();
        let session = map.remove(id)?;
        // A session a sweep tombstoned is already gone as far as callers can tell.
        session.activity.tombstone().then_some(session.user)
    }
    fn sweep(&self, now: Tick) -> usize {
        let mut removed = 0;
        self.map.pin().retain(|_, session| {
            let doomed = session.activity.tombstone_if_expired(self.ttl, now);
            removed += usize::from(doomed);
            !doomed && session.activity.last_active().is_some()
        });
        removed
    }
    fn len(&self) -> usize {
        self.map.len()
    }
}

struct SccAnchor {
    ttl: u64,
    map: scc::HashMap<SessionId, Session, SessionHasher>,
}

impl SessionStore for SccAnchor {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.map.insert_sync(id, Session::new(user, now)).map_err(|_| Occupied)
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        self.map
            .read_sync(id, |_, session| {
                session.activity.touch(self.ttl, now).then_some(session.user)
            })
            .flatten()
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.map.remove_sync(id).map(|(_, session)| session.user)
    }
    fn sweep(&self, now: Tick) -> usize {
        // retain_sync holds each bucket's lock while it decides.
        let mut removed = 0;
        self.map.retain_sync(|_, session| {
            let live = session.activity.is_live(self.ttl, now);
            removed += usize::from(!live);
            live
        });
        removed
    }
    fn len(&self) -> usize {
        self.map.len()
    }
}
