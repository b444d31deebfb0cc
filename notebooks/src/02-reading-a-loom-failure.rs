// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 2: reading a loom failure
//
// Lesson 1 ran the racy store for real: it broke, but differently each time, and a run can even
// survive. Loom makes the race deterministic. It runs a small concurrent test once per
// interleaving it can tell apart, up to a **preemption bound** (how many times the scheduler may
// switch away from a thread that could have continued; 3 in this lab, `LOOM_MAX_PREEMPTIONS=3`;
// `SESSIONLAB_LOOM_EXHAUSTIVE=1` removes the bound and explores every interleaving, slower), and
// tracks, for every
// `UnsafeCell` access, whether it *happens-before* the previous conflicting one. Two accesses to
// the same cell, at least one a write, with no happens-before between them, are a **data race**:
// loom reports a *causality violation*, whether or not anything visibly went wrong in that run.
//
// Below we run the lab's loom test of two logouts racing on the racy store (the lesson's "deleting
// is not writing"), with `LOOM_LOCATION=1` so loom names the source lines of both accesses, and
// keep its report. (The first run builds the loom test binary: slow once, then cached.)

// %%
// :opt 2
// :cache 2000
// :dep sessionlab = { path = ".." }

// %%
use std::process::Command;
let out = Command::new("cargo")
    .args(["test", "--release", "--test", "loom", "--", "racy::remove_remove", "--exact", "--nocapture"])
    .env("RUSTFLAGS", "--cfg loom")
    .env("CARGO_TARGET_DIR", "target/loom") // the loom build CI and `exercise check` keep warm
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
// The verdict this lesson reads, asserted: loom found the write/write race in the racy store.
assert!(out.status.success(), "the loom test failed to find the race:\n{text}");
assert!(text.contains("test racy::remove_remove - should panic ... ok"));
assert!(text.contains("Causality violation: Concurrent write accesses to `UnsafeCell`."));

// %% [markdown]
// How to read it, line by line:
//
// * `test racy::remove_remove ... ok`: the test *expects* this panic (`#[should_panic(expected =
//   "Causality violation: Concurrent write accesses to `UnsafeCell`.")]`), so the suite passes
//   because loom found the race.
// * `panicked at .../loom-.../src/rt/...`: loom itself panicked; the message is the finding.
// * `Causality violation: Concurrent write accesses to `UnsafeCell`.`: two **writes**, neither
//   happening-before the other. Both are `HashMap::remove` inside `RacyStore::remove`: deleting *is*
//   writing. (A read racing a write reads `Concurrent read and write accesses`.)
// * With `LOOM_LOCATION=1` loom adds where the cell was created and where each conflicting access
//   was made: two threads (`thread #0`, the model's main thread, and `thread #1`, the spawned
//   one), at the same line of `src/stores/racy.rs`: `RacyStore::remove`'s `self.write(...)`, which
//   reaches the map through the cell's `with_mut`.
//
// Loom does not need the race to *corrupt* anything to report it: in the very first interleaving it
// explores, the two writes are unordered, and that is undefined behaviour already. This is what
// Go's race detector also reports, but only for the paths a run happens to take (lesson 1).
//
// A logic race (every access ordered, but the steps in the wrong order) is found differently: by the scenario's
// own assertion failing in some interleaving. The exercise crate's find-the-bug stub shows one:

// %%
let out = Command::new("cargo")
    .args(["test", "--release", "-p", "sessionlab-exercises", "--test", "loom", "--", "ex07_find_the_bug", "--exact", "--nocapture"])
    .env("RUSTFLAGS", "--cfg loom")
    .env("CARGO_TARGET_DIR", "target/loom") // the loom build CI and `exercise check` keep warm
    .env("LOOM_MAX_PREEMPTIONS", "3")
    .env("SESSIONLAB_EXERCISE_EXPECT", "pass")
    .env_remove("RUST_BACKTRACE")
    .current_dir("..")
    .output()?;
let text = String::from_utf8_lossy(&out.stdout).into_owned();
for line in text.lines().filter(|l| l.contains("ok ") || l.contains("FAIL") || l.starts_with("        ") || l.contains("checks passed")) {
    println!("{line}");
}
// The stub must fail exactly where the prose below says: two logins of one id both succeed.
assert!(text.contains("FAIL  loom::insert_same"), "the find-the-bug stub no longer fails insert_same:\n{text}");
assert!(text.contains("got (Ok(()), Ok(()))"));

// %% [markdown]
// `insert_same` fails: two logins of one id both got `Ok`. The store checks "is the id free?" under
// the read lock and inserts under a later write lock; loom found the interleaving where the other
// thread's login lands in between.
//
// ## Try this
//
// Exercise 2 (`exercises/src/ex02_racy_loom.rs`): write your own two-thread scenario that makes
// the racy store fail, and name the race loom reports (`cargo run -- exercise check 2`).
// Exercise 7, the find-the-bug store above, comes after lesson 6: fixing it needs the atomics
// of lesson 3 and the stores of lessons 4 to 6.
