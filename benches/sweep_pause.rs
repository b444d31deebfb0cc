//! The sweep pause: touch latency (p50, p99, max) while a sweep of 1M sessions runs, per map.
//!
//! `cargo bench --bench sweep_pause` prints a table and writes
//! `target/sessionlab-bench/sweep_pause.json`; `-- --test` runs it on 10k sessions (CI).
//! How it measures: `benches/common/pause.rs`.

// Each bench target uses part of the shared code.
#[allow(dead_code)]
mod common;

use common::pause::{self, Pause, sweep_pause, sweep_pause_of};
use common::{COW_MAX, Contender, fillable, report_dir, test_mode};
use sessionlab::{Config, ShardedStore};

fn main() {
    let size = if test_mode() { 10_000 } else { 1_000_000 };
    let mut rows: Vec<Pause> = Vec::new();
    for contender in Contender::all() {
        let size = if fillable(contender, size) { size } else { COW_MAX };
        rows.push(sweep_pause(contender, size, 3));
    }
    // The pause of a sharded map is about one shard's walk, so it shrinks with the shard count:
    // the default (4 x CPUs, 8 here) against 64 shards.
    let config = Config::new(pause::ttl()).with_capacity(size).with_shards(64);
    rows.push(sweep_pause_of("sharded64", &ShardedStore::new(&config), size, 3));
    print_table(&rows);
    let path = report_dir().join("sweep_pause.json");
    match serde_json::to_string_pretty(&rows) {
        Ok(json) => match std::fs::write(&path, json) {
            Ok(()) => println!("wrote {}", path.display()),
            Err(error) => eprintln!("could not write {}: {error}", path.display()),
        },
        Err(error) => eprintln!("could not encode the report: {error}"),
    }
}

/// Prints the pause table, with p99 as a fraction of the mutex store's.
pub fn print_table(rows: &[Pause]) {
    let mutex_p99 =
        rows.iter().find(|row| row.name == "mutex").map(|row| row.p99_ns).filter(|&p99| p99 > 0);
    println!(
        "{:<10} {:>9} {:>10} {:>9} {:>9} {:>10} {:>10} {:>10} {:>12}",
        "map",
        "sessions",
        "sweep ms",
        "removed",
        "touches",
        "p50 ns",
        "p99 ns",
        "max ns",
        "p99/mutex"
    );
    for row in rows {
        let ratio =
            mutex_p99.map_or(String::from("-"), |m| format!("{:.4}", row.p99_ns as f64 / m as f64));
        println!(
            "{:<10} {:>9} {:>10.2} {:>9} {:>9} {:>10} {:>10} {:>10} {:>12}",
            row.name,
            row.size,
            row.sweep_ns as f64 / 1e6,
            row.removed,
            row.touches,
            row.p50_ns,
            row.p99_ns,
            row.max_ns,
            ratio
        );
    }
}
