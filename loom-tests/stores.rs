#![cfg(loom)]
//! Every correct store, every generic scenario: one line per store.

use sessionlab::loom_scenarios;
use sessionlab::{CowStore, MutexStore, RwLockStore, ShardedStore};

loom_scenarios!(mutex, MutexStore::new);
loom_scenarios!(rwlock, RwLockStore::new);
loom_scenarios!(sharded, ShardedStore::new);
loom_scenarios!(cow, CowStore::new);
