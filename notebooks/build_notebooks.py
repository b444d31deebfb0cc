"""Writes the lesson notebooks' source (cells without outputs).

The committed .ipynb files are these, *executed* (notebooks/ci.sh runs every notebook headless
and `--inplace` when asked to refresh), so their saved outputs are real. Edit the cells here,
run `python notebooks/build_notebooks.py`, then `notebooks/ci.sh --refresh` to execute and save.
"""

import json
import pathlib

HERE = pathlib.Path(__file__).parent
RUST = {"name": "rust", "display_name": "Rust", "language": "rust"}
PYTHON = {"name": "python3", "display_name": "Python 3", "language": "python"}

# `:opt 2`: optimised like the lab's release builds, because the lessons measure throughput.
# `:cache 2000`: keep compiled crates between sessions (notebooks/ci.sh points the cache at
# notebooks/.tools/cache), so the lab compiles once, not once per notebook.
DEP = """
:opt 2
:cache 2000
:dep sessionlab = { path = ".." }
"""

QUICK = """// CI runs every notebook with SESSIONLAB_NOTEBOOK_QUICK=1: shorter runs, same code.
let quick = std::env::var_os("SESSIONLAB_NOTEBOOK_QUICK").is_some();
let run_for = if quick { std::time::Duration::from_millis(150) } else { std::time::Duration::from_millis(600) };
println!("quick mode: {quick}, each workload runs {run_for:?}");"""

WORKLOAD_FN = """use sessionlab::check::workload::{self, Progress, WorkloadSpec};
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
println!("ready");"""


def md(text):
    return {"cell_type": "markdown", "metadata": {}, "source": text.strip("\n")}


def code(text):
    return {
        "cell_type": "code",
        "metadata": {},
        "execution_count": None,
        "outputs": [],
        "source": text.strip("\n"),
    }


def notebook(kernel, cells):
    language = {"name": kernel["language"]}
    if kernel["language"] == "rust":
        language.update({"codemirror_mode": "rust", "file_extension": ".rs", "mimetype": "text/rust"})
    for i, cell in enumerate(cells):
        cell["id"] = f"cell-{i:02d}"
    return {
        "cells": cells,
        "metadata": {"kernelspec": kernel, "language_info": language},
        "nbformat": 4,
        "nbformat_minor": 5,
    }


LESSONS = {}

LESSONS["01-the-go-lesson-and-the-racy-store"] = [
    md("""
# Lesson 1: the Go lesson, its two wrong claims, and the racy store

A classic web-course lesson keeps sessions in a plain Go map, `dbSessions`, shared by every
handler goroutine, and sweeps idle ones with `go cleanSessions()` while requests keep coming. It
makes two claims:

1. *"Deleting is different from writing"*, so the sweep's `delete` needs no lock.
2. *"`go build -race` reports no race."*

Both are false. The lab checked them with Go's own tools (`go/check.sh`); the saved run is
`go/check-output.txt`. Claim 1 is the row marked `2`: the race detector reports a **write** in
`runtime.mapdelete`. Claim 2 is row `1`: `go build -race` only *builds* an instrumented binary
(exit 0, no output, always); races are found at *run time*, on paths that run.
"""),
    code(DEP),
    code("""
let check = std::fs::read_to_string("../go/check-output.txt")?;
// The table: claim, tool, expected, observed, verdict.
for line in check.lines().take(14) { println!("{line}"); }
"""),
    md("""
## The same map in Rust

Rust refuses to share a plain `HashMap` between threads for writing. To reproduce the lesson the
lab has to *lie* to the compiler: `RacyStore` is an `UnsafeCell<HashMap>` with
`unsafe impl Sync`. Sequentially it is a perfectly good store:
"""),
    code("""
use sessionlab::{Config, RacyStore, SessionStore, UserId};
let store = RacyStore::new(&Config::new(1_000));
let id = store.create(UserId(7), 0);
println!("touch at 500 -> {:?}", store.touch(&id, 500));
println!("sweep at 1499 removed {}", store.sweep(1_499));
println!("sweep at 1500 removed {}", store.sweep(1_500));
println!("touch at 1500 -> {:?}", store.touch(&id, 1_500));
"""),
    md("""
## The racy store in action, safely

Concurrently it is undefined behaviour: the lab measured lost sessions, threads spinning forever
inside `HashMap::insert` on a corrupted table, `SIGSEGV` and `free(): invalid pointer`. So it
only ever runs in a **child process** with a timeout (`sessionlab::check::isolate::run_child`), and
the report says how the child ended. Below, the CLI's demo runs the racy store under the session
workload (handler threads + a live sweeper) and prints JSON; we run it three times, because each
run can end differently.
"""),
    code(QUICK),
    code("""
use std::process::Command;
let duration = if quick { "0.3s" } else { "1s" };
for attempt in 1..=3 {
    let out = Command::new("cargo")
        .args(["run", "--release", "-q", "--", "--store", "racy", "--json", "--threads", "4", "--duration", duration, "--seed"])
        .arg(attempt.to_string())
        .current_dir("..")
        .output()?;
    let json = String::from_utf8_lossy(&out.stdout);
    println!("run {attempt}:");
    // The row's fields that tell the story: how the child ended and what the workload counted.
    for field in ["outcome", "detail", "ops", "lost", "resurrected", "wrongly_swept", "verdict"] {
        if let Some(line) = json.lines().find(|l| l.trim_start().starts_with(&format!(r#""{field}""#))) {
            println!("    {}", line.trim().trim_end_matches(','));
        }
    }
}
"""),
    md("""
Each run shows one of: `completed` with `lost`/`resurrected` counts above zero (sessions that
vanished or came back), `crashed` with the signal, or `hung` (a thread stuck in a corrupted
table, killed at the timeout). The correct stores, run the same way, report zero of each: see
lesson 2.

The lab's loom suite proves the data race without running anything for real: lesson 6.

## Try this

* Run the cell above with `--threads 1`. Does the racy store still lose sessions? Why not?
* The lesson's sweep gate `dbSessionsCleaned` is a *second* unsynchronised write (the row marked
  `T` in the Go table). Find `LessonGate` in `src/sweeper.rs` and exercise 6 in `exercises/`.
"""),
]

LESSONS["02-mutex-vs-rwlock"] = [
    md("""
# Lesson 2: `Mutex` vs `RwLock`, and why `touch` must not be a map write

The simplest fix is one `Mutex` around the map (`MutexStore`): every operation, reads
included, takes turns. A read-write lock lets *readers* share, but the Go lesson makes every
request a map **write** (`dbSessions[id] = s` to refresh the activity time), so every request
would still take the write lock.

The lab's `RwLockStore` keeps `last_active` in an atomic word inside the stored value, so a
touch needs only the **read** lock plus one compare-and-swap; only logins, logouts and sweeps
write the map. Below we build the Go lesson's version too (a touch that takes the write lock) and
measure all three under the same workload.
"""),
    code(DEP),
    code(QUICK),
    code(WORKLOAD_FN),
    md("""
The Go lesson's `RwLock` store: a touch is a map write, so it takes the write lock. (It is still
*correct*; it just never lets two requests run at once.)
"""),
    code("""
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
"""),
    code("""
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
"""),
    md("""
Read the numbers as *ratios on this machine* (the lab's CI box has 2 cores, shared). With two
cores the mutex store is often the fastest correct store: an uncontended lock is cheap, and a
read lock is still an atomic read-modify-write on one shared counter. The point of the read lock
is what it allows on more cores: touches that do not wait for each other. Every store reports
zero lost, resurrected and wrongly swept sessions: correctness is not the difference.

Why must the CAS be a loop, not `load` then `store`? Two touches at 5 and 7 can both load 0; if
the one at 5 stores last, the activity moves *backwards* and the session expires early. The lab
keeps that bug as a mutant (`sessionlab::check::mutants`), and loom catches it.

## Try this

Exercise 2 (`exercises/src/ex02_mutex.rs`) and exercise 3 (`ex03_rwlock.rs`): write both stores
yourself, then `cargo run -- exercise check 3`.
"""),
]

LESSONS["03-sharding"] = [
    md("""
# Lesson 3: sharding

One lock for the whole map makes every thread queue on it. `ShardedStore` splits the map into N
`RwLock<HashMap>` shards (each cache-padded, so neighbouring locks do not share a cache line) and
picks the shard from the id's hash. Every operation on one id goes to the same shard, so that
shard's lock orders them exactly as the single lock did: per-key linearizability survives, and
linearizability is checked key by key.
"""),
    code(DEP),
    code(QUICK),
    code(WORKLOAD_FN),
    md("First: do ids spread evenly? 10,000 random session ids over 8 shards:"),
    code("""
use sessionlab::{ShardedStore, UserId};
let store = ShardedStore::new(&Config::new(1_000).with_shards(8));
println!("{} shards", store.shard_count());
for n in 0..10_000u64 { store.create(UserId(n), 0); }
println!("{} sessions stored", store.len());
"""),
    md("""
The store does not expose its shards, so we check the spread the way the store computes it: the
same keyed hash, the shard index from the bits just below hashbrown's 7 tag bits.
"""),
    code("""
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
"""),
    md("Throughput of the session workload as the shard count grows (shards = 1 is the `RwLockStore` idea):"),
    code("""
for shards in [1usize, 2, 8, 64] {
    let config = WorkloadSpec::default().config().with_shards(shards);
    let store = arc(ShardedStore::new(&config));
    let r = measure(store, 4, run_for);
    println!("{shards:>3} shards: {:>12.0} ops/s, violations {}", r.ops_per_sec(), r.violations());
}
"""),
    md("""
On two cores the differences are small: there are only two threads truly running at once, so
contention is low to begin with. What sharding buys shows in the *sweep pause* (lesson 7): a
sweep holds one shard's write lock at a time, so a request waits for 1/N of the walk, not all
of it.

## Try this

Exercise 4 (`exercises/src/ex04_sharded.rs`): write `shard()` and the operations. Why must every
shard use the *same* hasher?
"""),
]

LESSONS["04-copy-on-write"] = [
    md("""
# Lesson 4: copy-on-write with arc-swap, and its O(n) writes

`CowStore` keeps the whole map behind one atomically swappable pointer (`arc_swap::ArcSwap`).
A touch loads the current map (no lock, no shared write) and CASes the session's activity word.
A login or logout is *read-copy-update*: clone the map, change the clone, publish it with a
compare-and-swap of the pointer, retry if another writer won. Reads never wait; every write
copies the whole map.

Removal needs the **tombstone**: a sweep first CASes an expired session's word to a reserved
value (the linearization point: a touch and a sweep are now CASes on one word, and only one can
win), then publishes a map without that very entry.
"""),
    code(DEP),
    code(QUICK),
    md("The cost of one login as the map grows: time per insert into a map that already holds n sessions."),
    code("""
use sessionlab::{Config, CowStore, ShardedStore, SessionStore, UserId};
use std::time::Instant;
let sizes: &[usize] = if quick { &[1_000, 2_000, 4_000] } else { &[1_000, 4_000, 16_000] };
fn per_insert(store: &dyn SessionStore, n: usize) -> f64 {
    // Fill to n, then time 50 more logins.
    for u in 0..n as u64 { store.create(UserId(u), 0); }
    let started = Instant::now();
    for u in 0..50u64 { store.create(UserId(u), 0); }
    started.elapsed().as_secs_f64() * 1e9 / 50.0
}
for &n in sizes {
    let cow = CowStore::new(&Config::new(60_000));
    let sharded = ShardedStore::new(&Config::new(60_000));
    let (c, s) = (per_insert(&cow, n), per_insert(&sharded, n));
    println!("n = {n:>6}: cow {c:>12.0} ns/insert   sharded {s:>8.0} ns/insert   ratio {:>7.1}x", c / s);
}
"""),
    md("""
The copy-on-write insert grows linearly with n (each login copies n pointers); the sharded
insert stays flat. Filling a COW store one login at a time is therefore O(n²): the lab's
benchmarks cap its size for that reason.

And the tombstone at work: a sweep removes the expired session; a touch on it afterwards fails,
and the id is free for a new login.
"""),
    code("""
let store = CowStore::new(&Config::new(10));
let id = sessionlab::SessionId::fixed(1);
store.insert(id, UserId(1), 0).unwrap();
println!("sweep at 10 removed {}", store.sweep(10));
println!("touch at 10 -> {:?}", store.touch(&id, 10));
println!("re-login with the same id -> {:?}", store.insert(id, UserId(2), 11));
"""),
    md("""
## Try this

Exercise 5 (`exercises/src/ex05_cow.rs`): write `remove`, `sweep` and the pointer-exact
`unlink`. What goes wrong if `unlink` removes by id instead of by pointer (`Arc::ptr_eq`)?
Hint: a new session may have reused the id.
"""),
]

LESSONS["05-lock-free-with-epochs"] = [
    md("""
# Lesson 5: lock-free, with epochs

`LockFreeStore` is a fixed array of Harris–Michael sorted linked lists on `crossbeam-epoch`.
Nothing ever takes a lock. Deleting a session is three steps:

1. **tombstone** its activity word by CAS (the linearization point);
2. **mark** the node's `next` pointer (a tag bit): nothing can be linked after it any more;
3. **unlink** it with one CAS on the predecessor, and hand it to the epoch collector, which frees
   it only once every thread that might still be looking at it has moved on.

Step 2 is Harris's insight: without it, "unlink B" (a CAS on A's link) and "insert C after B"
(a CAS on B's link) are CASes on different words, both succeed, and C is lost with B. The lab
keeps that bug as the mutant `UnmarkedUnlinkStore`, and the loom suite catches it.
"""),
    code(DEP),
    code(QUICK),
    code(WORKLOAD_FN),
    code("""
use sessionlab::{LockFreeStore, UserId};
let store = LockFreeStore::new(&Config::new(1_000).with_capacity(10_000));
println!("{} buckets (from the capacity hint; the array never grows)", store.bucket_count());
let ids: Vec<_> = (0..5u64).map(|u| store.create(UserId(u), 0)).collect();
println!("len {}; remove one -> {:?}; remove it again -> {:?}; len {}",
         store.len(), store.remove(&ids[0]), store.remove(&ids[0]), store.len());
"""),
    md("The same workload as the other stores, with a live sweeper, and its violation counters:"),
    code("""
for kind in [StoreKind::Sharded, StoreKind::LockFree] {
    let config = WorkloadSpec::default().config();
    let store = arc(kind.build(&config));
    let r = measure(store, 4, run_for);
    println!("{:<10} {:>12.0} ops/s  lost {} resurrected {} wrongly swept {}",
             kind.name(), r.ops_per_sec(), r.lost, r.resurrected, r.wrongly_swept);
}
"""),
    md("""
Lock-free is not automatically faster: every operation pins the epoch and chases one pointer per
node (a cache miss each) where a `HashMap` probes a flat table. What it buys is progress: no
thread can block another by being descheduled while holding a lock.

Model-checking it needs crossbeam's own loom mode, so that the epochs and links are loom's too:

```text
RUSTFLAGS="--cfg loom --cfg crossbeam_loom" LOOM_MAX_PREEMPTIONS=2 cargo test --release --test loom lockfree
```

## Try this

Exercise 8 (`exercises/src/ex08_lockfree_remove.rs`): write the list's `remove`. What breaks if
you skip step 2? (Run the lab's `remove_insert_next` loom scenario to find out.)
"""),
]

LESSONS["06-reading-a-loom-failure"] = [
    md("""
# Lesson 6: reading a loom failure

Loom runs a concurrent test once per interleaving it can tell apart, and tracks, for every
`UnsafeCell` access, whether it *happens-before* the previous conflicting one. Two accesses to
the same cell, at least one a write, with no happens-before between them, are a **data race**:
loom reports a *causality violation*, whether or not anything visibly went wrong in that run.

Below we run the lab's loom test of two logouts racing on the racy store (the lesson's "deleting
is not writing"), with `LOOM_LOCATION=1` so loom names the source lines of both accesses, and
keep its report. (The first run builds the loom test binary: slow once, then cached.)
"""),
    code(DEP),
    code("""
use std::process::Command;
let out = Command::new("cargo")
    .args(["test", "--release", "--test", "loom", "--", "racy::remove_remove", "--exact", "--nocapture"])
    .env("RUSTFLAGS", "--cfg loom")
    .env("LOOM_MAX_PREEMPTIONS", "3")
    .env("LOOM_LOCATION", "1")
    .env_remove("RUST_BACKTRACE")
    .current_dir("..")
    .output()?;
let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
// Owned lines: evcxr keeps a cell's variables for later cells, so they cannot borrow.
let report: Vec<String> = text.lines()
    .filter(|l| !l.trim_start().starts_with("Compiling") && !l.trim().is_empty())
    .filter(|l| l.contains("panicked") || l.contains("Causality") || l.contains("-->") || l.contains("created:")
             || l.contains("thread #") || l.contains("test racy") || l.contains("test result") || l.contains("UnsafeCell"))
    .map(str::to_owned)
    .collect();
for line in report.iter().take(30) { println!("{line}"); }
"""),
    md("""
How to read it, line by line:

* `test racy::remove_remove ... ok`: the test *expects* this panic (`#[should_panic(expected =
  "Causality violation: Concurrent write accesses to `UnsafeCell`.")]`), so the suite passes
  because loom found the race.
* `panicked at .../loom-.../src/rt/...`: loom itself panicked; the message is the finding.
* `Causality violation: Concurrent write accesses to `UnsafeCell`.`: two **writes**, neither
  happening-before the other. Both are `HashMap::remove` inside `RacyStore::remove`: deleting *is*
  writing. (A read racing a write reads `Concurrent read and write accesses`.)
* With `LOOM_LOCATION=1` loom adds where the cell was created and where each conflicting access
  was made: two threads (`thread #0`, the model's main thread, and `thread #1`, the spawned
  one), the same `with_mut` call in `src/stores/racy.rs`.

Loom does not need the race to *corrupt* anything to report it: in the very first interleaving it
explores, the two writes are unordered, and that is undefined behaviour already. This is what
Go's race detector also reports, but only for the paths a run happens to take (lesson 1).

A logic race (no `UnsafeCell`, only atomics used wrongly) is found differently: by the scenario's
own assertion failing in some interleaving. The exercise crate's find-the-bug stub shows one:
"""),
    code("""
let out = Command::new("cargo")
    .args(["test", "--release", "-p", "sessionlab-exercises", "--test", "loom", "--", "ex07_find_the_bug", "--exact", "--nocapture"])
    .env("RUSTFLAGS", "--cfg loom")
    .env("LOOM_MAX_PREEMPTIONS", "3")
    .env("SESSIONLAB_EXERCISE_EXPECT", "pass")
    .env_remove("RUST_BACKTRACE")
    .current_dir("..")
    .output()?;
let text = String::from_utf8_lossy(&out.stdout).into_owned();
for line in text.lines().filter(|l| l.contains("ok ") || l.contains("FAIL") || l.starts_with("        ") || l.contains("checks passed")) {
    println!("{line}");
}
"""),
    md("""
`insert_same` fails: two logins of one id both got `Ok`. The store checks "is the id free?" under
the read lock and inserts under a later write lock; loom found the interleaving where the other
thread's login lands in between.

## Try this

Exercise 1 (`exercises/src/ex01_racy_loom.rs`): write your own two-thread scenario that makes
the racy store fail, and name the race loom reports. Exercise 7: fix the find-the-bug store.
"""),
]

LESSONS["07-the-cost-lesson"] = [
    md("""
# Lesson 7: the cost lesson

Every correct store pays for its correctness differently. The lab's benchmark summary
(`cargo bench --bench summary`) measures each store against a **floor** (a plain single-threaded
`HashMap` with the same hasher) and the best concurrent maps (dashmap, papaya, scc), and reports
ratios, never lone times. This notebook runs it (short in CI, `--test`), reads its JSON, and
shows the chart it draws. The Python notebook `analysis.ipynb` draws more charts from the same
JSON and from criterion's estimates.
"""),
    code(DEP),
    code(QUICK),
    code("""
use std::process::Command;
let mut args = vec!["bench", "--bench", "summary", "--", "--json"];
if quick { args.push("--test"); }
let out = Command::new("cargo").args(&args).current_dir("..").output()?;
let json = String::from_utf8_lossy(&out.stdout).to_string();
println!("summary: {} bytes of JSON, exit {:?}", json.len(), out.status.code());
std::fs::write("../target/sessionlab-bench/notebook-summary.json", &json)?;
let tables = String::from_utf8_lossy(&out.stderr).into_owned();
// The human tables (stderr when --json is given).
for line in tables.lines().filter(|l| !l.trim_start().starts_with("Compiling") && !l.trim_start().starts_with("Finished") && !l.trim_start().starts_with("Running")) {
    println!("{line}");
}
"""),
    md("The summary also draws an SVG chart (plotters); here it is:"),
    code("""
let svg = std::fs::read_to_string("../target/sessionlab-bench/throughput.svg")?;
println!("EVCXR_BEGIN_CONTENT image/svg+xml\\n{svg}\\nEVCXR_END_CONTENT");
"""),
    md("""
What to read in it:

* **store / floor**: what coordination costs a single thread. The mutex store pays one
  uncontended lock; copy-on-write pays nothing to read and O(n) to write.
* **threads**: on two cores, the ceiling (each thread on its own private map) is the most any
  store can scale; locks that bounce one cache line between cores fall below it.
* **sweep pause**: the tail latency of requests that arrive while a sweep runs. The mutex and
  `RwLock` stores stall everyone for the whole walk; sharded stalls one shard at a time; COW and
  lock-free never stall a touch.

## Try this

Run the full summary (`quick = false` above, about a minute) and compare `sharded / floor` at 1
and 2 threads. Then open `analysis.ipynb` for the throughput-vs-threads and COW write-cost charts.
"""),
]

ANALYSIS = [
    md("""
# Analysis: the benchmark numbers as charts

Reads the benchmark summary's JSON (`cargo bench --bench summary -- --json`, written by lesson 7
to `target/sessionlab-bench/notebook-summary.json`, or run here if missing) and, when present,
criterion's estimates (`target/criterion/**/new/estimates.json`, keyed on `benchmark.json`'s
`full_id`). Draws: throughput vs threads, store/floor ratios, copy-on-write write cost vs size,
and sweep-pause tail latency.
"""),
    code("""
import json, os, pathlib, subprocess
import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt
from IPython.display import display, Image
import io

ROOT = pathlib.Path("..").resolve()
QUICK = bool(os.environ.get("SESSIONLAB_NOTEBOOK_QUICK"))
saved = ROOT / "target/sessionlab-bench/notebook-summary.json"
if saved.exists() and saved.stat().st_size > 0:
    summary = json.loads(saved.read_text())
    print("read", saved.relative_to(ROOT))
else:
    args = ["cargo", "bench", "--bench", "summary", "--", "--json"] + (["--test"] if QUICK else [])
    out = subprocess.run(args, cwd=ROOT, capture_output=True, text=True, check=True)
    summary = json.loads(out.stdout)
    print("ran", " ".join(args))
print("machine:", summary["machine"])
print("keys:", sorted(summary))

def show(fig):
    # PNG bytes inline, so the saved notebook carries the chart.
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    display(Image(buf.getvalue()))
"""),
    md("## Throughput vs threads"),
    code("""
rows = summary["throughput"]
mixes = sorted({r["mix"] for r in rows})
fig, axes = plt.subplots(1, len(mixes), figsize=(5 * len(mixes), 3.6), squeeze=False)
for ax, mix in zip(axes[0], mixes):
    for name in sorted({r["name"] for r in rows if r["mix"] == mix}):
        pts = sorted((r["threads"], r["ops_per_sec"]) for r in rows if r["mix"] == mix and r["name"] == name)
        ax.plot([t for t, _ in pts], [v / 1e6 for _, v in pts], marker="o", label=name)
    ax.set_title(mix); ax.set_xlabel("threads"); ax.set_ylabel("Mops/s"); ax.set_xticks(sorted({r["threads"] for r in rows}))
axes[0][-1].legend(fontsize=7, loc="center left", bbox_to_anchor=(1, 0.5))
show(fig)
"""),
    md("## Store / floor (one thread): what coordination costs"),
    code("""
lat = {r["name"]: r for r in summary["latency"]}
floor = lat.get("floor")
names = [n for n in lat if n != "floor"]
fig, ax = plt.subplots(figsize=(8, 3.4))
width = 0.27
for i, op in enumerate(["touch_ns", "insert_ns", "remove_ns"]):
    ratios = [lat[n][op] / floor[op] for n in names]
    ax.bar([x + i * width for x in range(len(names))], ratios, width, label=op.replace("_ns", ""))
ax.set_xticks([x + width for x in range(len(names))]); ax.set_xticklabels(names, rotation=30)
ax.axhline(1, color="black", lw=0.8); ax.set_ylabel("time / floor"); ax.set_yscale("log"); ax.legend()
show(fig)
for n in names:
    print(f"{n:>10}: touch {lat[n]['touch_ns'] / floor['touch_ns']:6.1f}x floor, insert {lat[n]['insert_ns'] / floor['insert_ns']:8.1f}x")
"""),
    md("## Sweep pause: tail latency of requests during a sweep, and COW's write cost vs size"),
    code("""
pauses = summary["sweep_pause"]
fig, (a, b) = plt.subplots(1, 2, figsize=(11, 3.6))
for name in sorted({p["name"] for p in pauses}):
    pts = sorted((p["size"], p) for p in pauses if p["name"] == name)
    a.plot([s for s, _ in pts], [p["p99_ns"] / 1e3 for _, p in pts], marker="o", label=name)
    b.plot([s for s, _ in pts], [p["sweep_ns"] / 1e6 for _, p in pts], marker="o", label=name)
a.set_xscale("log"); a.set_yscale("log"); a.set_xlabel("sessions"); a.set_ylabel("p99 touch during sweep (us)")
b.set_xscale("log"); b.set_yscale("log"); b.set_xlabel("sessions"); b.set_ylabel("sweep duration (ms)")
a.legend(fontsize=7)
show(fig)
for p in pauses:
    print(f"{p['name']:>10} n={p['size']:>8}: sweep {p['sweep_ns'] / 1e6:8.2f} ms, p99 {p['p99_ns'] / 1e3:9.1f} us")
"""),
    md("""
COW's write cost vs size comes from criterion when its groups have been run
(`cargo bench --bench stores`): every benchmark's `benchmark.json` gives its `full_id`
(`group/function/parameter`), and `new/estimates.json` its mean time.
"""),
    code("""
crit = ROOT / "target/criterion"
estimates = {}
for bench in crit.glob("**/new/benchmark.json"):
    meta = json.loads(bench.read_text())
    est = bench.parent / "estimates.json"
    if est.exists():
        estimates[meta["full_id"]] = json.loads(est.read_text())["mean"]["point_estimate"]
print(len(estimates), "criterion estimates found")
for full_id in sorted(estimates)[:12]:
    print(f"  {full_id:<40} {estimates[full_id]:10.1f} ns")
cow = sorted((k, v) for k, v in estimates.items() if "cow" in k and any(ch.isdigit() for ch in k.split("/")[-1]))
if cow:
    fig, ax = plt.subplots(figsize=(6, 3.4))
    xs = [int("".join(ch for ch in k.split("/")[-1] if ch.isdigit())) for k, _ in cow]
    ax.plot(xs, [v / 1e3 for _, v in cow], marker="o"); ax.set_xscale("log"); ax.set_yscale("log")
    ax.set_xlabel("sessions"); ax.set_ylabel("us per write"); ax.set_title("copy-on-write: write cost vs size")
    show(fig)
else:
    print("no sized COW write benchmarks in target/criterion yet: lesson 4 measures the same O(n) directly")
"""),
]


def main():
    for name, cells in LESSONS.items():
        path = HERE / f"{name}.ipynb"
        path.write_text(json.dumps(notebook(RUST, cells), indent=1) + "\n")
    (HERE / "analysis.ipynb").write_text(json.dumps(notebook(PYTHON, ANALYSIS), indent=1) + "\n")
    print(f"wrote {len(LESSONS) + 1} notebooks")


if __name__ == "__main__":
    main()
