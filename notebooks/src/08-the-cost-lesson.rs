// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 8: the cost lesson
//
// Every correct store pays for its correctness differently. The lab's benchmark summary
// (`cargo bench --bench summary`) measures each store against a **floor** (a plain single-threaded
// `HashMap` with the same hasher) and the best concurrent maps (dashmap, papaya, scc), and reports
// ratios, never lone times. This notebook runs it (short in CI, `--test`), prints its tables and
// reads its JSON. The Python notebook `analysis.ipynb` draws the charts, from the same JSON and
// from criterion's estimates.

// %%
// :opt 2
// :cache 2000
// :dep sessionlab = { path = ".." }
// :dep serde_json = "1"

// %%
// CI runs every notebook with SESSIONLAB_NOTEBOOK_QUICK=1: shorter runs, same code.
let quick = std::env::var_os("SESSIONLAB_NOTEBOOK_QUICK").is_some();
let run_for = if quick { std::time::Duration::from_millis(150) } else { std::time::Duration::from_millis(600) };
println!("quick mode: {quick}, each workload runs {run_for:?}");

// %%
use std::process::Command;
let mut args = vec!["bench", "--bench", "summary", "--", "--json"];
if quick { args.push("--test"); }
let out = Command::new("cargo").args(&args).current_dir("..").output()?;
let json = String::from_utf8_lossy(&out.stdout).to_string();
println!("summary: {} bytes of JSON, exit {:?}", json.len(), out.status.code());
std::fs::write("../target/sessionlab-bench/notebook-summary.json", &json)?;
let tables = String::from_utf8_lossy(&out.stderr).into_owned();
assert!(out.status.success(), "the summary failed:\n{tables}");
// The human tables (stderr when --json is given), up to its "Goals" block: those are goals
// for a quiet many-core machine, which this notebook does not judge (see below).
for line in tables.lines()
    .filter(|l| !l.trim_start().starts_with("Compiling") && !l.trim_start().starts_with("Finished") && !l.trim_start().starts_with("Running"))
    .take_while(|l| !l.starts_with("Goals"))
{
    println!("{line}");
}

// %% [markdown]
// ## Reading scaling against the machine's ceiling
//
// The first line of the tables is the calibration every scaling number depends on: the core
// count, and the **parallel ceiling**, the 2-thread / 1-thread speed-up of threads that share
// *nothing* (each touches its own private map). No store can truly scale better than that on this
// machine. A store's `scaling` column above the ceiling is therefore not a speed-up: it is noise
// (another process slowed that store's 1-thread run, which inflates the ratio). The cell prints
// each store's 2T/1T next to the ceiling and labels every value above it as noise.

// %%
let summary: serde_json::Value = serde_json::from_str(&json)?;
{ // a block: evcxr cannot keep the closure below (it borrows `summary`) between cells
// The JSON holds each thread count's ops/s with nothing shared; the ceiling is 2T over 1T.
let ceiling_at = |threads: u64| summary["ceiling"].as_array().unwrap().iter()
    .find(|c| c[0].as_u64() == Some(threads)).and_then(|c| c[1].as_f64()).unwrap_or(f64::NAN);
let ceiling2 = ceiling_at(2) / ceiling_at(1);
println!("calibration: {}; parallel ceiling at 2 threads: {ceiling2:.2}x", summary["machine"].as_str().unwrap_or("?"));
let rows = summary["throughput"].as_array().unwrap();
let rate = |mix: &str, name: &str, threads: u64| rows.iter()
    .find(|r| r["mix"] == mix && r["name"] == name && r["threads"].as_u64() == Some(threads))
    .and_then(|r| r["ops_per_sec"].as_f64());
let unique = |values: Vec<String>| { let mut seen = Vec::new(); for v in values { if !seen.contains(&v) { seen.push(v); } } seen };
let mixes = unique(rows.iter().map(|r| r["mix"].as_str().unwrap().to_owned()).collect());
let mut above = 0;
for mix in &mixes {
    let names = unique(rows.iter().filter(|r| r["mix"] == mix.as_str()).map(|r| r["name"].as_str().unwrap().to_owned()).collect());
    let cells: Vec<String> = names.iter().filter_map(|n| {
        let s = rate(mix, n, 2)? / rate(mix, n, 1)?;
        let noise = s > ceiling2 * 1.05;
        if noise { above += 1; }
        Some(format!("{n} {s:.2}x{}", if noise { " (noise: above the ceiling)" } else { "" }))
    }).collect();
    println!("{mix:>11}: {}", cells.join(", "));
}
println!("{above} values above the ceiling in this run");
}

// %% [markdown]
// What to read in the tables:
//
// * **store / floor**: what coordination costs a single thread. The mutex store pays one
//   uncontended lock; copy-on-write pays little to read (an arc-swap load and the activity CAS:
//   its touch column) and O(n) to write (its insert and remove columns, thousands of times the
//   floor at 10k sessions).
// * **threads**: the ceiling is the most any store can scale here. On the lab's 2-core machine it
//   is about 1.1x to 1.5x, not 2x: the two cores are shared with other work. So 2 cores cannot
//   show which store scales; they show which ones fall *below* the ceiling (locks that bounce one
//   cache line between cores). On a laptop with 8 or more idle cores, expect a ceiling near the
//   thread count, the single-lock stores (mutex, rwlock) flat or falling beyond 2 threads,
//   and sharded, lock-free, dashmap and scc climbing in the read-heavy mix.
// * **sweep pause**: the tail latency of requests that arrive while a sweep runs. The mutex and
//   `RwLock` stores stall everyone for the whole walk (their p50 is milliseconds, about half the
//   sweep); sharded stalls one shard at a time; COW and lock-free take no lock the sweep holds, so
//   a touch never waits for it. Their p99 (under one to a few milliseconds here) is the 2 shared
//   cores (the sweeping thread and other work take the CPU), not a lock: read their p50, a
//   hundred times below the mutex's, against it.
//
// **Why no "goals".** The summary ends with a block of goals (for example "touch, sharded /
// floor, 1T" with goal "<= 1.8", "read-heavy, sharded 2T / 1T" with goal ">= 1.8"), each with its
// measured ratio and a met/MISSED verdict. They are the lab's
// goals for a quiet machine with enough cores; on 2 shared cores the scaling goals cannot be
// met (the ceiling itself is below them), and the single-thread ones move with the noise. A
// verdict that depends on the machine more than on the code teaches nothing, so this notebook
// leaves them out. Read the ratios above instead, each against its calibration.
//
// The charts for these numbers (throughput vs threads, store / floor, the sweep pause, and the
// copy-on-write write cost from 1k to 1M sessions) are in `analysis.ipynb`.
//
// ## Try this
//
// Run the full summary (`quick = false` above, a few minutes) twice, and compare the ceiling and
// the `scaling` column between the two runs: which numbers moved, and which stayed? Then open
// `analysis.ipynb` for the charts.
