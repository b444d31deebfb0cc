//! The lesson's web app: log in, ask who you are, log out.
//!
//! | route | does | answers |
//! |---|---|---|
//! | `POST /login` (form `user=<name>`) | creates a session under a fresh random id | 200 + `Set-Cookie`; 400 for a bad name |
//! | `GET /me` | touches the session | 200 `you are <name>` + a renewed cookie; 401 if not logged in |
//! | `POST /logout` | removes the session; may start a sweep (single-flight) | 200 + a clearing cookie; 401 if not logged in |
//! | `GET /` | a small HTML page with the three forms | 200 |
//!
//! Every answer about a session that cannot be used (no cookie, a malformed or oversized one,
//! an unknown or expired id) is 401 with a body that says which; a store that fails (a remote
//! one) is 503. Nothing a client sends can make a handler panic.

use crate::backend::{Backend, StoreError};
use crate::cookie::{self, CookieError};
use crate::users::{self, NameError, UserDirectory};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::StatusCode;
use axum::http::header::{self, HeaderMap};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use sessionlab::time::Clock;
use sessionlab::{SessionId, SweepGate, UserId};
use std::sync::Arc;
use std::time::Duration;

/// The largest request body accepted (a login form); larger ones get 413.
pub const MAX_BODY: usize = 16 * 1024;

/// Everything the handlers share.
pub struct AppState {
    /// The session store.
    pub backend: Backend,
    /// User names.
    pub users: Arc<dyn UserDirectory>,
    /// The clock the handlers and the background sweeper share.
    pub clock: Clock,
    /// The single-flight gate for logout-triggered sweeps.
    pub gate: SweepGate,
    /// How long an idle session lives.
    pub ttl: Duration,
    /// Whether the app is served over TLS (adds `Secure` to the cookie).
    pub secure: bool,
    /// Whether to log every login and logout (ids redacted).
    pub verbose: bool,
}

/// The app's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .with_state(state)
}

async fn index() -> Html<&'static str> {
    Html(include_str!("index.html"))
}

fn cookie_headers(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers.get_all(header::COOKIE).iter().map(|value| value.as_bytes())
}

fn text(status: StatusCode, body: String) -> Response {
    (status, body).into_response()
}

fn with_cookie(status: StatusCode, set_cookie: String, body: String) -> Response {
    (status, [(header::SET_COOKIE, set_cookie)], body).into_response()
}

fn not_logged_in(why: &CookieError) -> Response {
    text(StatusCode::UNAUTHORIZED, format!("not logged in: {why}\n"))
}

fn unknown_session(state: &AppState) -> Response {
    with_cookie(
        StatusCode::UNAUTHORIZED,
        cookie::clear(state.secure),
        "not logged in: unknown or expired session\n".to_owned(),
    )
}

fn unavailable(error: &StoreError) -> Response {
    eprintln!("session store error: {error}");
    text(StatusCode::SERVICE_UNAVAILABLE, "the session store is unavailable, try again\n".into())
}

async fn display_name(state: &AppState, user: UserId) -> String {
    let users = Arc::clone(&state.users);
    // A user with no name (a directory that lost it) is still shown as *someone*.
    state.backend.run(move || users.name(user)).await.flatten().unwrap_or_else(|| user.to_string())
}

async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let Some(name) = form_urlencoded::parse(&body).find(|(key, _)| key == "user").map(|(_, v)| v)
    else {
        return text(
            StatusCode::BAD_REQUEST,
            "send the user name as the form field user=<name>\n".into(),
        );
    };
    let name = match users::validate(&name) {
        Ok(valid) => valid.to_owned(),
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("{error}\n")),
    };
    let users = Arc::clone(&state.users);
    let interned = {
        let name = name.clone();
        state.backend.run(move || users.intern(&name)).await.unwrap_or(Err(NameError::Unavailable))
    };
    let user = match interned {
        Ok(user) => user,
        Err(error @ (NameError::Full | NameError::Unavailable)) => {
            return text(StatusCode::SERVICE_UNAVAILABLE, format!("{error}\n"));
        }
        Err(error) => return text(StatusCode::BAD_REQUEST, format!("{error}\n")),
    };
    let now = state.clock.now();
    // A login always issues a fresh id; the old one, if the browser still had it, goes now
    // rather than lingering until it expires.
    let old = cookie::session_id(cookie_headers(&headers)).ok();
    let created = state
        .backend
        .call(move |store| {
            if let Some(old) = old {
                store.try_remove(&old)?;
            }
            store.try_create(user, now)
        })
        .await;
    match created {
        Ok(id) => {
            if state.verbose {
                eprintln!("login  {name} -> session {}", id.redacted());
            }
            with_cookie(
                StatusCode::OK,
                cookie::set(&id, state.ttl, state.secure),
                format!("welcome, {name}\n"),
            )
        }
        Err(error) => unavailable(&error),
    }
}

async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let id = match cookie::session_id(cookie_headers(&headers)) {
        Ok(id) => id,
        Err(why) => return not_logged_in(&why),
    };
    let now = state.clock.now();
    match state.backend.call(move |store| store.try_touch(&id, now)).await {
        // The lesson renews the cookie on every request, as the server renews the session.
        Ok(Some(user)) => with_cookie(
            StatusCode::OK,
            cookie::set(&id, state.ttl, state.secure),
            format!("you are {}\n", display_name(&state, user).await),
        ),
        Ok(None) => unknown_session(&state),
        Err(error) => unavailable(&error),
    }
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let id: SessionId = match cookie::session_id(cookie_headers(&headers)) {
        Ok(id) => id,
        Err(why) => return not_logged_in(&why),
    };
    let removed = state.backend.call(move |store| store.try_remove(&id)).await;
    // The lesson sweeps from its logout handler; the gate lets one logout per interval do it,
    // however many arrive at once, while the background sweeper keeps its own schedule.
    let now = state.clock.now();
    if state.gate.try_claim(now) {
        state.backend.sweep_in_background(now);
    }
    match removed {
        Ok(Some(user)) => {
            let name = display_name(&state, user).await;
            if state.verbose {
                eprintln!("logout {name} <- session {}", id.redacted());
            }
            with_cookie(StatusCode::OK, cookie::clear(state.secure), format!("goodbye, {name}\n"))
        }
        Ok(None) => unknown_session(&state),
        Err(error) => unavailable(&error),
    }
}
