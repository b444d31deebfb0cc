//! Every store against the floor and the anchors, side by side, in one criterion run.
//!
//! Groups (`cargo bench --bench stores -- <group>` runs one):
//! * `latency-touch`, `latency-insert`, `latency-remove`: one thread, a map of 10k sessions;
//!   the floor (a plain `HashMap`, same hasher, no coordination) is in every group.
//! * `throughput-<mix>`: ops/s at 1, 2 and 4 threads for conc-map-bench's read-heavy,
//!   exchange and rapid-grow mixes and the session mix (with a live sweeper), each map fresh
//!   from a 10k prefill, workloads from [`sessionlab::benchmark`].
//! * `scaling`: insert latency and sweep time at 1k, 10k, 100k and 1M sessions: the
//!   copy-on-write store's O(n) writes against everyone's flat ones.
//!
//! `cargo bench --bench stores -- --test` runs each once on tiny maps (the CI smoke).
//! The sweep pause (p50/p99/max during a 1M sweep) is `benches/sweep_pause.rs`: criterion
//! reports means, and a pause is a tail.

// Each bench target uses part of the shared code.
#[allow(dead_code)]
mod common;

use common::latency::{self, Bench};
use common::{Contender, fillable, test_mode};
use criterion::{BenchmarkId, Criterion, SamplingMode, Throughput, criterion_group};
use sessionlab::benchmark::{BenchSpec, Mix, START, run_drivers};
use sessionlab::{Config, SessionStore};
use std::time::Duration;

fn latency_size() -> usize {
    if test_mode() { 1_000 } else { 10_000 }
}

fn latency_groups(c: &mut Criterion) {
    let size = latency_size();
    let config = latency::config(size);
    for op in ["touch", "insert", "remove"] {
        let mut group = c.benchmark_group(format!("latency-{op}"));
        group.throughput(Throughput::Elements(1));
        let mut floor = latency::floor(size);
        group.bench_function("floor", |b| match op {
            "touch" => b.iter_custom(|iters| floor.touch(iters)),
            "insert" => b.iter_custom(|iters| floor.insert(iters)),
            _ => b.iter_custom(|iters| floor.remove(iters)),
        });
        for contender in Contender::all() {
            let store = contender.build(&config);
            let mut bench = Bench::new(&*store, size);
            group.bench_function(contender.name(), |b| match op {
                "touch" => b.iter_custom(|iters| bench.touch(iters)),
                "insert" => b.iter_custom(|iters| bench.insert(iters)),
                _ => b.iter_custom(|iters| bench.remove(iters)),
            });
        }
        group.finish();
    }
}

fn throughput_groups(c: &mut Criterion) {
    let prefill = if test_mode() { 200 } else { 10_000 };
    for mix in Mix::ALL {
        let workload = BenchSpec::new(mix).with_prefill(prefill);
        let config = Config::new(workload.ttl()).with_capacity(workload.capacity());
        let mut group = c.benchmark_group(format!("throughput-{}", mix.name));
        group.throughput(Throughput::Elements(1)).sampling_mode(SamplingMode::Flat).sample_size(10);
        for contender in Contender::all() {
            for threads in [1u64, 2, 4] {
                let id = BenchmarkId::new(contender.name(), threads);
                group.bench_with_input(id, &threads, |b, &threads| {
                    // A fresh map per sample: rapid-grow grows by most of its operations, and
                    // a map reused across samples would keep growing for as long as
                    // criterion samples. Filling is outside the timing.
                    b.iter_custom(|iters| {
                        let store = contender.build(&config);
                        let mut drivers = workload.prepare(&*store, threads as usize);
                        // At least 1000 operations per thread, scaled back to `iters` below:
                        // for a slow map criterion asks for a handful of operations per
                        // sample, which would time thread start-up, not the map.
                        let per_thread = iters.div_ceil(threads).max(1_000);
                        let stats = run_drivers(&*store, &workload, &mut drivers, per_thread);
                        assert_eq!(stats.misses, 0, "{} missed operations", contender.name());
                        // Criterion asked for `iters`; report the time they took at this rate.
                        stats.elapsed.mul_f64(iters as f64 / stats.ops as f64)
                    })
                });
            }
        }
        group.finish();
    }
}

fn scaling_group(c: &mut Criterion) {
    let sizes: &[usize] = if test_mode() { &[1_000] } else { &[1_000, 10_000, 100_000, 1_000_000] };
    let mut group = c.benchmark_group("scaling");
    group.sampling_mode(SamplingMode::Flat).sample_size(10);
    for contender in Contender::all() {
        for &size in sizes {
            if !fillable(contender, size) {
                eprintln!(
                    "scaling: {} skipped at {size} (no bulk load: O(n²) fill)",
                    contender.name()
                );
                continue;
            }
            let store: Box<dyn SessionStore> = contender.build(&latency::config(size));
            let mut bench = Bench::new(&*store, size);
            group.bench_with_input(
                BenchmarkId::new(format!("{}/insert", contender.name()), size),
                &size,
                |b, _| b.iter_custom(|iters| bench.insert(iters)),
            );
            // Nothing is expired at START, so this times the walk alone: the pause every
            // periodic sweep imposes, even when it finds nothing to remove.
            group.bench_with_input(
                BenchmarkId::new(format!("{}/sweep", contender.name()), size),
                &size,
                |b, _| b.iter(|| store.sweep(START)),
            );
        }
    }
    group.finish();
}

fn config() -> Criterion {
    Criterion::default()
        .warm_up_time(Duration::from_millis(500))
        .measurement_time(Duration::from_secs(2))
        .sample_size(20)
}

criterion_group! {
    name = benches;
    config = config();
    targets = latency_groups, throughput_groups, scaling_group
}

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
