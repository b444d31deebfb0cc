//! What one copy-on-write write costs as the map grows from 1k to 1M sessions, next to the
//! `RwLock` store, and the write share above which copy-on-write loses.
//!
//! ```text
//! cargo bench --bench cow_write_cost            # table on stdout, JSON in target/sessionlab-bench/
//! cargo bench --bench cow_write_cost -- --test  # the same sizes, fewer repetitions (CI)
//! ```
//!
//! Why a replica: `CowStore` has no bulk load, and filling it one insert at a time costs O(n²)
//! (hours at 1M). So each size builds the store's own map type (`HashMap<SessionId,
//! Arc<Session>>` with the lab's hasher) in O(n), puts it in the store's own `CowCell`, and
//! times the store's write path on it: load, clone the whole map, insert, publish by CAS. The
//! same for a touch: load, look up, CAS the activity word. Up to [`CHECKED_MAX`] sessions the
//! real `CowStore` is filled and timed too, and the table prints `store / replica` so the
//! replica can be seen to track the store.
//!
//! The crossover is a single-thread cost model: a mix with write share `w` costs
//! `(1 - w) * touch + w * write` per operation, for each store; copy-on-write wins below
//! `w* = (touch_rw - touch_cow) / ((touch_rw - touch_cow) + (write_cow - write_rw))`. With more
//! cores the `RwLock` store's touches also contend on its reader count, which moves `w*` up.

// Each bench target uses part of the shared code.
#[allow(dead_code)]
mod common;

use serde::Serialize;
use sessionlab::session::Session;
use sessionlab::sync::{Arc, CowCell, HashMap, hash_map_with_capacity};
use sessionlab::{Config, CowStore, RwLockStore, SessionId, SessionStore, UserId};
use std::hint::black_box;
use std::time::Instant;

/// Sessions live long enough that nothing expires during a run.
const TTL: u64 = 1 << 40;

/// The largest size at which the real `CowStore` is filled (about 1 s of O(n²) inserts).
const CHECKED_MAX: usize = 16_000;

/// The measured sizes: 1k fits in cache, 1M does not.
const SIZES: &[usize] = &[1_000, 4_000, 16_000, 64_000, 256_000, 1_000_000];

type Map = HashMap<SessionId, Arc<Session>>;

/// One size's row.
#[derive(Serialize)]
struct Row {
    sessions: usize,
    cow_write_ns: f64,
    cow_touch_ns: f64,
    rwlock_write_ns: f64,
    rwlock_touch_ns: f64,
    /// The real `CowStore`'s insert, where it could be filled (`None` above `CHECKED_MAX`).
    cow_store_write_ns: Option<f64>,
    /// Write share above which copy-on-write costs more per operation than the `RwLock` store.
    crossover_write_share: f64,
}

#[derive(Serialize)]
struct Report {
    machine: String,
    model: &'static str,
    rows: Vec<Row>,
}

fn ids(n: usize, offset: u64) -> impl Iterator<Item = SessionId> {
    (0..n as u64).map(move |i| SessionId::fixed(offset + i))
}

/// Mean nanoseconds per call of `f` over `count` calls.
fn per_call(count: usize, mut f: impl FnMut(usize)) -> f64 {
    let started = Instant::now();
    for i in 0..count {
        f(i);
    }
    started.elapsed().as_secs_f64() * 1e9 / count as f64
}

/// The copy-on-write store's write, on its own types: clone, insert, publish.
fn cow_write(cell: &CowCell<Map>, id: SessionId) {
    let session = Arc::new(Session::new(UserId(1), 0));
    cell.update(|map| {
        let mut next = map.clone();
        next.insert(id, Arc::clone(&session));
        (Some(next), ())
    });
}

fn measure(n: usize, quick: bool) -> Row {
    let writes = (20_000_000 / n).clamp(if quick { 3 } else { 10 }, 2_000);
    let touches = if quick { 50_000 } else { 500_000 };
    let probe: Vec<SessionId> = ids(n, 0).step_by((n / 4096).max(1)).collect();

    let mut map: Map = hash_map_with_capacity(n);
    for id in ids(n, 0) {
        map.insert(id, Arc::new(Session::new(UserId(1), 0)));
    }
    let cell = CowCell::new(map);
    let cow_touch_ns = per_call(touches, |i| {
        let map = cell.load();
        black_box(map.get(&probe[i % probe.len()]).map(|s| s.activity.touch(TTL, 1)));
    });
    let fresh: Vec<SessionId> = ids(writes, 1 << 32).collect();
    let cow_write_ns = per_call(writes, |i| cow_write(&cell, fresh[i]));
    drop(cell);

    let rwlock = RwLockStore::new(&Config::new(TTL).with_capacity(n + 20_000));
    for id in ids(n, 0) {
        rwlock.insert(id, UserId(1), 0).expect("fresh id");
    }
    let rwlock_touch_ns = per_call(touches, |i| {
        black_box(rwlock.touch(&probe[i % probe.len()], 1));
    });
    let rw_fresh: Vec<SessionId> = ids(20_000, 1 << 32).collect();
    let rwlock_write_ns = per_call(rw_fresh.len(), |i| {
        rwlock.insert(rw_fresh[i], UserId(1), 0).expect("fresh id");
    });
    drop(rwlock);

    let cow_store_write_ns = (n <= CHECKED_MAX).then(|| {
        let store = CowStore::new(&Config::new(TTL).with_capacity(n));
        for id in ids(n, 0) {
            store.insert(id, UserId(1), 0).expect("fresh id");
        }
        per_call(writes, |i| store.insert(fresh[i], UserId(1), 0).expect("fresh id"))
    });

    let read_gain = rwlock_touch_ns - cow_touch_ns;
    let write_loss = cow_write_ns - rwlock_write_ns;
    let crossover_write_share = if read_gain <= 0.0 {
        0.0 // copy-on-write does not even read faster: it loses at every write share
    } else {
        read_gain / (read_gain + write_loss)
    };
    Row {
        sessions: n,
        cow_write_ns,
        cow_touch_ns,
        rwlock_write_ns,
        rwlock_touch_ns,
        cow_store_write_ns,
        crossover_write_share,
    }
}

fn main() {
    let quick = common::test_mode();
    let machine = format!(
        "{} cores, {}",
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::env::consts::ARCH
    );
    println!("copy-on-write write cost vs size ({machine}; quick: {quick})");
    println!(
        "{:>9} {:>14} {:>10} {:>12} {:>10} {:>14} {:>10}",
        "sessions",
        "cow write ns",
        "cow touch",
        "rw write ns",
        "rw touch",
        "store/replica",
        "crossover"
    );
    let mut rows = Vec::new();
    for &n in SIZES {
        let row = measure(n, quick);
        println!(
            "{:>9} {:>14.0} {:>10.1} {:>12.1} {:>10.1} {:>14} {:>9.4}%",
            row.sessions,
            row.cow_write_ns,
            row.cow_touch_ns,
            row.rwlock_write_ns,
            row.rwlock_touch_ns,
            row.cow_store_write_ns
                .map_or_else(|| "-".to_owned(), |s| format!("{:.2}", s / row.cow_write_ns)),
            row.crossover_write_share * 100.0,
        );
        rows.push(row);
    }
    let report = Report { machine, model: "per op: (1 - w) * touch + w * write, one thread", rows };
    let path = common::report_dir().join("cow-write-cost.json");
    match serde_json::to_string_pretty(&report) {
        Ok(json) => match std::fs::write(&path, json) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(e) => eprintln!("could not write {}: {e}", path.display()),
        },
        Err(e) => eprintln!("could not serialise the report: {e}"),
    }
}
