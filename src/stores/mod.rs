//! The store variants, one file each, and the registry that names them.
//!
//! The registry ([`StoreKind`]) is the one list the CLI, the tests, the benchmarks and the
//! notebooks share: add a store here and every front end picks it up.

mod cow;
pub(crate) mod lockfree;
mod mutex;
mod racy;
mod rwlock;
mod sharded;

pub use cow::CowStore;
pub use lockfree::LockFreeStore;
pub use mutex::MutexStore;
pub use racy::RacyStore;
pub use rwlock::RwLockStore;
pub use sharded::ShardedStore;

use crate::store::{Config, SessionStore};
use std::fmt;
use std::str::FromStr;

/// Every store variant, by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum StoreKind {
    /// [`MutexStore`]: `Mutex<HashMap>`.
    Mutex,
    /// [`RwLockStore`]: `RwLock<HashMap>`, touch under the read lock.
    RwLock,
    /// [`ShardedStore`]: N cache-padded `RwLock<HashMap>` shards.
    Sharded,
    /// [`CowStore`]: copy-on-write with arc-swap.
    Cow,
    /// [`LockFreeStore`]: a split-ordered Harris–Michael list on crossbeam-epoch that grows.
    LockFree,
    /// [`RacyStore`]: the lesson's unsynchronised map. Wrong on purpose: build it only for a
    /// process that may crash, or a loom model (see [`RacyStore::new`]'s safety contract).
    Racy,
}

impl StoreKind {
    /// Every variant, correct ones first.
    pub const ALL: &'static [StoreKind] =
        &[Self::Mutex, Self::RwLock, Self::Sharded, Self::Cow, Self::LockFree, Self::Racy];

    /// The name used on the command line and in reports.
    pub fn name(self) -> &'static str {
        match self {
            Self::Mutex => "mutex",
            Self::RwLock => "rwlock",
            Self::Sharded => "sharded",
            Self::Cow => "cow",
            Self::LockFree => "lockfree",
            Self::Racy => "racy",
        }
    }

    /// One line on the technique.
    pub fn summary(self) -> &'static str {
        match self {
            Self::Mutex => "Mutex<HashMap>: every call takes the one lock",
            Self::RwLock => "RwLock<HashMap>: touch shares the read lock, CAS on the activity word",
            Self::Sharded => "N cache-padded RwLock<HashMap> shards, picked by hash",
            Self::Cow => "copy-on-write with arc-swap: lock-free reads, O(n) writes",
            Self::LockFree => "split-ordered Harris-Michael list, epochs: CAS only, grows",
            Self::Racy => "UnsafeCell<HashMap> + unsafe impl Sync: the lesson's bug, on purpose",
        }
    }

    /// Whether the store meets the specification. Only the racy store does not; it must only
    /// run concurrently inside a child process or a loom model.
    pub fn is_correct(self) -> bool {
        self != Self::Racy
    }

    /// Builds an empty store of this kind.
    ///
    /// For [`StoreKind::Racy`] this hands out a store whose concurrent use is undefined
    /// behaviour: the registry keeps it so that every front end can show it failing, and
    /// every front end runs it only in a process of its own (or on one thread). Check
    /// [`is_correct`](Self::is_correct) before sharing a store across threads in a process
    /// you care about.
    pub fn build(self, config: &Config) -> Box<dyn SessionStore> {
        match self {
            Self::Mutex => Box::new(MutexStore::new(config)),
            Self::RwLock => Box::new(RwLockStore::new(config)),
            Self::Sharded => Box::new(ShardedStore::new(config)),
            Self::Cow => Box::new(CowStore::new(config)),
            Self::LockFree => Box::new(LockFreeStore::new(config)),
            Self::Racy => RacyStore::for_registry(config),
        }
    }

    /// The correct variants.
    pub fn correct() -> impl Iterator<Item = StoreKind> {
        Self::ALL.iter().copied().filter(|kind| kind.is_correct())
    }
}

impl fmt::Display for StoreKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// An unknown store name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownStore(pub String);

impl fmt::Display for UnknownStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let names: Vec<&str> = StoreKind::ALL.iter().map(|kind| kind.name()).collect();
        write!(f, "unknown store {:?}; the stores are: {}", self.0, names.join(", "))
    }
}

impl std::error::Error for UnknownStore {}

impl FromStr for StoreKind {
    type Err = UnknownStore;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .iter()
            .copied()
            .find(|kind| kind.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| UnknownStore(s.to_owned()))
    }
}
