// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 7: lock-free, with epochs
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
    assert_eq!((r.lost, r.resurrected, r.wrongly_swept), (0, 0, 0), "{} broke a rule", kind.name());
}
println!("calibration: {} cores", std::thread::available_parallelism().map_or(0, |n| n.get()));

// %% [markdown]
// Both report zero lost, resurrected and wrongly swept sessions (asserted). Their throughputs
// are close on 2 cores and their order changes between runs. Lock-free is not automatically
// faster: every operation pins the epoch and chases one pointer per node (a cache miss each) where
// a `HashMap` probes a flat table. What it buys is progress: no thread can block another by being
// descheduled while holding a lock. That matters most with more threads than cores, or on a
// machine where threads are preempted often; with more cores, expect it to keep scaling where a
// single lock stops, and to trail a sharded store that has enough shards.
//
// ## The memory orderings, and why each
//
// Lesson 3 gave the rules; here is where each one is used (`src/stores/lockfree.rs` argues each at
// its line):
//
// * **Publishing a node** (insert): the node's fields are written while it is private, then one
//   CAS on the predecessor's link with `Release` publishes it. Lesson 3's message passing: the
//   link is the flag, the node's fields are the data.
// * **Following a link**: every load of a link whose node is then read is `Acquire`, pairing with
//   that `Release`, so a reader never sees a half-built node.
// * **Marking** (`fetch_or` of the tag bit, `AcqRel`): the mark makes the node's `next` immutable;
//   `Release` so whoever sees the mark also sees the tombstone written before it.
// * **A CAS that fails only to retry** uses `Relaxed` on failure: the retry reloads with `Acquire`.
// * **The activity word** (tombstone, touch): one word, one CAS, the winner is picked by the word
//   itself (lesson 3, section 3).
// * **Pinning** (inside crossbeam-epoch): a store of the thread's epoch, then a `SeqCst` fence,
//   then loads of links. Lesson 3's `pin_with_release_acquire_is_unsafe` shows why nothing weaker
//   will do: without the fence, a remover can miss the pin and free a node the reader is about to
//   follow.
//
// Model-checking it needs crossbeam's own loom mode, so that the epochs and links are loom's too
// (the lab's preemption bound, 3, as everywhere):
//
// ```text
// RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=3 cargo test --release --test loom lockfree
// ```
//
// ## Try this
//
// Exercise 8 (`exercises/src/ex08_lockfree_remove.rs`): write the list's `remove`. What breaks if
// you skip step 2? (Run the lab's `remove_insert_next` loom scenario to find out.)
