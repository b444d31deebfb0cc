// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 7: the cost lesson
//
// Every correct store pays for its correctness differently. The lab's benchmark summary
// (`cargo bench --bench summary`) measures each store against a **floor** (a plain single-threaded
// `HashMap` with the same hasher) and the best concurrent maps (dashmap, papaya, scc), and reports
// ratios, never lone times. This notebook runs it (short in CI, `--test`), reads its JSON, and
// shows the chart it draws. The Python notebook `analysis.ipynb` draws more charts from the same
// JSON and from criterion's estimates.

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

// %% [markdown]
// The summary also draws an SVG chart (plotters); here it is:

// %%
let svg = std::fs::read_to_string("../target/sessionlab-bench/throughput.svg")?;
println!("EVCXR_BEGIN_CONTENT image/svg+xml\n{svg}\nEVCXR_END_CONTENT");

// %% [markdown]
// What to read in it:
//
// * **store / floor**: what coordination costs a single thread. The mutex store pays one
//   uncontended lock; copy-on-write pays nothing to read and O(n) to write.
// * **threads**: on two cores, the ceiling (each thread on its own private map) is the most any
//   store can scale; locks that bounce one cache line between cores fall below it.
// * **sweep pause**: the tail latency of requests that arrive while a sweep runs. The mutex and
//   `RwLock` stores stall everyone for the whole walk; sharded stalls one shard at a time; COW and
//   lock-free never stall a touch.
//
// ## Try this
//
// Run the full summary (`quick = false` above, about a minute) and compare `sharded / floor` at 1
// and 2 threads. Then open `analysis.ipynb` for the throughput-vs-threads and COW write-cost charts.
