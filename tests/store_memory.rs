//! What a store holds, not only what it answers (`check::conformance::memory`): every correct
//! store frees the sessions that came and went and everything it held when dropped, and a
//! remove racing a sweep has one winner.
//!
//! The count is the whole process's, so these checks live in a binary of their own and every
//! test takes one lock: no other test allocates while one measures. (They once shared a binary
//! with the conformance suite, whose threads allocated during a measurement and pushed the
//! copy-on-write store over the slack on a busy CI machine.)

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

use sessionlab::check::conformance::memory::{self, CountingAllocator};
use sessionlab::{
    Config, CowStore, LockFreeStore, MutexStore, RwLockStore, SessionStore, ShardedStore,
};
use std::sync::Mutex;

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// Held by every test of this binary, so that one measures at a time and nothing else runs.
static MEASURING: Mutex<()> = Mutex::new(());

fn check<S: SessionStore>(make: &dyn Fn(&Config) -> S) {
    let _alone = MEASURING.lock().unwrap_or_else(|p| p.into_inner());
    memory::sessions_that_came_and_went_leave_nothing(make, CountingAllocator::live_bytes).unwrap();
    memory::dropping_the_store_frees_it(make, CountingAllocator::live_bytes).unwrap();
    memory::remove_racing_a_sweep_has_one_winner(make).unwrap();
}

/// One test per correct store, each running every memory check on it.
macro_rules! memory_tests {
    ($($name:ident: $make:expr),+ $(,)?) => {
        $(
            #[test]
            fn $name() {
                check(&$make);
            }
        )+
    };
}

memory_tests! {
    mutex: MutexStore::new,
    rwlock: RwLockStore::new,
    sharded: ShardedStore::new,
    cow: CowStore::new,
    lockfree: LockFreeStore::new,
}
