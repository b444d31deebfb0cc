//! Bad input never panics.
//!
//! * `SessionId::from_str` and `SessionId::parse_bytes` on 100 000 arbitrary strings, 100 000
//!   arbitrary byte strings and 100 000 near-misses (a valid id with one byte changed, cut or
//!   grown: the inputs that reach the parser's deepest branches): every answer is `Ok` or a
//!   typed error whose message is not empty, and every `Ok` is the canonical text of its id.
//! * `Display` round-trips every valid id: random v4 ids, `SessionId::fixed(n)` for arbitrary
//!   `n`, and every canonical string built from arbitrary hex digits.
//! * The CLI: invalid flag values end with a message naming the problem and exit code 2,
//!   checked by running the binary (fixed bad values for every flag, plus arbitrary text for
//!   `--duration`, whose parser is the lab's own).
//!
//! The cookie-header parser lives in the web crate (`web/src/cookie.rs`), which this crate
//! cannot depend on; its fuzz belongs in that crate's tests.
//!
//! `PROPTEST_CASES` overrides the case counts (e.g. `PROPTEST_CASES=1000000 cargo test
//! --release --test fuzz` for a million of each).

// The loom build (`--cfg loom`) compiles only `--test loom`; these need real threads.
#![cfg(not(loom))]

mod common;

use proptest::prelude::*;
use sessionlab::{ParseSessionIdError, SessionId};
use std::process::Command;

/// The parser's contract on any input: a canonical id or a typed error that explains itself.
fn judge(
    input: &[u8],
    parsed: Result<SessionId, ParseSessionIdError>,
) -> Result<(), TestCaseError> {
    match parsed {
        Ok(id) => {
            let text = id.to_string();
            prop_assert_eq!(text.as_bytes(), input, "only the canonical form parses");
        }
        Err(error) => {
            prop_assert!(!error.to_string().is_empty());
            if let ParseSessionIdError::Length { found } = error {
                prop_assert_eq!(found, input.len());
                prop_assert_ne!(found, SessionId::LEN);
            }
        }
    }
    Ok(())
}

/// A canonical id's text, from 32 arbitrary hex digits with the version and variant fixed.
fn canonical() -> impl Strategy<Value = String> {
    (prop::collection::vec(0..16u8, 32), 8..12u8).prop_map(|(mut digits, variant)| {
        digits[12] = 4;
        digits[16] = variant;
        let hex: String =
            digits.iter().map(|d| char::from_digit(u32::from(*d), 16).unwrap()).collect();
        format!("{}-{}-{}-{}-{}", &hex[..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..])
    })
}

/// Arbitrary text: any characters at any length up to 48, or exactly 36 characters drawn
/// from the id alphabet and its neighbours (which gets past the length check every time).
/// Cheaper than `any::<String>()`, whose regex machinery made this test take 20 s in debug.
fn text() -> impl Strategy<Value = String> {
    let near_alphabet = prop::sample::select(b"0123456789abcdefABCDEFgG-{}:\0 ".to_vec());
    prop_oneof![
        prop::collection::vec(any::<char>(), 0..48).prop_map(String::from_iter),
        prop::collection::vec(near_alphabet, SessionId::LEN)
            .prop_map(|bytes| String::from_utf8(bytes).expect("ASCII")),
    ]
}

/// A valid id with one byte replaced, removed or inserted.
fn near_miss() -> impl Strategy<Value = Vec<u8>> {
    (canonical(), 0..3u8, any::<prop::sample::Index>(), any::<u8>()).prop_map(
        |(text, edit, at, byte)| {
            let mut bytes = text.into_bytes();
            match edit {
                0 => {
                    let at = at.index(bytes.len());
                    bytes[at] = byte;
                }
                1 => {
                    bytes.remove(at.index(bytes.len()));
                }
                _ => bytes.insert(at.index(bytes.len() + 1), byte),
            }
            bytes
        },
    )
}

proptest! {
    #![proptest_config(common::proptest_config(100_000, "fuzz.txt"))]

    #[test]
    fn from_str_never_panics(text in text()) {
        judge(text.as_bytes(), text.parse::<SessionId>())?;
    }

    #[test]
    fn parse_bytes_never_panics(bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        judge(&bytes, SessionId::parse_bytes(&bytes))?;
    }

    #[test]
    fn near_misses_are_judged_exactly(bytes in near_miss()) {
        judge(&bytes, SessionId::parse_bytes(&bytes))?;
        if let Ok(text) = std::str::from_utf8(&bytes) {
            prop_assert_eq!(text.parse::<SessionId>(), SessionId::parse_bytes(&bytes));
        }
    }

    #[test]
    fn every_canonical_string_round_trips(text in canonical()) {
        let id: SessionId = text.parse().map_err(|e| TestCaseError::fail(format!("{text}: {e}")))?;
        prop_assert_eq!(id.to_string(), text);
        prop_assert_eq!(SessionId::parse_bytes(id.to_string().as_bytes()), Ok(id));
    }
}

proptest! {
    #![proptest_config(common::proptest_config(10_000, "fuzz.txt"))]

    #[test]
    fn display_round_trips_generated_and_fixed_ids(n in any::<u64>()) {
        for id in [SessionId::generate(), SessionId::fixed(n)] {
            prop_assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
        }
    }
}

/// The parser must be able to fail these tests: uppercase and near-miss inputs are refused.
#[test]
fn the_parser_refuses_what_it_should() {
    let good = "6f1c9a52-3b7e-4d21-9a0c-5e8f7b2d4c13";
    assert!(good.parse::<SessionId>().is_ok());
    assert!(good.to_uppercase().parse::<SessionId>().is_err());
    assert!(good.replacen('4', "1", 1).parse::<SessionId>().is_err());
}

// ---------------------------------------------------------------------------------------------
// The CLI

/// Runs the binary; returns its exit code and stderr.
fn sessionlab(args: &[&str]) -> (Option<i32>, String) {
    let output = Command::new(env!("CARGO_BIN_EXE_sessionlab"))
        .args(args)
        .output()
        .expect("run the sessionlab binary");
    (output.status.code(), String::from_utf8_lossy(&output.stderr).into_owned())
}

#[test]
fn invalid_flag_values_exit_2_with_a_message() {
    let cases: &[(&[&str], &str)] = &[
        (&["--threads", "0"], "--threads"),
        (&["--threads", "many"], "--threads"),
        (&["--threads", "-3"], "-3"),
        (&["--duration", "soon"], "duration"),
        (&["--duration", "-1"], "-1"),
        (&["--duration", "0ms"], "duration"),
        (&["--duration", "NaN"], "duration"),
        (&["--ops", "0"], "--ops"),
        (&["--ops", "1e7"], "--ops"),
        (&["--sessions", "0"], "--sessions"),
        (&["--ttl", "0"], "--ttl"),
        (&["--seed", "-1"], "-1"),
        (&["--store", "nosuch"], "nosuch"),
        (&["--store", ""], "--store"),
        (&["--no-such-flag"], "--no-such-flag"),
        (&["demo", "--threads", "0"], "--threads"),
        (&["demo", "--store", "mutexx"], "mutexx"),
    ];
    for (args, mentions) in cases {
        let (code, stderr) = sessionlab(args);
        assert_eq!(code, Some(2), "sessionlab {args:?} exited {code:?}:\n{stderr}");
        assert!(stderr.contains("error"), "sessionlab {args:?} said:\n{stderr}");
        assert!(
            stderr.contains(mentions),
            "sessionlab {args:?} should mention {mentions}:\n{stderr}"
        );
        assert!(!stderr.contains("panicked"), "sessionlab {args:?} panicked:\n{stderr}");
    }
}

proptest! {
    #![proptest_config(common::proptest_config(64, "fuzz.txt"))]

    /// Arbitrary text for `--duration`, followed by a bad `--threads`, so that a duration that
    /// happens to be valid still stops at the second flag instead of running the demo. Either
    /// way the answer is exit code 2, never a panic (101).
    #[test]
    fn arbitrary_durations_never_panic_the_cli(text in "[^\u{0}]{0,12}") {
        let duration = format!("--duration={text}");
        let (code, stderr) = sessionlab(&[&duration, "--threads", "0"]);
        prop_assert_eq!(code, Some(2), "--duration={:?}: {}", text, stderr);
        prop_assert!(!stderr.contains("panicked"), "{}", stderr);
    }
}
