// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 3: sharding
//
// One lock for the whole map makes every thread queue on it. `ShardedStore` splits the map into N
// `RwLock<HashMap>` shards (each cache-padded, so neighbouring locks do not share a cache line) and
// picks the shard from the id's hash. Every operation on one id goes to the same shard, so that
// shard's lock orders them exactly as the single lock did: per-key linearizability survives, and
// linearizability is checked key by key.

// %%
// :opt 2
// :cache 2000
// :dep sessionlab = { path = ".." }

// %%
// CI runs every notebook with SESSIONLAB_NOTEBOOK_QUICK=1: shorter runs, same code.
let quick = std::env::var_os("SESSIONLAB_NOTEBOOK_QUICK").is_some();
let run_for = if quick { std::time::Duration::from_millis(150) } else { std::time::Duration::from_millis(600) };
println!("quick mode: {quick}, each workload runs {run_for:?}");

// %%
use sessionlab::check::workload::{self, Progress, WorkloadSpec};
use sessionlab::sync::Arc;
use sessionlab::{Config, SessionStore, StoreKind};

/// Runs the lab's session workload (handlers + a live background sweeper) on one store.
fn measure(store: Arc<dyn SessionStore>, threads: usize, run_for: std::time::Duration) -> workload::WorkloadReport {
    let spec = WorkloadSpec { threads, duration: run_for, sessions: 10_000, ..WorkloadSpec::default() };
    workload::run(store, &spec, &Progress::default())
}

/// Any store, behind the trait object the workload takes.
fn arc<S: SessionStore + 'static>(store: S) -> Arc<dyn SessionStore> {
    Arc::new(store)
}
println!("ready");

// %% [markdown]
// First: do ids spread evenly? 10,000 random session ids over 8 shards:

// %%
use sessionlab::{ShardedStore, UserId};
let store = ShardedStore::new(&Config::new(1_000).with_shards(8));
println!("{} shards", store.shard_count());
for n in 0..10_000u64 { store.create(UserId(n), 0); }
println!("{} sessions stored", store.len());

// %% [markdown]
// The store does not expose its shards, so we check the spread the way the store computes it: the
// same keyed hash, the shard index from the bits just below hashbrown's 7 tag bits.

// %%
use std::hash::BuildHasher;
let hasher = sessionlab::sync::SessionHasher::default();
let shards = 8u64;
let shift = 64 - shards.trailing_zeros();
let mut counts = vec![0u32; shards as usize];
for _ in 0..10_000 {
    let id = sessionlab::SessionId::generate();
    counts[((hasher.hash_one(&id) << 7) >> shift) as usize] += 1;
}
println!("sessions per shard: {counts:?}");

// %% [markdown]
// Throughput of the session workload as the shard count grows (shards = 1 is the `RwLockStore` idea):

// %%
for shards in [1usize, 2, 8, 64] {
    let config = WorkloadSpec::default().config().with_shards(shards);
    let store = arc(ShardedStore::new(&config));
    let r = measure(store, 4, run_for);
    println!("{shards:>3} shards: {:>12.0} ops/s, violations {}", r.ops_per_sec(), r.violations());
}

// %% [markdown]
// On two cores the differences are small: there are only two threads truly running at once, so
// contention is low to begin with. What sharding buys shows in the *sweep pause* (lesson 7): a
// sweep holds one shard's write lock at a time, so a request waits for 1/N of the walk, not all
// of it.
//
// ## Try this
//
// Exercise 4 (`exercises/src/ex04_sharded.rs`): write `shard()` and the operations. Why must every
// shard use the *same* hasher?
