//! Bad cookies never panic: arbitrary `Cookie` header bytes give a session id or a typed
//! error, and a well-formed cookie is always found, wherever it sits among other cookies.
//! 100k cases per property by default (`PROPTEST_CASES` overrides).

use proptest::prelude::*;
use sessionlab::SessionId;
use sessionlab_web::cookie::{self, CookieError};

fn config() -> ProptestConfig {
    let cases =
        std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(100_000);
    ProptestConfig { cases, failure_persistence: None, ..ProptestConfig::default() }
}

proptest! {
    #![proptest_config(config())]

    #[test]
    fn arbitrary_headers_never_panic(headers in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..96), 0..4)) {
        match cookie::session_id(headers.iter().map(Vec::as_slice), cookie::NAME) {
            Ok(id) => prop_assert_eq!(id.to_string().len(), SessionId::LEN),
            Err(CookieError::Missing | CookieError::Malformed(_)) => {}
        }
    }

    #[test]
    fn a_valid_cookie_is_found_among_junk(
        before in "[a-z]{1,8}=[ -:<-~]{0,20}",
        after in "[a-z]{1,8}=[ -:<-~]{0,20}",
        bytes in any::<[u8; 16]>(),
    ) {
        prop_assume!(!before.starts_with("session=") && !after.starts_with("session="));
        let id: SessionId = uuid_v4(bytes).parse().expect("a canonical v4 id");
        let header = format!("{before}; session={id}; {after}");
        prop_assert_eq!(cookie::session_id([header.as_bytes()], cookie::NAME), Ok(id));
    }
}

/// The canonical text of the v4 UUID with these random bytes.
fn uuid_v4(mut bytes: [u8; 16]) -> String {
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
    format!("{}-{}-{}-{}-{}", &hex[0..8], &hex[8..12], &hex[12..16], &hex[16..20], &hex[20..32])
}
