//! Shared flags and their parsers: every bad value is a clear message (and exit code 2).

use clap::Args;
use sessionlab::StoreKind;
use sessionlab::check::workload::WorkloadSpec;
use std::time::Duration;

/// The workload's shape, shared by the demo and its child process.
#[derive(Debug, Clone, Args)]
pub struct WorkloadArgs {
    /// Handler threads per store.
    #[arg(long, allow_negative_numbers = true, default_value_t = 4, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub threads: u16,
    /// How long each store runs: seconds (`3`, `1.5`, `3s`) or milliseconds (`1500ms`).
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

/// Flags of the hidden child entry.
#[derive(Debug, Clone, Args)]
pub struct ChildArgs {
    /// The store to run.
    #[arg(long, value_parser = parse_store)]
    pub store: StoreKind,
    #[command(flatten)]
    pub workload: WorkloadArgs,
}

fn parse_store(text: &str) -> Result<StoreKind, String> {
    text.parse().map_err(|error: sessionlab::stores::UnknownStore| error.to_string())
}

/// `3`, `1.5`, `3s`, `1.5s` or `1500ms`; positive and at most a day.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, scale) = if let Some(ms) = text.strip_suffix("ms") {
        (ms, 1e-3)
    } else if let Some(s) = text.strip_suffix('s') {
        (s, 1.0)
    } else {
        (text, 1.0)
    };
    let value: f64 = number.trim().parse().map_err(|_| {
        format!("{text:?} is not a duration: write seconds (3, 1.5s) or milliseconds (1500ms)")
    })?;
    let seconds = value * scale;
    if !seconds.is_finite() || seconds <= 0.0 || seconds > 86_400.0 {
        return Err(format!("{text:?}: a duration must be positive and at most a day"));
    }
    Ok(Duration::from_secs_f64(seconds))
}

#[cfg(test)]
mod tests {
    use super::parse_duration;
    use std::time::Duration;

    #[test]
    fn durations_parse_in_seconds_and_milliseconds() {
        assert_eq!(parse_duration("3"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("3s"), Ok(Duration::from_secs(3)));
        assert_eq!(parse_duration("1.5"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("250ms"), Ok(Duration::from_millis(250)));
    }

    #[test]
    fn bad_durations_say_why() {
        for bad in ["", "s", "ms", "-1", "0", "abc", "1e99", "NaN", "inf", "3h"] {
            let message = parse_duration(bad).expect_err(bad);
            assert!(message.contains("duration"), "{bad}: {message}");
        }
    }
}
