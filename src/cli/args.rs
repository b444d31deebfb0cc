//! Shared flags and their parsers: every bad value is a clear message (and exit code 2).

use clap::Args;
use sessionlab::StoreKind;
use sessionlab::check::workload::WorkloadSpec;
use sessionlab::time::parse_duration;
use std::time::Duration;

/// The workload's shape, shared by the demo and its child process.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Handler threads per store.
    #[arg(long, allow_negative_numbers = true, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// How long each store runs: `1.5s`, `500ms`, `90s`, `5m` (a bare number is seconds).
    #[arg(long, allow_negative_numbers = true, default_value = "1.5s", value_parser = parse_duration)]
    pub duration: Duration,
    /// Stop each store after about this many operations (for long stress runs, e.g. 10000000).
    #[arg(long, allow_negative_numbers = true, value_parser = clap::value_parser!(u64).range(1..))]
    pub ops: Option<u64>,
    /// Sessions kept logged in at once, across all threads.
    #[arg(long, allow_negative_numbers = true, default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..=100_000_000))]
    pub sessions: u64,
    /// Session time-to-live in milliseconds (the sweeper runs four times per ttl).
    #[arg(long, allow_negative_numbers = true, default_value_t = 200, value_parser = clap::value_parser!(u64).range(1..))]
    pub ttl: u64,
    /// Seed for the handlers' random choices.
    #[arg(long, allow_negative_numbers = true, default_value_t = 1)]
    pub seed: u64,
}

impl WorkloadArgs {
    /// The library's workload spec for these flags.
    pub fn spec(&self) -> WorkloadSpec {
        WorkloadSpec {
            threads: usize::from(self.threads),
            duration: self.duration,
            max_ops: self.ops,
            sessions: usize::try_from(self.sessions).unwrap_or(usize::MAX),
            ttl: self.ttl,
            seed: self.seed,
        }
    }
}

/// Flags of the demo.
#[derive(Debug, Clone, Args)]
pub struct DemoArgs {
    /// Run only this store (default: all of them). One of the registry's names.
    #[arg(long, value_parser = parse_store)]
    pub store: Option<StoreKind>,
    #[command(flatten)]
    pub workload: WorkloadArgs,
    /// Print the results as JSON on stdout (for notebooks) instead of a table.
    #[arg(long)]
    pub json: bool,
}

/// Flags of the hidden child entry: what the demo parsed, handed over as it is.
#[derive(Debug, Clone, Args)]
pub struct ChildArgs {
    /// The store to run.
    #[arg(long, value_parser = parse_store)]
    pub store: StoreKind,
    /// The workload, as the JSON of a `WorkloadSpec` (the parent serialises its parsed spec).
    #[arg(long, value_parser = parse_spec)]
    pub spec: WorkloadSpec,
}

fn parse_spec(json: &str) -> Result<WorkloadSpec, String> {
    serde_json::from_str(json).map_err(|error| format!("not a workload spec: {error}"))
}

fn parse_store(text: &str) -> Result<StoreKind, String> {
    text.parse().map_err(|error: sessionlab::stores::UnknownStore| error.to_string())
}
