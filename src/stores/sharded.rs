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
//! **Cost.** The id is hashed once: the hash picks the shard and is handed to the shard's
//! table (a `hashbrown::HashTable`, the raw table under std's `HashMap`), so the lookup does not
//! hash again (hashing twice cost a third of a touch). Contention drops by about N; a sweep pauses only the requests that hit the shard being
//! swept, for 1/N of the walk. [`len`](SessionStore::len) locks every shard in turn.
//!
//! **Where it breaks.** `len` is not a snapshot while writers run (each shard is counted at a
//! different instant), and a hot key still serialises on its shard.

use crate::id::SessionId;
use crate::session::{Session, UserId};
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard, SessionHasher};
use crate::time::Tick;
use crossbeam_utils::CachePadded;
use hashbrown::HashTable;
use hashbrown::hash_table::Entry;
use std::hash::BuildHasher;

/// One shard's sessions, stored with their id and found by a hash computed once per call.
type Table = HashTable<(SessionId, Session)>;
type Shard = CachePadded<RwLock<Table>>;

/// A store of N cache-padded `RwLock<HashMap>` shards.
pub struct ShardedStore {
    ttl: u64,
    hasher: SessionHasher,
    /// `64 - log2(shards)`: the shard index is the hash's top bits below hashbrown's 7 tag
    /// bits.
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
            .map(|_| CachePadded::new(RwLock::new(Table::with_capacity(per_shard))))
            .collect();
        Self { ttl: config.ttl, hasher, shift: 64 - count.trailing_zeros(), shards }
    }

    /// How many shards this store has.
    pub fn shard_count(&self) -> usize {
        self.shards.len()
    }

    /// The id's hash and its shard.
    fn locate(&self, id: &SessionId) -> (u64, &RwLock<Table>) {
        let hash = self.hasher.hash_one(id);
        if self.shards.len() == 1 {
            return (hash, &self.shards[0]);
        }
        // The table inside takes the hash's low bits for the bucket and its top 7 bits for
        // its tag, so the shard comes from the bits just below the tag (as dashmap does);
        // otherwise every key in a shard would share its low bits.
        (hash, &self.shards[((hash << 7) >> self.shift) as usize])
    }

    fn rehash(&self) -> impl Fn(&(SessionId, Session)) -> u64 + '_ {
        |(id, _)| self.hasher.hash_one(id)
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

    fn read(shard: &RwLock<Table>) -> RwLockReadGuard<'_, Table> {
        shard.read().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(shard: &RwLock<Table>) -> RwLockWriteGuard<'_, Table> {
        shard.write().unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl SessionStore for ShardedStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let (hash, shard) = self.locate(&id);
        let mut table = Self::write(shard);
        match table.entry(hash, |(stored, _)| *stored == id, self.rehash()) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert((id, Session::new(user, now)));
                Ok(())
            }
        }
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let (hash, shard) = self.locate(id);
        let table = Self::read(shard);
        let (_, session) = table.find(hash, |(stored, _)| stored == id)?;
        session.activity.touch(self.ttl, now).then_some(session.user)
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        let (hash, shard) = self.locate(id);
        let mut table = Self::write(shard);
        let entry = table.find_entry(hash, |(stored, _)| stored == id).ok()?;
        let ((_, session), _) = entry.remove();
        Some(session.user)
    }

    fn sweep(&self, now: Tick) -> usize {
        self.shards
            .iter()
            .map(|shard| {
                let mut table = Self::write(shard);
                let before = table.len();
                table.retain(|(_, session)| session.activity.is_live(self.ttl, now));
                before - table.len()
            })
            .sum()
    }

    fn len(&self) -> usize {
        self.shards.iter().map(|shard| Self::read(shard).len()).sum()
    }
}
