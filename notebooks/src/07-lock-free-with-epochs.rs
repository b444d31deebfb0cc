// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 5: lock-free, with epochs
//
// `LockFreeStore` is a fixed array of Harris–Michael sorted linked lists on `crossbeam-epoch`.
// Nothing ever takes a lock. Deleting a session is three steps:
//
// 1. **tombstone** its activity word by CAS (the linearization point);
// 2. **mark** the node's `next` pointer (a tag bit): nothing can be linked after it any more;
// 3. **unlink** it with one CAS on the predecessor, and hand it to the epoch collector, which frees
//    it only once every thread that might still be looking at it has moved on.
//
// Step 2 is Harris's insight: without it, "unlink B" (a CAS on A's link) and "insert C after B"
// (a CAS on B's link) are CASes on different words, both succeed, and C is lost with B. The lab
// keeps that bug as the mutant `UnmarkedUnlinkStore`, and the loom suite catches it.

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

// %%
use sessionlab::{LockFreeStore, UserId};
let store = LockFreeStore::new(&Config::new(1_000).with_capacity(10_000));
println!("{} buckets (from the capacity hint; the array never grows)", store.bucket_count());
let ids: Vec<_> = (0..5u64).map(|u| store.create(UserId(u), 0)).collect();
println!("len {}; remove one -> {:?}; remove it again -> {:?}; len {}",
         store.len(), store.remove(&ids[0]), store.remove(&ids[0]), store.len());

// %% [markdown]
// The same workload as the other stores, with a live sweeper, and its violation counters:

// %%
for kind in [StoreKind::Sharded, StoreKind::LockFree] {
    let config = WorkloadSpec::default().config();
    let store = arc(kind.build(&config));
    let r = measure(store, 4, run_for);
    println!("{:<10} {:>12.0} ops/s  lost {} resurrected {} wrongly swept {}",
             kind.name(), r.ops_per_sec(), r.lost, r.resurrected, r.wrongly_swept);
}

// %% [markdown]
// Lock-free is not automatically faster: every operation pins the epoch and chases one pointer per
// node (a cache miss each) where a `HashMap` probes a flat table. What it buys is progress: no
// thread can block another by being descheduled while holding a lock.
//
// Model-checking it needs crossbeam's own loom mode, so that the epochs and links are loom's too:
//
// ```text
// RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom lockfree
// ```
//
// ## Try this
//
// Exercise 8 (`exercises/src/ex08_lockfree_remove.rs`): write the list's `remove`. What breaks if
// you skip step 2? (Run the lab's `remove_insert_next` loom scenario to find out.)
