//! The one place a loom model is run: [`run_model`] applies the bounds, honours the
//! environment's overrides, counts the executions loom explored, and prints them with the
//! scenario's name (the helper sharded-slab's loom tests use, in our words).

use std::sync::Arc as StdArc;
use std::sync::atomic::{AtomicUsize, Ordering as StdOrdering};
use std::time::Instant;

/// Set (to anything) to drop the preemption bound and explore every interleaving.
pub const EXHAUSTIVE_VAR: &str = "SESSIONLAB_LOOM_EXHAUSTIVE";

/// Runs `f` under loom's model checker as the scenario `name`.
///
/// The preemption bound is, in order of precedence: none at all when `EXHAUSTIVE_VAR` is set;
/// `LOOM_MAX_PREEMPTIONS` when set (loom's `Builder` reads it, so CI's explicit value wins);
/// otherwise the scenario's own `preemptions`. Loom's other variables (`LOOM_LOCATION`,
/// `LOOM_CHECKPOINT_FILE`, ...) work as loom documents them; with `LOOM_LOG` set, loom's own
/// `loom::model` runs the scenario so that its trace is printed, and the bound comes from
/// `LOOM_MAX_PREEMPTIONS` alone.
pub fn run_model(name: &str, preemptions: usize, f: impl Fn() + Sync + Send + 'static) {
    let mut builder = loom::model::Builder::new();
    if std::env::var_os(EXHAUSTIVE_VAR).is_some() {
        builder.preemption_bound = None;
    } else if builder.preemption_bound.is_none() {
        builder.preemption_bound = Some(preemptions);
    }
    // A std atomic, which loom does not model: it counts executions, it is not part of them.
    let executions = StdArc::new(AtomicUsize::new(0));
    let counter = StdArc::clone(&executions);
    let bound = builder.preemption_bound;
    let started = Instant::now();
    let counted = move || {
        counter.fetch_add(1, StdOrdering::Relaxed);
        f();
    };
    if std::env::var_os("LOOM_LOG").is_some() {
        // Loom traces through `tracing`, and only `loom::model` installs a subscriber for it;
        // that entry point builds its own `Builder` from the environment, so in this mode the
        // bound is `LOOM_MAX_PREEMPTIONS` (unbounded if unset).
        loom::model(counted);
    } else {
        builder.check(counted);
    }
    println!(
        "loom {name}: {} executions in {:.2?} (preemption bound {})",
        executions.load(StdOrdering::Relaxed),
        started.elapsed(),
        bound.map_or_else(|| "none".to_owned(), |b| b.to_string()),
    );
}
