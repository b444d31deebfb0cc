//! Time in the lab: the [`Tick`] every store is given, the [`Clock`] front ends read it from,
//! and the one way both command lines write a duration ([`parse_duration`]).
//!
//! Stores never read a clock themselves: every operation is passed its `now` (see
//! [`docs::semantics`](crate::docs::semantics), "Why time is passed in"). So tests and model
//! checks can pass any time they like, including times that go backwards, as they do on a
//! real server, where threads read the clock at different moments and arrive in any order.

use std::fmt;
use std::time::{Duration, Instant};

/// Milliseconds on the caller's clock.
pub type Tick = u64;

/// A millisecond clock for front ends (stores never read one): ticks since it started.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    start: Instant,
}

impl Clock {
    /// A clock reading 0 now.
    pub fn start() -> Self {
        Self { start: Instant::now() }
    }

    /// Milliseconds since [`Clock::start`].
    pub fn now(&self) -> Tick {
        u64::try_from(self.start.elapsed().as_millis()).unwrap_or(u64::MAX)
    }
}

/// The longest duration [`parse_duration`] accepts: a year, far past any ttl or run a lab
/// needs, and far below where milliseconds in a `u64` could overflow.
pub const MAX_DURATION: Duration = Duration::from_secs(365 * 24 * 3600);

/// A command-line duration that [`parse_duration`] refused, with why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseDurationError {
    text: String,
    why: &'static str,
}

impl fmt::Display for ParseDurationError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:?} is not a duration: {}; write a number and a unit: 500ms, 1.5s, 90s, 5m, 1h \
             (a bare number is seconds)",
            self.text, self.why
        )
    }
}

impl std::error::Error for ParseDurationError {}

/// Parses a duration the way every `sessionlab` command line writes one: a decimal number and
/// a unit, `ms`, `s`, `m` or `h` (`500ms`, `1.5s`, `90s`, `5m`, `30m`, `1h`); a bare number
/// is seconds. Exact to the millisecond (no floating point); positive, and at most
/// [`MAX_DURATION`].
///
/// ```
/// use sessionlab::time::parse_duration;
/// use std::time::Duration;
///
/// assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1_500)));
/// assert_eq!(parse_duration("5m"), Ok(Duration::from_secs(300)));
/// assert!(parse_duration("0s").is_err());
/// ```
pub fn parse_duration(text: &str) -> Result<Duration, ParseDurationError> {
    let error = |why| ParseDurationError { text: text.to_owned(), why };
    let trimmed = text.trim();
    let split = trimmed.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(trimmed.len());
    let (number, unit) = trimmed.split_at(split);
    let unit_ms: u128 = match unit.trim() {
        "ms" => 1,
        "" | "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        _ => return Err(error("the unit must be ms, s, m or h")),
    };
    let (whole, fraction) = number.split_once('.').unwrap_or((number, ""));
    let digits = |part: &str| !part.is_empty() && part.bytes().all(|b| b.is_ascii_digit());
    if !(digits(whole) || digits(fraction)) || !(whole.is_empty() || digits(whole)) {
        return Err(error("it does not start with a number"));
    }
    if !fraction.is_empty() && !digits(fraction) {
        return Err(error("the number has more than one point"));
    }
    // Whole and fraction in thousandths of the unit, exactly; then in milliseconds.
    if whole.len() > 12 || fraction.len() > 9 {
        return Err(error("it is longer than a year"));
    }
    let whole: u128 =
        if whole.is_empty() { 0 } else { whole.parse().map_err(|_| error("bad number"))? };
    let scale = 10u128.pow(fraction.len() as u32);
    let fraction: u128 =
        if fraction.is_empty() { 0 } else { fraction.parse().map_err(|_| error("bad number"))? };
    let nanos = (whole * scale + fraction) * unit_ms * 1_000_000 / scale;
    if nanos > MAX_DURATION.as_nanos() {
        return Err(error("it is longer than a year"));
    }
    let millis = u64::try_from(nanos / 1_000_000).map_err(|_| error("it is longer than a year"))?;
    if millis == 0 {
        return Err(error("it must be at least 1ms"));
    }
    Ok(Duration::from_millis(millis))
}

/// Writes a duration the way [`parse_duration`] reads it, in the largest exact unit
/// (`1500ms`, `30s`, `5m`, `2h`), so a front end can hand a parsed value back to a command
/// line (the web lab's load test starting its server).
pub fn format_duration(duration: Duration) -> String {
    let ms = duration.as_millis();
    match ms {
        _ if ms >= 3_600_000 && ms % 3_600_000 == 0 => format!("{}h", ms / 3_600_000),
        _ if ms >= 60_000 && ms % 60_000 == 0 => format!("{}m", ms / 60_000),
        _ if ms >= 1_000 && ms % 1_000 == 0 => format!("{}s", ms / 1_000),
        _ => format!("{ms}ms"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_unit_and_fractions_parse_exactly() {
        let ms = Duration::from_millis;
        for (text, expected) in [
            ("500ms", ms(500)),
            ("1.5s", ms(1_500)),
            ("90s", ms(90_000)),
            ("5m", ms(300_000)),
            ("30m", ms(1_800_000)),
            ("1h", ms(3_600_000)),
            ("0.5h", ms(1_800_000)),
            ("3", ms(3_000)),
            ("1.5", ms(1_500)),
            (".25s", ms(250)),
            (" 2s ", ms(2_000)),
            ("8760h", MAX_DURATION),
        ] {
            assert_eq!(parse_duration(text), Ok(expected), "{text}");
        }
    }

    #[test]
    fn bad_durations_are_typed_errors_that_say_why() {
        for bad in [
            "",
            "s",
            "ms",
            ".",
            "-1",
            "-1s",
            "0",
            "0ms",
            "0.0001s",
            "abc",
            "soon",
            "1e99",
            "NaN",
            "inf",
            "3d",
            "5 min",
            "1.2.3s",
            "8761h",
            "99999999999999999999h",
            "1.5.s",
        ] {
            let message = parse_duration(bad).expect_err(bad).to_string();
            assert!(message.contains("not a duration"), "{bad}: {message}");
        }
    }

    #[test]
    fn format_round_trips() {
        for text in ["250ms", "1500ms", "30s", "5m", "2h"] {
            assert_eq!(format_duration(parse_duration(text).unwrap()), text);
        }
    }
}
