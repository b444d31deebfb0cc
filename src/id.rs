//! Session ids: random UUID v4s from the operating system's CSPRNG, written and parsed in the
//! canonical hyphenated lowercase form (`xxxxxxxx-xxxx-4xxx-Vxxx-xxxxxxxxxxxx`).
//!
//! A session id is the only secret a cookie carries, so it must be unguessable (122 random
//! bits) and never derived from user data. Parsing is strict and total: every input, however
//! malformed, gives either an id or a [`ParseSessionIdError`] that says what is wrong. It never
//! panics, because the input comes from whoever sent the request.

use std::fmt;
use std::str::FromStr;

/// A session id: a random UUID v4.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SessionId(uuid::Uuid);

impl SessionId {
    /// The length of the canonical form, in bytes.
    pub const LEN: usize = 36;

    /// A fresh random id from the operating system's CSPRNG.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// A deterministic, well-formed v4 id built from `n`, for tests and model checking where
    /// ids must be fixed. Distinct `n` give distinct ids. Never use it for real sessions.
    pub fn fixed(n: u64) -> Self {
        // `n` goes into bytes the v4 builder leaves alone (it sets the version in byte 6 and
        // the variant in byte 8), so `fixed(1)` reads `00000000-0000-4000-8000-000000000001`.
        let n = n.to_be_bytes();
        let mut bytes = [0u8; 16];
        bytes[..4].copy_from_slice(&n[..4]);
        bytes[12..].copy_from_slice(&n[4..]);
        Self(uuid::Builder::from_random_bytes(bytes).into_uuid())
    }

    /// The 16 raw bytes.
    pub fn as_bytes(&self) -> &[u8; 16] {
        self.0.as_bytes()
    }

    /// A short prefix for logs: enough to tell sessions apart, too short to hijack one.
    pub fn redacted(&self) -> String {
        let mut s = self.to_string();
        s.truncate(8);
        s.push('…');
        s
    }
}

impl fmt::Display for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0.hyphenated(), f)
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SessionId({self})")
    }
}

/// Why a string is not a session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParseSessionIdError {
    /// The input is not 36 bytes long.
    Length {
        /// The input's length in bytes.
        found: usize,
    },
    /// A hyphen is missing at byte `at` (hyphens sit at 8, 13, 18 and 23), or one is
    /// somewhere else.
    Hyphen {
        /// The byte offset.
        at: usize,
    },
    /// Byte `at` is not a lowercase hexadecimal digit.
    Character {
        /// The byte offset.
        at: usize,
        /// The offending byte.
        found: u8,
    },
    /// Byte `at` is an uppercase hex digit. Ids are issued in lowercase, and accepting both
    /// cases would give one session two spellings.
    Uppercase {
        /// The byte offset.
        at: usize,
    },
    /// The version digit (byte 14) is not `4`: this is not a random UUID.
    Version {
        /// The version digit found.
        found: char,
    },
    /// The variant digit (byte 19) is not one of `8`, `9`, `a`, `b` (RFC 9562).
    Variant {
        /// The variant digit found.
        found: char,
    },
}

impl fmt::Display for ParseSessionIdError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::Length { found } => write!(
                f,
                "a session id is {} characters long, this one is {found} bytes",
                SessionId::LEN
            ),
            Self::Hyphen { at } => write!(
                f,
                "byte {at}: hyphens belong at 8, 13, 18 and 23 (xxxxxxxx-xxxx-4xxx-8xxx-xxxxxxxxxxxx)"
            ),
            Self::Character { at, found } => write!(
                f,
                "byte {at}: {} is not a lowercase hexadecimal digit",
                found.escape_ascii()
            ),
            Self::Uppercase { at } => {
                write!(f, "byte {at}: session ids are lowercase hexadecimal")
            }
            Self::Version { found } => {
                write!(f, "version digit (byte 14) is {found}, a random UUID has 4")
            }
            Self::Variant { found } => {
                write!(f, "variant digit (byte 19) is {found}, an RFC 9562 UUID has 8, 9, a or b")
            }
        }
    }
}

impl std::error::Error for ParseSessionIdError {}

const HYPHENS: [usize; 4] = [8, 13, 18, 23];

impl FromStr for SessionId {
    type Err = ParseSessionIdError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse_bytes(s.as_bytes())
    }
}

impl SessionId {
    /// Parses the canonical form from raw bytes (for example a cookie value that may not even
    /// be UTF-8). Total: returns an error for every malformed input, never panics.
    pub fn parse_bytes(input: &[u8]) -> Result<Self, ParseSessionIdError> {
        if input.len() != Self::LEN {
            return Err(ParseSessionIdError::Length { found: input.len() });
        }
        let mut bytes = [0u8; 16];
        let mut nibbles = 0usize;
        for (at, &b) in input.iter().enumerate() {
            let is_hyphen_slot = HYPHENS.contains(&at);
            if is_hyphen_slot || b == b'-' {
                if !(is_hyphen_slot && b == b'-') {
                    return Err(ParseSessionIdError::Hyphen { at });
                }
                continue;
            }
            let value = match b {
                b'0'..=b'9' => b - b'0',
                b'a'..=b'f' => b - b'a' + 10,
                b'A'..=b'F' => return Err(ParseSessionIdError::Uppercase { at }),
                _ => return Err(ParseSessionIdError::Character { at, found: b }),
            };
            bytes[nibbles / 2] |= value << if nibbles % 2 == 0 { 4 } else { 0 };
            nibbles += 1;
        }
        // Both digits are ASCII hex here: the loop above has checked every byte.
        if input[14] != b'4' {
            return Err(ParseSessionIdError::Version { found: char::from(input[14]) });
        }
        if !matches!(input[19], b'8' | b'9' | b'a' | b'b') {
            return Err(ParseSessionIdError::Variant { found: char::from(input[19]) });
        }
        Ok(Self(uuid::Uuid::from_bytes(bytes)))
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const GOOD: &str = "6f1c9a52-3b7e-4d21-9a0c-5e8f7b2d4c13";

    fn err(s: &str) -> ParseSessionIdError {
        s.parse::<SessionId>().expect_err(s)
    }

    #[test]
    fn display_round_trips_generated_ids() {
        for _ in 0..100 {
            let id = SessionId::generate();
            let text = id.to_string();
            assert_eq!(text.len(), SessionId::LEN);
            assert_eq!(text.parse::<SessionId>(), Ok(id));
        }
    }

    #[test]
    fn parses_canonical_form() {
        assert_eq!(GOOD.parse::<SessionId>().unwrap().to_string(), GOOD);
    }

    #[test]
    fn fixed_ids_are_distinct_valid_v4() {
        let ids: Vec<_> = (0..1000).map(SessionId::fixed).collect();
        let mut unique = ids.clone();
        unique.sort();
        unique.dedup();
        assert_eq!(unique.len(), ids.len());
        for id in ids {
            assert_eq!(id.to_string().parse::<SessionId>(), Ok(id));
        }
        assert_ne!(SessionId::fixed(1), SessionId::fixed(1 << 50));
        assert_eq!(SessionId::fixed(1).to_string(), "00000000-0000-4000-8000-000000000001");
    }

    #[test]
    fn empty_is_a_length_error() {
        assert_eq!(err(""), ParseSessionIdError::Length { found: 0 });
    }

    #[test]
    fn off_by_one_lengths_are_length_errors() {
        assert_eq!(err(&GOOD[..35]), ParseSessionIdError::Length { found: 35 });
        assert_eq!(err(&format!("{GOOD}0")), ParseSessionIdError::Length { found: 37 });
    }

    #[test]
    fn non_hex_is_a_character_error() {
        let bad = GOOD.replacen('6', "g", 1);
        assert_eq!(err(&bad), ParseSessionIdError::Character { at: 0, found: b'g' });
    }

    #[test]
    fn uppercase_is_refused() {
        let upper = GOOD.to_uppercase();
        assert_eq!(err(&upper), ParseSessionIdError::Uppercase { at: 1 });
    }

    #[test]
    fn wrong_version_is_refused() {
        let v1 = format!("{}1{}", &GOOD[..14], &GOOD[15..]);
        assert_eq!(err(&v1), ParseSessionIdError::Version { found: '1' });
    }

    #[test]
    fn wrong_variant_is_refused() {
        let nil_variant = format!("{}7{}", &GOOD[..19], &GOOD[20..]);
        assert_eq!(err(&nil_variant), ParseSessionIdError::Variant { found: '7' });
    }

    #[test]
    fn braces_are_refused() {
        assert_eq!(err(&format!("{{{GOOD}}}")), ParseSessionIdError::Length { found: 38 });
        let braced_same_length = format!("{{{}}}", &GOOD[1..35]);
        assert!(matches!(
            err(&braced_same_length),
            ParseSessionIdError::Character { at: 0, found: b'{' }
        ));
    }

    #[test]
    fn nul_is_refused() {
        let nul = format!("{}\0{}", &GOOD[..5], &GOOD[6..]);
        assert_eq!(err(&nul), ParseSessionIdError::Character { at: 5, found: 0 });
    }

    #[test]
    fn misplaced_hyphens_are_refused() {
        let no_hyphens = format!("{}0000", GOOD.replace('-', ""));
        assert_eq!(err(&no_hyphens), ParseSessionIdError::Hyphen { at: 8 });
        let extra = format!("-{}", &GOOD[1..]);
        assert_eq!(err(&extra), ParseSessionIdError::Hyphen { at: 0 });
    }

    #[test]
    fn multibyte_input_of_the_right_length_is_an_error_not_a_panic() {
        let s = "é".repeat(18);
        assert_eq!(s.len(), 36);
        assert!(s.parse::<SessionId>().is_err());
        assert!(SessionId::parse_bytes(&[0xff; 36]).is_err());
    }

    #[test]
    fn errors_say_what_is_wrong() {
        assert!(err("").to_string().contains("36"));
        assert!(err(&GOOD.to_uppercase()).to_string().contains("lowercase"));
    }

    #[test]
    fn redacted_hides_most_of_the_id() {
        let id: SessionId = GOOD.parse().unwrap();
        assert_eq!(id.redacted(), "6f1c9a52…");
    }
}
