#![cfg(loom)]
//! Every correct store, every generic scenario: one line per store.

use crate::scenarios::loom_scenarios;
use sessionlab::{CowStore, MutexStore, RwLockStore, ShardedStore};

loom_scenarios!(mutex, |config| MutexStore::new(config));
loom_scenarios!(rwlock, |config| RwLockStore::new(config));
loom_scenarios!(sharded, |config| ShardedStore::new(config));
loom_scenarios!(cow, |config| CowStore::new(config));
