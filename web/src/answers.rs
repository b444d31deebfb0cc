//! What the app answers a client that does not ask for HTML (curl, [`load`](crate::load),
//! [`spread`](crate::spread), the tests), in one place: the load generators judge every answer
//! against these, so a change in the app's answers is one change here, not one per judge.
//!
//! A browser (`Accept: text/html`) gets pages instead; see [`app`](crate::app).

use crate::client::Response;

/// The status of a login or logout that worked: `303 See Other` to `/` (redirect after POST,
/// so that reloading the page never posts the form again).
pub const AFTER_POST: u16 = 303;

/// The status of a `/me` that found a live session.
pub const ME_OK: u16 = 200;

/// The status of a request whose session cannot be used (none, unknown, expired).
pub const NOT_LOGGED_IN: u16 = 401;

/// The status of a request the store (or the shared user directory) could not answer.
pub const UNAVAILABLE: u16 = 503;

/// The body of a `/me` that found the session of `name`.
pub fn me_body(name: &str) -> String {
    format!("you are {name}\n")
}

/// The session id a login answer issued over plain HTTP: the `session` cookie of a
/// [`AFTER_POST`] answer, and nothing for any other status.
pub fn issued_session(login: &Response) -> Option<&str> {
    login.cookie(crate::cookie::NAME).filter(|_| login.status == AFTER_POST)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer(status: u16, set_cookie: &str) -> Response {
        Response {
            status,
            set_cookies: vec![set_cookie.to_owned()],
            headers: Vec::new(),
            body: Vec::new(),
        }
    }

    #[test]
    fn only_a_redirected_login_issues_a_session() {
        assert_eq!(issued_session(&answer(303, "session=abc; Path=/")), Some("abc"));
        assert_eq!(issued_session(&answer(200, "session=abc; Path=/")), None);
        assert_eq!(issued_session(&answer(303, "__Host-session=abc; Path=/")), None);
    }
}
