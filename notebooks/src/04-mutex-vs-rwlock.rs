// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 2: `Mutex` vs `RwLock`, and why `touch` must not be a map write
//
// The simplest fix is one `Mutex` around the map (`MutexStore`): every operation, reads
// included, takes turns. A read-write lock lets *readers* share, but the Go lesson makes every
// request a map **write** (`dbSessions[id] = s` to refresh the activity time), so every request
// would still take the write lock.
//
// The lab's `RwLockStore` keeps `last_active` in an atomic word inside the stored value, so a
// touch needs only the **read** lock plus one compare-and-swap; only logins, logouts and sweeps
// write the map. Below we build the Go lesson's version too (a touch that takes the write lock) and
// measure all three under the same workload.

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
// The Go lesson's `RwLock` store: a touch is a map write, so it takes the write lock. (It is still
// *correct*; it just never lets two requests run at once.)

// %%
use sessionlab::sync::RwLock;
use sessionlab::{Occupied, SessionId, Tick, UserId};
use sessionlab::activity::is_expired;
use std::collections::HashMap;

struct WriteTouchStore { ttl: u64, map: RwLock<HashMap<SessionId, (UserId, Tick)>> }

impl SessionStore for WriteTouchStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        let mut map = self.map.write().unwrap();
        if map.contains_key(&id) { return Err(Occupied); }
        map.insert(id, (user, now));
        Ok(())
    }
    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        let mut map = self.map.write().unwrap(); // the lesson: dbSessions[id] = s
        let (user, last) = map.get_mut(id)?;
        if is_expired(*last, self.ttl, now) { return None; }
        *last = (*last).max(now);
        Some(*user)
    }
    fn remove(&self, id: &SessionId) -> Option<UserId> { self.map.write().unwrap().remove(id).map(|(u, _)| u) }
    fn sweep(&self, now: Tick) -> usize {
        let mut map = self.map.write().unwrap();
        let before = map.len();
        map.retain(|_, (_, last)| !is_expired(*last, self.ttl, now));
        before - map.len()
    }
    fn len(&self) -> usize { self.map.read().unwrap().len() }
}
println!("defined");

// %%
let spec_config = WorkloadSpec { sessions: 10_000, ..WorkloadSpec::default() }.config();
for threads in [1, 2, 4] {
    let stores: Vec<(&str, Arc<dyn SessionStore>)> = vec![
        ("mutex", arc(StoreKind::Mutex.build(&spec_config))),
        ("rwlock (touch = write lock)", arc(WriteTouchStore { ttl: spec_config.ttl, map: RwLock::new(HashMap::new()) })),
        ("rwlock (touch = read lock + CAS)", arc(StoreKind::RwLock.build(&spec_config))),
    ];
    for (name, store) in stores {
        let r = measure(store, threads, run_for);
        println!("{threads} threads  {name:<34} {:>12.0} ops/s  lost {} resurrected {} wrongly swept {}",
                 r.ops_per_sec(), r.lost, r.resurrected, r.wrongly_swept);
    }
}

// %% [markdown]
// Read the numbers as *ratios on this machine* (the lab's CI box has 2 cores, shared). With two
// cores the mutex store is often the fastest correct store: an uncontended lock is cheap, and a
// read lock is still an atomic read-modify-write on one shared counter. The point of the read lock
// is what it allows on more cores: touches that do not wait for each other. Every store reports
// zero lost, resurrected and wrongly swept sessions: correctness is not the difference.
//
// Why must the CAS be a loop, not `load` then `store`? Two touches at 5 and 7 can both load 0; if
// the one at 5 stores last, the activity moves *backwards* and the session expires early. The lab
// keeps that bug as a mutant (`sessionlab::check::mutants`), and loom catches it.
//
// ## Try this
//
// Exercise 2 (`exercises/src/ex02_mutex.rs`) and exercise 3 (`ex03_rwlock.rs`): write both stores
// yourself, then `cargo run -- exercise check 3`.
