// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 5: sharding
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
// 1,250 expected per shard; a shard off by 20% would be 7 standard deviations: a broken hash.
assert!(counts.iter().all(|&c| (1_000..=1_500).contains(&c)), "ids do not spread evenly");

// %% [markdown]
// Throughput of the session workload as the shard count grows (shards = 1 is the `RwLockStore` idea):

// %%
let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
println!("calibration: {cores} cores; 4 handler threads + the sweeper");
let mut rates = Vec::new();
for shards in [1usize, 2, 8, 64] {
    let config = WorkloadSpec::default().config().with_shards(shards);
    let store = arc(ShardedStore::new(&config));
    let r = measure(store, 4, run_for);
    println!("{shards:>3} shards: {:>12.0} ops/s, violations {}", r.ops_per_sec(), r.violations());
    assert_eq!(r.violations(), 0, "a correct store broke a rule with {shards} shards");
    rates.push((shards, r.ops_per_sec()));
}
let (best, worst) = (rates.iter().cloned().fold((0, 0.0), |a, b| if b.1 > a.1 { b } else { a }),
                     rates.iter().cloned().fold((0, f64::MAX), |a, b| if b.1 < a.1 { b } else { a }));
println!("fastest here: {} shards; slowest: {} shards ({:.2}x apart)", best.0, worst.0, best.1 / worst.1);

// %% [markdown]
// Read this against the calibration line. On the lab's 2-core machine only two threads run at
// once, so one lock is hardly contended, and more shards do not raise throughput: the four rates
// stay within the factor the last line prints, and which of 1, 2 and 8 shards comes first changes
// from run to run (noise on a busy 2-core box). 64 shards was the slowest in every run made while
// writing this lesson, the saved one included: each shard is its own cache-padded lock and table,
// so the same 10,000 sessions touch more cache lines, and there is no queue on the lock for
// sharding to remove.
//
// On a laptop with 8 or more cores, expect the opposite end: with as many handler threads as
// cores (try `measure(store, 8, run_for)`), one lock becomes the queue, and throughput grows with
// the shard count up to a few times the thread count, then flattens. What sharding buys on any
// machine is the *sweep pause* (lesson 8): a sweep holds one shard's write lock at a time, so a
// request waits for 1/N of the walk, not all of it.
//
// ## Try this
//
// Exercise 5 (`exercises/src/ex05_sharded.rs`): write `shard()` and the operations, then
// `cargo run -- exercise check 5`. Why must every shard use the *same* hasher?
