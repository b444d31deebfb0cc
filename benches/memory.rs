//! Bytes per session: what each map holds for 1M sessions, measured by a counting global
//! allocator (live bytes after filling, minus live bytes before), not guessed from RSS.
//!
//! `cargo bench --bench memory` prints the table and writes
//! `target/sessionlab-bench/memory.json`; `-- --test` uses 10k sessions (CI). Map names after
//! `--` measure only those (`-- lockfree sharded`: the copy-on-write fill alone takes minutes).
//!
//! The floor is a plain `HashMap<SessionId, (UserId, Tick)>` filled the same way. Maps grow as
//! they fill (no capacity hint), as a server's table does, so each figure includes the spare
//! room the map's growth policy leaves at that size. The copy-on-write store is filled to
//! 100k only (each insert copies the map: O(n²) to fill), and compared with a floor of the
//! same size.

// Each bench target uses part of the shared code.
#[allow(dead_code)]
mod common;

use common::{COW_MAX, Contender, fillable, report_dir, test_mode};
use sessionlab::benchmark::{Floor, START, prefill_id};
use sessionlab::check::conformance::memory::CountingAllocator;
use sessionlab::{Config, UserId};

#[global_allocator]
static ALLOCATOR: CountingAllocator = CountingAllocator;

/// One row of the report.
#[derive(Debug, serde::Serialize)]
struct Row {
    name: &'static str,
    sessions: usize,
    bytes: usize,
    bytes_per_session: f64,
    floor_bytes_per_session: f64,
    vs_floor: f64,
}

/// Live bytes, after the epoch collector has freed what it can (nothing is retired while
/// filling, so this counts what a map keeps).
fn live() -> usize {
    usize::try_from(CountingAllocator::live_bytes()).unwrap_or(0)
}

fn floor_bytes(size: usize) -> usize {
    let before = live();
    let mut floor = Floor::new(u64::MAX, 0);
    for i in 0..size as u64 {
        floor.insert(prefill_id(i), UserId(1), START);
    }
    let bytes = live() - before;
    drop(floor);
    bytes
}

fn main() {
    let size = if test_mode() { 10_000 } else { 1_000_000 };
    let mut rows = Vec::new();
    let named: Vec<String> = std::env::args().skip(1).collect();
    let picked = |contender: &Contender| {
        let all = Contender::all();
        !all.iter().any(|c| named.iter().any(|n| n == c.name()))
            || named.iter().any(|n| n == contender.name())
    };
    for contender in Contender::all().into_iter().filter(picked) {
        let size = if fillable(contender, size) { size } else { COW_MAX };
        let floor = floor_bytes(size) as f64 / size as f64;
        let before = live();
        let store = contender.build(&Config::new(u64::MAX));
        for i in 0..size as u64 {
            let _ = store.insert(prefill_id(i), UserId(1), START);
        }
        // What is counted is what the map keeps after filling, which is what a server would
        // carry (`live` first lets the epoch collector free what it retired).
        let bytes = live().saturating_sub(before);
        drop(store);
        let per = bytes as f64 / size as f64;
        rows.push(Row {
            name: contender.name(),
            sessions: size,
            bytes,
            bytes_per_session: per,
            floor_bytes_per_session: floor,
            vs_floor: per / floor,
        });
    }
    println!(
        "{:<10} {:>9} {:>12} {:>10} {:>10} {:>9}",
        "map", "sessions", "bytes", "B/session", "floor B/s", "vs floor"
    );
    for row in &rows {
        println!(
            "{:<10} {:>9} {:>12} {:>10.1} {:>10.1} {:>8.2}x",
            row.name,
            row.sessions,
            row.bytes,
            row.bytes_per_session,
            row.floor_bytes_per_session,
            row.vs_floor
        );
    }
    let path = report_dir().join("memory.json");
    match serde_json::to_string_pretty(&rows).map(|json| std::fs::write(&path, json)) {
        Ok(Ok(())) => println!("wrote {}", path.display()),
        Ok(Err(error)) => eprintln!("could not write {}: {error}", path.display()),
        Err(error) => eprintln!("could not encode the report: {error}"),
    }
}
