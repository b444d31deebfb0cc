//! The session cookie: reading it from untrusted `Cookie` headers, and writing `Set-Cookie`.
//!
//! The cookie carries the session id and nothing else. Reading is total: a missing, malformed,
//! oversized or non-UTF-8 cookie is a [`CookieError`], never a panic, and the handlers answer
//! it with 401 ("not logged in"), clearing a malformed one so that the browser stops sending it.
//!
//! Under TLS the cookie is named [`SECURE_NAME`] (`__Host-session`): a browser only accepts a
//! cookie with that prefix if it is `Secure`, has `Path=/` and no `Domain`, so no other
//! server on a sibling domain, and nothing over plain HTTP, can set or overwrite it.

use sessionlab::{ParseSessionIdError, SessionId};
use std::fmt;
use std::time::Duration;

/// The cookie's name over plain HTTP.
pub const NAME: &str = "session";

/// The cookie's name under TLS: the `__Host-` prefix binds it to this host, `Secure` and
/// `Path=/`.
pub const SECURE_NAME: &str = "__Host-session";

/// The cookie's name: [`SECURE_NAME`] under TLS, [`NAME`] otherwise.
pub fn name(secure: bool) -> &'static str {
    if secure { SECURE_NAME } else { NAME }
}

/// Why a request carries no usable session id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CookieError {
    /// No `session` cookie at all.
    Missing,
    /// A `session` cookie whose value is not a session id.
    Malformed(ParseSessionIdError),
}

impl fmt::Display for CookieError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Missing => f.write_str("no session cookie"),
            Self::Malformed(error) => write!(f, "the session cookie is not a session id: {error}"),
        }
    }
}

impl std::error::Error for CookieError {}

/// Finds the session id in the values of a request's `Cookie` headers (raw bytes: a header
/// need not be UTF-8), in the cookie called `name`. A browser may send several such cookies
/// (set under different paths); the first that parses wins, and if none does the first one's
/// error is reported.
pub fn session_id<'a>(
    headers: impl IntoIterator<Item = &'a [u8]>,
    name: &str,
) -> Result<SessionId, CookieError> {
    let mut first_error = None;
    for header in headers {
        for pair in header.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            let Some(eq) = pair.iter().position(|&b| b == b'=') else { continue };
            let (key, value) = (&pair[..eq], &pair[eq + 1..]);
            if key != name.as_bytes() {
                continue;
            }
            // RFC 6265 allows the value in double quotes.
            let value =
                value.strip_prefix(b"\"").and_then(|v| v.strip_suffix(b"\"")).unwrap_or(value);
            match SessionId::parse_bytes(value) {
                Ok(id) => return Ok(id),
                Err(error) => {
                    first_error.get_or_insert(CookieError::Malformed(error));
                }
            }
        }
    }
    Err(first_error.unwrap_or(CookieError::Missing))
}

/// The `Set-Cookie` value that hands out `id` for `ttl`.
///
/// `HttpOnly`: page scripts cannot read it (an injected script cannot steal it). `SameSite=Lax`:
/// other sites' forms cannot post with it. `Path=/`: one cookie for the whole app. `Secure`
/// (under TLS): the browser only sends it over HTTPS, except to `localhost`/loopback, which
/// browsers treat as a secure context (Chromium sends it to `http://127.0.0.1` too). `Max-Age`:
/// the ttl, renewed on each request as the server renews the session.
pub fn set(id: &SessionId, ttl: Duration, secure: bool) -> String {
    // A cookie must outlive the session, never the reverse, so round up to whole seconds.
    let max_age = ttl.as_millis().div_ceil(1000).max(1);
    with_attributes(&format!("{}={id}; Max-Age={max_age}", name(secure)), secure)
}

/// The `Set-Cookie` value that makes the browser delete the cookie (at logout, and for a
/// cookie that is not a session id).
pub fn clear(secure: bool) -> String {
    with_attributes(&format!("{}=; Max-Age=0", name(secure)), secure)
}

fn with_attributes(cookie: &str, secure: bool) -> String {
    let secure = if secure { "; Secure" } else { "" };
    format!("{cookie}; Path=/; HttpOnly; SameSite=Lax{secure}")
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "6f1c9a52-3b7e-4d21-9a0c-5e8f7b2d4c13";

    fn parse(headers: &[&str]) -> Result<SessionId, CookieError> {
        session_id(headers.iter().map(|h| h.as_bytes()), NAME)
    }

    #[test]
    fn finds_the_session_among_other_cookies() {
        let id = parse(&[&format!("theme=dark; {NAME}={GOOD}; lang=en")]).unwrap();
        assert_eq!(id.to_string(), GOOD);
        assert_eq!(parse(&["a=b", &format!("{NAME}=\"{GOOD}\"")]).unwrap().to_string(), GOOD);
    }

    #[test]
    fn missing_and_malformed_are_errors() {
        assert_eq!(parse(&[]), Err(CookieError::Missing));
        assert_eq!(parse(&["sessionx=1; other"]), Err(CookieError::Missing));
        assert!(matches!(parse(&["session=nope"]), Err(CookieError::Malformed(_))));
        let huge = format!("session={}", "a".repeat(100_000));
        assert!(matches!(parse(&[&huge]), Err(CookieError::Malformed(_))));
        assert!(matches!(
            session_id([&b"session=\xff\xfe"[..]], NAME),
            Err(CookieError::Malformed(_))
        ));
    }

    #[test]
    fn a_good_duplicate_wins_over_a_bad_one() {
        let id = parse(&[&format!("session=junk; session={GOOD}")]).unwrap();
        assert_eq!(id.to_string(), GOOD);
    }

    #[test]
    fn set_cookie_has_the_flags() {
        let id: SessionId = GOOD.parse().unwrap();
        let plain = set(&id, Duration::from_millis(1500), false);
        assert_eq!(plain, format!("session={GOOD}; Max-Age=2; Path=/; HttpOnly; SameSite=Lax"));
        let secure = set(&id, Duration::from_secs(60), true);
        assert!(secure.starts_with("__Host-session=") && secure.ends_with("; Secure"), "{secure}");
        assert!(clear(false).contains("Max-Age=0"));
        assert!(clear(true).starts_with("__Host-session=; Max-Age=0"));
        let plain = format!("session={GOOD}");
        assert_eq!(session_id([plain.as_bytes()], SECURE_NAME), Err(CookieError::Missing));
    }
}
