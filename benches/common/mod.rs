//! Measurement code shared by the bench targets: the anchors, the single-thread timing loops,
//! the sweep-pause probe. The *workloads* (op mixes, keys, the threaded runner) come from the
//! library's [`sessionlab::benchmark`], never from here.

pub mod anchors;
pub mod latency;
pub mod pause;

pub use anchors::Contender;

/// Smoke mode: every measurement runs once, on tiny maps, so CI keeps the benches compiling
/// and working in seconds. On with `cargo bench -- --test` (criterion's flag), and whenever
/// the binary runs without `--bench`, which `cargo bench` always passes: so `cargo test
/// --bench stores` (the debug build CI already makes) smoke-tests too, as criterion itself
/// does.
pub fn test_mode() -> bool {
    let mut args = std::env::args().skip(1);
    let mut bench = false;
    for arg in args.by_ref() {
        match arg.as_str() {
            "--test" => return true,
            "--bench" => bench = true,
            _ => {}
        }
    }
    !bench
}

/// The most sessions a copy-on-write store is filled with. Every COW insert copies the map,
/// so filling n sessions one insert at a time costs O(n²) (about a minute at 200k here);
/// the store offers no bulk load, so its 1M rows are left out and say so.
pub const COW_MAX: usize = 100_000;

/// The sizes this contender can be filled to, from `sizes`.
pub fn fillable(contender: Contender, size: usize) -> bool {
    !contender.copies_on_write() || size <= COW_MAX
}

/// Where reports go: `$CARGO_TARGET_DIR` or `target/`, under `sessionlab-bench/`.
pub fn report_dir() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    let dir = std::path::PathBuf::from(target).join("sessionlab-bench");
    // A missing directory only loses the report file; the numbers are printed anyway.
    let _ = std::fs::create_dir_all(&dir);
    dir
}
