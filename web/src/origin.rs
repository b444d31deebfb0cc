//! Refusing cross-site POSTs: the defence against login CSRF.
//!
//! `SameSite=Lax` keeps the session cookie off a POST that another site's form sends, which
//! protects `logout`. It cannot protect `login`: a forged login needs no cookie, it *sets* one,
//! so an attacker's page could log a victim in under the attacker's name (and then read what
//! the victim does "as" the attacker). Browsers say where a request comes from, and every
//! POST is checked:
//!
//! 1. `Sec-Fetch-Site` (every current browser sends it): only `same-origin` and `none` (typed
//!    into the address bar, a bookmark) pass; `same-site` (a sibling subdomain or another
//!    port) and `cross-site` are refused.
//! 2. Otherwise `Origin`: it must name this server (its host and port equal `Host`).
//!    `Origin: null` (a sandboxed frame, a `data:` page) is refused.
//! 3. A request with neither header is not from a browser (curl, the load generator) and
//!    passes: a forged cross-site request always comes from a browser, which sends them.

use axum::http::HeaderMap;
use axum::http::header::{HOST, ORIGIN};
use std::fmt;

/// Why a POST is refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossSite {
    /// `Sec-Fetch-Site` said the request came from elsewhere.
    FetchSite(String),
    /// `Origin` named another origin than this server's (or `null`).
    Origin(String),
}

impl fmt::Display for CrossSite {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::FetchSite(site) => {
                write!(
                    f,
                    "the browser says this form was sent from another site (Sec-Fetch-Site: {site})"
                )
            }
            Self::Origin(origin) => {
                write!(
                    f,
                    "this form was sent from another origin ({origin}), not from this server's page"
                )
            }
        }
    }
}

impl std::error::Error for CrossSite {}

/// Checks that a POST with `headers` comes from this server's own pages (or not from a
/// browser at all).
pub fn check(headers: &HeaderMap) -> Result<(), CrossSite> {
    let lossy =
        |value: &axum::http::HeaderValue| String::from_utf8_lossy(value.as_bytes()).into_owned();
    if let Some(site) = headers.get("sec-fetch-site") {
        return match site.as_bytes() {
            b"same-origin" | b"none" => Ok(()),
            _ => Err(CrossSite::FetchSite(lossy(site))),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else { return Ok(()) };
    // `Origin` is `scheme://host[:port]`; `Host` is `host[:port]`, with the same rule for
    // default ports (both leave them out).
    let authority = origin
        .as_bytes()
        .splitn(2, |&b| b == b':')
        .nth(1)
        .and_then(|rest| rest.strip_prefix(b"//"));
    match (authority, headers.get(HOST)) {
        (Some(authority), Some(host)) if authority.eq_ignore_ascii_case(host.as_bytes()) => Ok(()),
        _ => Err(CrossSite::Origin(lossy(origin))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        pairs.iter().map(|(name, value)| (name.parse().unwrap(), value.parse().unwrap())).collect()
    }

    #[test]
    fn same_origin_and_non_browsers_pass() {
        assert_eq!(check(&headers(&[])), Ok(()));
        assert_eq!(check(&headers(&[("host", "127.0.0.1:8080")])), Ok(()));
        let same = [("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8080")];
        assert_eq!(check(&headers(&same)), Ok(()));
        assert_eq!(check(&headers(&[("sec-fetch-site", "same-origin")])), Ok(()));
        assert_eq!(check(&headers(&[("sec-fetch-site", "none")])), Ok(()));
    }

    #[test]
    fn other_sites_are_refused() {
        let evil = [("host", "127.0.0.1:8080"), ("origin", "https://evil.example")];
        assert!(matches!(check(&headers(&evil)), Err(CrossSite::Origin(_))));
        let other_port = [("host", "127.0.0.1:8080"), ("origin", "http://127.0.0.1:8081")];
        assert!(check(&headers(&other_port)).is_err());
        let null = [("host", "127.0.0.1:8080"), ("origin", "null")];
        assert!(check(&headers(&null)).is_err());
        for site in ["cross-site", "same-site"] {
            let fetch = [("sec-fetch-site", site), ("origin", "http://127.0.0.1:8080")];
            assert_eq!(check(&headers(&fetch)), Err(CrossSite::FetchSite(site.into())));
        }
        let no_host = [("origin", "http://127.0.0.1:8080")];
        assert!(check(&headers(&no_host)).is_err());
    }
}
