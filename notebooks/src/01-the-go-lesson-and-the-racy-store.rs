// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 1: the Go lesson, its two wrong claims, and the racy store
//
// A classic web-course lesson keeps sessions in a plain Go map, `dbSessions`, shared by every
// handler goroutine, and sweeps idle ones with `go cleanSessions()` while requests keep coming. It
// makes two claims:
//
// 1. *"Deleting is different from writing"*, so the sweep's `delete` needs no lock.
// 2. *"`go build -race` reports no race."*
//
// Both are false. The lab checked them with Go's own tools (`go/check.sh`); the saved run is
// `go/check-output.txt`. Claim 1 is the row marked `2`: the race detector reports a **write** in
// `runtime.mapdelete`. Claim 2 is row `1`: `go build -race` only *builds* an instrumented binary
// (exit 0, no output, always); races are found at *run time*, on paths that run.

// %%
// :opt 2
// :cache 2000
// :dep sessionlab = { path = ".." }

// %%
let check = std::fs::read_to_string("../go/check-output.txt")?;
// The table: claim, tool, expected, observed, verdict.
for line in check.lines().take(14) { println!("{line}"); }

// %% [markdown]
// ## The same map in Rust
//
// Rust refuses to share a plain `HashMap` between threads for writing. To reproduce the lesson the
// lab has to *lie* to the compiler: `RacyStore` is an `UnsafeCell<HashMap>` with
// `unsafe impl Sync`. Sequentially it is a perfectly good store:

// %%
use sessionlab::{Config, RacyStore, SessionStore, UserId};
let store = RacyStore::new(&Config::new(1_000));
let id = store.create(UserId(7), 0);
println!("touch at 500 -> {:?}", store.touch(&id, 500));
println!("sweep at 1499 removed {}", store.sweep(1_499));
println!("sweep at 1500 removed {}", store.sweep(1_500));
println!("touch at 1500 -> {:?}", store.touch(&id, 1_500));

// %% [markdown]
// ## The racy store in action, safely
//
// Concurrently it is undefined behaviour: the lab measured lost sessions, threads spinning forever
// inside `HashMap::insert` on a corrupted table, `SIGSEGV` and `free(): invalid pointer`. So it
// only ever runs in a **child process** with a timeout (`sessionlab::check::isolate::run_child`), and
// the report says how the child ended. Below, the CLI's demo runs the racy store under the session
// workload (handler threads + a live sweeper) and prints JSON; we run it three times, because each
// run can end differently.

// %%
// CI runs every notebook with SESSIONLAB_NOTEBOOK_QUICK=1: shorter runs, same code.
let quick = std::env::var_os("SESSIONLAB_NOTEBOOK_QUICK").is_some();
let run_for = if quick { std::time::Duration::from_millis(150) } else { std::time::Duration::from_millis(600) };
println!("quick mode: {quick}, each workload runs {run_for:?}");

// %%
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

// %% [markdown]
// Each run shows one of: `completed` with `lost`/`resurrected` counts above zero (sessions that
// vanished or came back), `crashed` with the signal, or `hung` (a thread stuck in a corrupted
// table, killed at the timeout). The correct stores, run the same way, report zero of each: see
// lesson 2.
//
// The lab's loom suite proves the data race without running anything for real: lesson 6.
//
// ## Try this
//
// * Run the cell above with `--threads 1`. Does the racy store still lose sessions? Why not?
// * The lesson's sweep gate `dbSessionsCleaned` is a *second* unsynchronised write (the row marked
//   `T` in the Go table). Find `LessonGate` in `src/sweeper.rs` and exercise 6 in `exercises/`.
