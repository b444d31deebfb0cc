// ---
// jupyter:
//   kernelspec:
//     display_name: Rust
//     language: rust
//     name: rust
// ---

// %% [markdown]
// # Lesson 3: atomics and memory ordering
//
// Lesson 2 showed loom finding a data race on a plain map. The correct stores avoid the race
// with locks, and, inside every one of them, with **one atomic word per session**: its last
// activity, moved by compare-and-swap (CAS). The sweeper's "should I sweep now?" is one more
// atomic word (the exercise of this lesson). Before using them, a student needs four facts:
//
// 1. what a CAS guarantees on one word, and what it does not;
// 2. weak vs strong CAS;
// 3. why `Relaxed` is enough for the activity word and the sweep gate;
// 4. when `Release`/`Acquire` matter (publishing data), and what `SeqCst` adds (epoch pinning).
//
// The same text, with runnable examples, is `cargo doc --open` → `sessionlab::docs::atomics`.

// %%
// :opt 2
// :cache 2000
// :dep sessionlab = { path = ".." }

// %% [markdown]
// ## 1. One word, one CAS: exactly one winner, whatever the ordering
//
// `compare_exchange(current, new, ..)` is one indivisible step: "if the word holds `current`,
// write `new`; either way tell me what it held". All writes to one atomic word happen in one
// total order, and a CAS reads the value just before its own write in that order. So when two
// threads CAS the same word from 0, **exactly one** wins, even with `Relaxed`. Below, 20,000
// races on real threads; the cell asserts the claim every time.

// %%
use std::sync::atomic::{AtomicU64, AtomicBool, Ordering::{Relaxed, Acquire, Release}};
use std::thread;

let rounds = 20_000;
let mut first_thread_won = 0;
for _ in 0..rounds {
    let word = AtomicU64::new(0);
    let (a, b) = thread::scope(|s| {
        let a = s.spawn(|| word.compare_exchange(0, 1, Relaxed, Relaxed));
        let b = s.spawn(|| word.compare_exchange(0, 2, Relaxed, Relaxed));
        (a.join().unwrap(), b.join().unwrap())
    });
    assert!(a.is_ok() != b.is_ok(), "exactly one CAS must win: {a:?} {b:?}");
    if a.is_ok() { first_thread_won += 1; }
}
println!("{rounds} races, exactly one winner in each; the first thread won {first_thread_won} of them");

// %% [markdown]
// Which thread wins varies from run to run; that there is exactly one never does. A `load`
// then a separate `store` has no such guarantee: both threads can load 0 and both "win". That
// is the Go lesson's sweep gate (`dbSessionsCleaned`), kept in the lab as `LessonGate`; loom
// finds its double sweep (`loom-tests/gate.rs`), as the last cell of this notebook shows.
//
// ## 2. Weak and strong CAS
//
// `compare_exchange_weak` may fail although the word holds `current` (a *spurious* failure):
// on ARM, POWER and RISC-V a CAS is a load-linked/store-conditional pair, and the store fails
// when anything disturbed the reservation in between. So use the weak CAS only inside a loop
// that retries with the value it was given (a touch moving the activity forward); use the
// strong one where a failure *means something* (the sweep gate: "someone else claimed this
// sweep", so return `false`).
//
// You will not see a spurious failure here. On x86-64 both compile to `lock cmpxchg`, which
// never fails spuriously; loom's `compare_exchange_weak` just calls its `compare_exchange`. The
// cell counts spurious failures of an uncontended weak CAS on this machine, and asserts zero on
// x86-64 (on an ARM laptop, expect a few, rarely: the assertion does not apply there).

// %%
let word = AtomicU64::new(0);
let tries: u64 = 5_000_000;
let mut spurious = 0u64;
for i in 0..tries {
    // Uncontended: the word holds exactly `i`, so a failure can only be spurious.
    if word.compare_exchange_weak(i, i + 1, Relaxed, Relaxed).is_err() {
        spurious += 1;
        word.store(i + 1, Relaxed);
    }
}
println!("arch {}: {spurious} spurious failures in {tries} uncontended weak CASes", std::env::consts::ARCH);
if cfg!(target_arch = "x86_64") {
    assert_eq!(spurious, 0, "x86-64's lock cmpxchg never fails spuriously");
}

// %% [markdown]
// ## 3. Why `Relaxed` suffices for the activity word and the gate
//
// An ordering never makes a load see a *newer* value. What picks one winner is the word's own
// modification order (section 1), which `Relaxed` already has. Orderings are about **other**
// memory: whether what a thread wrote before a store is visible to a thread that loads it.
//
// * The activity word guards nothing but itself: the user id beside it never changes, and the
//   map holding it is published by its own lock or pointer. A touch and a sweep are two CASes on
//   that one word, so only one of them wins.
// * The gate's last-sweep tick guards nothing at all. A caller that loads a stale tick either
//   sees "not due" (right: someone swept recently) or CASes from the stale value and fails
//   (right: someone else claimed it).
//
// (The lab's stores use `Acquire`/`AcqRel` on the activity word anyway, and say why in
// `sessionlab`'s docs for the activity word; on x86-64 the instruction is the same.)
//
// ## 4. When `Release`/`Acquire` matter: publishing
//
// *Message passing*: a writer fills in data, then raises a flag (or publishes a pointer to a
// new node); a reader that sees the flag reads the data. A `Release` store of the flag and an
// `Acquire` load that sees it make everything written before the store visible after the load.
// With `Relaxed`, the reader may see the flag and still read the old data. On x86-64 hardware
// you will practically never see that (its stores are not reordered with each other), so running
// it here proves nothing either way:

// %%
let mut saw_flag = 0;
for _ in 0..20_000 {
    let data = AtomicU64::new(0);
    let ready = AtomicBool::new(false);
    thread::scope(|s| {
        s.spawn(|| { data.store(42, Relaxed); ready.store(true, Release); });
        s.spawn(|| if ready.load(Acquire) { assert_eq!(data.load(Relaxed), 42); });
    });
    saw_flag += 1;
}
println!("{saw_flag} message-passing rounds with Release/Acquire: the data was always there (as it must be)");

// %% [markdown]
// Loom does model weak orderings. `loom-tests/atomics.rs` runs the pattern with both orderings,
// with the data in an atomic and in an `UnsafeCell` (a node's contents are plain memory), plus
// the epoch-pinning pattern of the next section, and two models of sections 1 and 2. The tests
// whose names say `relaxed` or `unsafe` are **expected** to fail (`#[should_panic]` with the
// exact message), so `ok` on them means loom found the failure. The cell asserts every verdict.

// %%
use std::process::Command;
// Run twice: once for the verdict lines (captured output keeps them clean), once with
// `--nocapture` for what loom printed: the execution counts and the failures it found.
{ // a block: evcxr cannot keep the closure between cells
let loom_test = |extra: &[&str]| Command::new("cargo")
    .args(["test", "--release", "--test", "loom", "--", "atomics::", "--test-threads", "1"])
    .args(extra)
    .env("RUSTFLAGS", "--cfg loom")
    .env("CARGO_TARGET_DIR", "target/loom") // the loom build CI and `exercise check` keep warm
    .env("LOOM_MAX_PREEMPTIONS", "3")
    .env("RUST_BACKTRACE", "0")
    .current_dir("..")
    .output();
let verdicts = loom_test(&[])?;
let details = loom_test(&["--nocapture"])?;
let text = String::from_utf8_lossy(&verdicts.stdout).into_owned();
let found = format!("{}{}", String::from_utf8_lossy(&details.stdout), String::from_utf8_lossy(&details.stderr));
for line in text.lines().filter(|l| l.starts_with("test ")) { println!("{line}"); }
println!();
for line in found.lines().filter(|l| l.contains("loom atomics") || l.contains("saw the flag")
                                    || l.contains("Causality") || l.contains("freed a node")) {
    println!("{}", line.find("loom atomics").map_or(line, |i| &line[i..]));
}
assert!(verdicts.status.success(), "the atomics loom tests failed:\n{text}");
for test in [
    "relaxed_cas_picks_one_winner",
    "weak_cas_never_fails_spuriously_under_loom",
    "message_passing_release_acquire_delivers_the_data",
    "message_passing_relaxed_can_lose_the_data - should panic",
    "publish_node_release_acquire_is_race_free",
    "publish_node_relaxed_is_a_data_race - should panic",
    "pin_with_seqcst_fence_is_safe",
    "pin_with_release_acquire_is_unsafe - should panic",
] {
    let line = format!("test atomics::{test} ... ok");
    assert!(text.contains(&line), "missing verdict: {line}");
}
for finding in ["saw the flag but not the data", "Causality violation: Concurrent read and write accesses",
                "the remover freed a node the pinned reader still reaches"] {
    assert!(found.contains(finding), "loom did not report: {finding}");
}
}
println!("all 8 verdicts as the lesson states them");

// %% [markdown]
// Read it as: with `Relaxed` on the flag, loom found an execution where the reader saw the flag
// and read `data == 0` ("saw the flag but not the data"), and, with the data in an `UnsafeCell`,
// a data race ("Causality violation: Concurrent read and write accesses"). With
// `Release`/`Acquire` it explored every execution up to the preemption bound (3, the lab's
// bound) and found none. The lock-free store (lesson 7) publishes each new node exactly this
// way: fill it in, then link it with a `Release` CAS; readers follow links with `Acquire`.
// A `Mutex` does the same for you: unlock is a release, lock an acquire.
//
// ## 5. What `SeqCst` buys: epoch pinning
//
// Release/Acquire cannot order a thread's store before its own later **load of another
// word**. Epoch reclamation (lesson 7) needs exactly that. A reader *pins* (stores "I am in
// epoch e"), then loads list links; a remover *unlinks* a node (stores a link), then loads the
// readers' epochs to decide whether it may free the node. Safe means: the reader saw the unlink,
// or the remover saw the pin. With Release/Acquire both can miss each other (the "store
// buffering" litmus test, which x86-64's store buffer really does), and the node is freed under
// the reader: `pin_with_release_acquire_is_unsafe` above. A `SeqCst` fence between the store and
// the load rules that out, because all `SeqCst` fences are totally ordered:
// `pin_with_seqcst_fence_is_safe`. crossbeam-epoch's `pin` is a `Relaxed` store then
// `fence(SeqCst)` (on x86-64, one `SeqCst` CAS).
//
// One caution: loom treats `SeqCst` *loads and stores* as `AcqRel` (its README says so), so
// correct code that relies on them can fail under loom; it does model `fence(SeqCst)`, which is
// why the model uses a fence.
//
// ## The sweep gate, and your exercise
//
// The lab's `SweepGate` is one word and one strong CAS. The lesson's `LessonGate` is a load, a
// comparison and a separate store. The lab's loom test of both (expected: the gate single-flight,
// the lesson's version lets two sweeps start):

// %%
let out = Command::new("cargo")
    .args(["test", "--release", "--test", "loom", "--", "gate::", "--test-threads", "1"])
    .env("RUSTFLAGS", "--cfg loom")
    .env("CARGO_TARGET_DIR", "target/loom") // the loom build CI and `exercise check` keep warm
    .env("LOOM_MAX_PREEMPTIONS", "3")
    .env_remove("RUST_BACKTRACE")
    .current_dir("..")
    .output()?;
let text = String::from_utf8_lossy(&out.stdout).into_owned();
for line in text.lines().filter(|l| l.starts_with("test ") || l.contains("test result")) { println!("{line}"); }
assert!(out.status.success());
assert!(text.contains("test gate::sweep_gate_is_single_flight ... ok"));
assert!(text.contains("test gate::lesson_gate_lets_two_sweeps_start - should panic ... ok"));

// %% [markdown]
// ## Try this
//
// * Exercise 3 (`exercises/src/ex03_sweep_gate.rs`): write the single-flight gate, then
//   `cargo run -- exercise check 3` (it runs the loom scenario above on your gate). Which
//   ordering does your CAS need? What would go wrong with `compare_exchange_weak` and no loop,
//   on a machine where it can fail spuriously?
// * In `loom-tests/atomics.rs`, change `message_passing_release_acquire_delivers_the_data` to
//   use `Release` on the store but `Relaxed` on the load. Does loom still pass it? Why not?
