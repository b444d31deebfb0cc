//! `ShardedStore`: N independent `RwLock<HashMap>` shards, each on its own cache line.
//!
//! **Technique.** The id's hash picks one of N shards (N a power of two, by default the next
//! power of two of 4 x the core count); each shard is the [`RwLockStore`](super::RwLockStore)
//! idea in miniature: touch under the shard's read lock plus a CAS on the activity word,
//! insert and remove under its write lock. Shards are [`CachePadded`] so two cores locking
//! neighbouring shards do not fight over one cache line (false sharing). A sweep visits the
//! shards one at a time, holding one shard's write lock at a time.
//!
//! **Invariant.** An id always maps to the same shard (all shards share one keyed hasher), so
//! every operation on one id is serialised by that shard's lock exactly as in the single-lock
//! store, and per-key linearizability follows. Nothing relates two shards, which is fine:
//! linearizability is local to each key.
//!
//! **Cost.** The hash is computed twice (once for the shard, once inside the shard's map).
//! Contention drops by about N; a sweep pauses only the requests that hit the shard being
//! swept, for 1/N of the walk. [`len`](SessionStore::len) locks every shard in turn.
//!
//! **Where it breaks.** `len` is not a snapshot while writers run (each shard is counted at a
//! different instant), and a hot key still serialises on its shard.

use crate::id::SessionId;
use crate::session::{Session, Tick, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, RwLock, RwLockReadGuard, RwLockWriteGuard, SessionHasher};
use crossbeam_utils::CachePadded;
use std::collections::hash_map::Entry;
use std::hash::BuildHasher;

type Shard = CachePadded<RwLock<HashMap<SessionId, Session>>>;

/// A store of N cache-padded `RwLock<HashMap>` shards.
pub struct ShardedStore {
    ttl: u64,
    hasher: SessionHasher,
    /// `64 - log2(shards)`: the shard index is the hash's top bits below hashbrown's 7 tag bits.
    shift: u32,
    shards: Box<[Shard]>,
}

impl ShardedStore {
    /// An empty store built from `config` ([`Config::shard_count`] shards).
    pub fn new(config: &Config) -> Self {
        let count = config.shard_count();
        let hasher = SessionHasher::default();
        let per_shard = config.capacity.div_ceil(count);
        let shards = (0..count)
            .map(|_| {
                let map = HashMap::with_capacity_and_hasher(per_shard, hasher.clone());
                CachePadded::new(RwLock::new(map))
            })
            .collect();
        Self { ttl: config.ttl, hasher, shift: 64 - count.trailing_zeros(), shards }
    }

    /// How many shards this store has.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    fn shard(&self, id: &SessionId) -> &RwLock<HashMap<SessionId, Session>> {
        if self.shards.len() == 1 {
            return &self.shards[0];
        }
        // The maps inside use the same hasher: hashbrown takes the low bits for the bucket and
        // the top 7 bits for its tag, so the shard comes from the bits just below the tag
        // (as dashmap does); otherwise every key in a shard would share its low bits.
        let hash = self.hasher.hash_one(id);
        &self.shards[((hash << 7) >> self.shift) as usize]
    }

    /// Test hook: poisons every shard's lock by panicking while holding it for writing (the
    /// panics are caught here). Lets the poison-policy tests check that the store stays usable.
    #[doc(hidden)]
    #[cfg(not(loom))]
    pub fn poison_for_tests(&self) {
        for shard in self.shards.iter() {
            let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                let _guard = shard.write();
                panic!("poisoning a shard's lock on purpose");
            }));
        }
    }

    // Poison policy: as in the single-lock stores, a poisoned shard is taken back.

    fn read(
        shard: &RwLock<HashMap<SessionId, Session>>,
    ) -> RwLockReadGuard<'_, HashMap<SessionId, Session>> {
        shard.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(
        shard: &RwLock<HashMap<SessionId, Session>>,
    ) -> RwLockWriteGuard<'_, HashMap<SessionId, Session>> {
        shard.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for ShardedStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        match Self::write(self.shard(&id)).entry(id) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert(Session::new(user, now));
                Ok(())
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let map = Self::read(self.shard(id));
        let session = map.get(id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        Self::write(self.shard(id)).remove(id).map(|session| session.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut map = Self::write(shard);
                let before = map.len();
                map.retain(|_, session| session.activity.is_live(self.ttl, now));
                before - map.len()
            })
            .sum()
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|shard| Self::read(shard).len()).sum()
    }
}
