//! The lesson's web app: log in, see who you are, log out.
//!
//! | route | does | answers |
//! |---|---|---|
//! | `GET /` | the page that teaches: who you are, this server's store, ttl and live counts, the cookie explained | 200 HTML |
//! | `POST /login` (form `user=<name>`) | creates a session under a fresh random id | 303 to `/` + `Set-Cookie`; 400 for a bad name; 503 + `Retry-After` when the store holds its cap of sessions (a shared store: all servers' sessions) |
//! | `GET /me` | touches the session | 200 `you are <name>` + a renewed cookie; 401 if not logged in (a browser gets the page) |
//! | `POST /logout` | removes the session; may start a sweep (single-flight) | 303 to `/` + a clearing cookie; 401 if not logged in |
//! | `GET /stats` | the live counts, for the page's script | 200 JSON |
//! | `GET /favicon.ico` | nothing to show | 204 |
//!
//! Every answer about a session that cannot be used (no cookie, a malformed or oversized one,
//! an unknown or expired id) is 401 with a body that says which, and a cookie that is not a
//! usable session id is cleared; a store that fails (a remote one) is 503. A client that asks
//! for HTML (a browser) gets errors as pages with a way back; others get one line of text.
//! Nothing a client sends can make a handler panic.
//!
//! Every request passes [`guard`]: a POST from another site is 403 ([`crate::origin`]), a
//! request not answered within the request timeout (a body that never arrives) is 408, and
//! every answer carries `Cache-Control: no-store` (they depend on the session: Back after
//! logout must not show a cached logged-in page) and, under TLS, `Strict-Transport-Security`.

use crate::backend::{Backend, StoreError};
use crate::cookie::{self, CookieError};
use crate::page;
use crate::server::ServeConfig;
use crate::users::{self, NameError, UserDirectory};
use axum::Router;
use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::header::{self, HeaderMap, HeaderValue};
use axum::http::{Method, StatusCode};
use axum::middleware::{self, Next};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::{get, post};
use sessionlab::time::Clock;
use sessionlab::{SessionId, SweepGate};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// The largest request body accepted (a login form); larger ones get 413.
pub const MAX_BODY: usize = 16 * 1024;

/// How long a browser keeps to HTTPS for this host after an answer over TLS. An hour, not a
/// year: a lab server on `localhost` would otherwise pin every `localhost` port to HTTPS.
pub const HSTS: &str = "max-age=3600";

/// Everything the handlers share.
pub struct AppState {
    /// The session store.
    pub backend: Backend,
    /// User names and their sessions.
    pub users: Arc<dyn UserDirectory>,
    /// The clock the handlers and the background sweeper share.
    pub clock: Clock,
    /// The single-flight gate for logout-triggered sweeps.
    pub gate: SweepGate,
    /// How long an idle session lives.
    pub ttl: Duration,
    /// How often the sweeper runs.
    pub sweep_every: Duration,
    /// Whether the app is served over TLS (`Secure`, `__Host-`, HSTS).
    pub secure: bool,
    /// Whether to log every login and logout (ids redacted, names escaped).
    pub verbose: bool,
    /// The most sessions the store may hold.
    pub max_sessions: usize,
    /// How long a request may take, body included.
    pub request_timeout: Duration,
    /// Requests answered so far.
    pub requests: AtomicU64,
}

impl AppState {
    /// The state for `backend` and `users` under `config`.
    pub fn new(
        backend: Backend,
        users: Arc<dyn UserDirectory>,
        clock: Clock,
        config: &ServeConfig,
    ) -> Self {
        let every = u64::try_from(config.sweep_every.as_millis()).unwrap_or(u64::MAX);
        Self {
            backend,
            users,
            clock,
            gate: SweepGate::new(every, clock.now()),
            ttl: config.ttl,
            sweep_every: config.sweep_every,
            secure: config.tls.is_some(),
            verbose: config.verbose,
            max_sessions: config.max_sessions,
            request_timeout: config.request_timeout,
            requests: AtomicU64::new(0),
        }
    }

    fn cookie_name(&self) -> &'static str {
        cookie::name(self.secure)
    }
}

/// The app's routes over `state`.
pub fn router(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(index))
        .route("/login", post(login))
        .route("/me", get(me))
        .route("/logout", post(logout))
        .route("/stats", get(stats))
        .route("/favicon.ico", get(|| async { StatusCode::NO_CONTENT }))
        .layer(DefaultBodyLimit::max(MAX_BODY))
        .layer(middleware::from_fn_with_state(Arc::clone(&state), guard))
        .with_state(state)
}

/// The checks and headers every request gets (see the module docs).
pub async fn guard(State(state): State<Arc<AppState>>, request: Request, next: Next) -> Response {
    state.requests.fetch_add(1, Ordering::Relaxed);
    let html = wants_html(request.headers());
    let mut response = if request.method() == Method::POST
        && let Err(why) = crate::origin::check(request.headers())
    {
        failure(
            html,
            StatusCode::FORBIDDEN,
            "Refused: sent from another site",
            &why.to_string(),
            "Log in from this server's own page.",
        )
    } else {
        match tokio::time::timeout(state.request_timeout, next.run(request)).await {
            Ok(response) => response,
            Err(_) => failure(
                html,
                StatusCode::REQUEST_TIMEOUT,
                "Too slow",
                &format!("the request was not complete within {:?}", state.request_timeout),
                "Send the form again.",
            ),
        }
    };
    let headers = response.headers_mut();
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if state.secure {
        headers.insert(header::STRICT_TRANSPORT_SECURITY, HeaderValue::from_static(HSTS));
    }
    response
}

fn wants_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .is_some_and(|accept| accept.as_bytes().windows(9).any(|w| w == b"text/html"))
}

fn cookie_headers(headers: &HeaderMap) -> impl Iterator<Item = &[u8]> {
    headers.get_all(header::COOKIE).iter().map(|value| value.as_bytes())
}

/// An error: a page with a way back for a browser, one line of text for anyone else.
fn failure(html: bool, status: StatusCode, title: &str, detail: &str, hint: &str) -> Response {
    if html {
        (status, Html(page::error(title, detail, hint))).into_response()
    } else {
        (status, format!("{detail}\n")).into_response()
    }
}

fn with_cookie(mut response: Response, set_cookie: &str) -> Response {
    if let Ok(value) = HeaderValue::from_str(set_cookie) {
        response.headers_mut().append(header::SET_COOKIE, value);
    }
    response
}

/// 303 to the start page (redirect after POST: reloading it never re-posts the form).
fn see_start_page(set_cookie: &str, text: String) -> Response {
    let response = (StatusCode::SEE_OTHER, [(header::LOCATION, "/")], text).into_response();
    with_cookie(response, set_cookie)
}

fn not_logged_in(state: &AppState, html: bool, why: &str) -> Response {
    let response = failure(
        html,
        StatusCode::UNAUTHORIZED,
        "Not logged in",
        &format!("not logged in: {why}"),
        "Log in on the start page.",
    );
    // A cookie that is no usable session (malformed, unknown, expired) is cleared, so the
    // browser stops sending it.
    if why.contains("no session cookie") {
        response
    } else {
        with_cookie(response, &cookie::clear(state.secure))
    }
}

fn unavailable(html: bool, error: &StoreError) -> Response {
    eprintln!("session store error: {error}");
    failure(
        html,
        StatusCode::SERVICE_UNAVAILABLE,
        "Try again",
        "the session store is unavailable, try again",
        "Wait a moment and reload.",
    )
}

/// Who is asking.
enum Visitor {
    /// A live session of `user`.
    User { id: SessionId, name: String },
    /// No usable session, and why.
    Anonymous(String),
    /// The store failed.
    Unavailable(StoreError),
}

async fn visitor(state: &AppState, headers: &HeaderMap) -> Visitor {
    let id = match cookie::session_id(cookie_headers(headers), state.cookie_name()) {
        Ok(id) => id,
        Err(why @ CookieError::Missing) | Err(why @ CookieError::Malformed(_)) => {
            return Visitor::Anonymous(why.to_string());
        }
    };
    let now = state.clock.now();
    let user = match state.backend.call(move |store| store.try_touch(&id, now)).await {
        Ok(Some(user)) => user,
        Ok(None) => return Visitor::Anonymous("unknown or expired session".into()),
        Err(error) => return Visitor::Unavailable(error),
    };
    let users = Arc::clone(&state.users);
    match state.backend.run(move || users.active(user)).await {
        Some(Ok(Some(name))) => Visitor::User { id, name },
        // No name for a live session (a shared directory that lost it): it cannot be shown
        // as anyone, so it is not logged in; it expires like any idle session.
        Some(Ok(None)) => Visitor::Anonymous("unknown or expired session".into()),
        // The directory cannot be reached: 503, never a session shown under a number.
        Some(Err(error)) => Visitor::Unavailable(StoreError::new(error)),
        None => Visitor::Unavailable(StoreError::msg("the user directory call panicked")),
    }
}

async fn index(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let visitor = visitor(&state, &headers).await;
    home(&state, visitor, StatusCode::OK).await
}

async fn home(state: &AppState, visitor: Visitor, anonymous_status: StatusCode) -> Response {
    let sessions = state.backend.session_count().await.ok();
    let counts = state.backend.sweep_counts();
    let mut view = page::Home {
        user: None,
        session: None,
        notice: None,
        store: state.backend.name(),
        ttl: state.ttl,
        sweep_every: state.sweep_every,
        sessions,
        sweeps: counts.sweeps(),
        swept: counts.removed(),
        requests: state.requests.load(Ordering::Relaxed),
        secure: state.secure,
        cookie_name: state.cookie_name(),
    };
    match &visitor {
        Visitor::User { id, name, .. } => {
            view.user = Some(name);
            view.session = Some(id.redacted());
            let response = (StatusCode::OK, Html(page::home(&view))).into_response();
            with_cookie(response, &cookie::set(id, state.ttl, state.secure))
        }
        Visitor::Anonymous(why) => {
            let missing = why.contains("no session cookie");
            if !missing {
                view.notice = Some(format!(
                    "Your browser sent a cookie this server cannot use ({why}); it has been cleared."
                ));
            }
            let response = (anonymous_status, Html(page::home(&view))).into_response();
            if missing { response } else { with_cookie(response, &cookie::clear(state.secure)) }
        }
        Visitor::Unavailable(error) => unavailable(true, error),
    }
}

async fn me(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let html = wants_html(&headers);
    let visitor = visitor(&state, &headers).await;
    if html {
        return home(&state, visitor, StatusCode::UNAUTHORIZED).await;
    }
    match visitor {
        // The lesson renews the cookie on every request, as the server renews the session.
        Visitor::User { id, name, .. } => with_cookie(
            (StatusCode::OK, format!("you are {name}\n")).into_response(),
            &cookie::set(&id, state.ttl, state.secure),
        ),
        Visitor::Anonymous(why) => not_logged_in(&state, false, &why),
        Visitor::Unavailable(error) => unavailable(false, &error),
    }
}

async fn stats(State(state): State<Arc<AppState>>) -> Response {
    let sessions = state.backend.session_count().await.ok();
    let counts = state.backend.sweep_counts();
    let body = format!(
        "{{\"requests\":{},\"sessions\":{},\"sweeps\":{},\"swept\":{}}}",
        state.requests.load(Ordering::Relaxed),
        sessions.map_or_else(|| "null".to_owned(), |n| n.to_string()),
        counts.sweeps(),
        counts.removed(),
    );
    ([(header::CONTENT_TYPE, "application/json")], body).into_response()
}

fn bad_name(html: bool, error: &NameError) -> Response {
    failure(
        html,
        StatusCode::BAD_REQUEST,
        "That name will not do",
        &error.to_string(),
        "Pick a name of 1 to 64 bytes of printable text.",
    )
}

async fn login(State(state): State<Arc<AppState>>, headers: HeaderMap, body: Bytes) -> Response {
    let html = wants_html(&headers);
    let Some(name) = form_urlencoded::parse(&body).find(|(key, _)| key == "user").map(|(_, v)| v)
    else {
        return failure(
            html,
            StatusCode::BAD_REQUEST,
            "No name",
            "send the user name as the form field user=<name>",
            "Type a name in the form.",
        );
    };
    let name = match users::validate(&name) {
        Ok(valid) => valid.to_owned(),
        Err(error) => return bad_name(html, &error),
    };
    let retry_after = state.sweep_every.as_secs().max(1).to_string();
    let busy = |what: &str| {
        let response = failure(
            html,
            StatusCode::SERVICE_UNAVAILABLE,
            "The server is full",
            what,
            "Idle sessions expire and are swept; try again shortly.",
        );
        let mut response = response;
        if let Ok(value) = HeaderValue::from_str(&retry_after) {
            response.headers_mut().insert(header::RETRY_AFTER, value);
        }
        response
    };
    // The cap on sessions in total, checked before anything is registered: an in-memory
    // store's own count (O(1)), or a remote store's count of every server's sessions (Redis:
    // one ZCARD per partition, pipelined; one round trip on a single server). Logins under
    // way at once, on every server sharing the store, may overshoot it by their number,
    // which the connection caps bound.
    match state.backend.session_count().await {
        Ok(count) if count >= state.max_sessions => {
            // Idle sessions count until a sweep removes them, and the background sweeper
            // may be a whole interval away: a full store starts a sweep now, so that
            // abandoned sessions cannot keep the store full after they expire.
            let now = state.clock.now();
            if state.gate.try_claim(now) {
                state.backend.sweep_in_background(now);
            }
            return busy(&format!(
                "the server holds its maximum of {} sessions",
                state.max_sessions
            ));
        }
        Ok(_) => {}
        Err(error) => return unavailable(html, &error),
    }
    let users = Arc::clone(&state.users);
    let interned = {
        let name = name.clone();
        state.backend.run(move || users.intern(&name)).await.unwrap_or(Err(NameError::Unavailable))
    };
    let user = match interned {
        Ok(user) => user,
        Err(error @ (NameError::Full | NameError::Unavailable | NameError::Retired)) => {
            return busy(&error.to_string());
        }
        Err(error) => return bad_name(html, &error),
    };
    let now = state.clock.now();
    // A login always issues a fresh id; the old one, if the browser still had it, goes now
    // rather than lingering until it expires.
    let old = cookie::session_id(cookie_headers(&headers), state.cookie_name()).ok();
    let created = state
        .backend
        .call(move |store| {
            let old = match old {
                Some(old) => store.try_remove(&old)?.map(|owner| (owner, old)),
                None => None,
            };
            Ok((store.try_create(user, now)?, old))
        })
        .await;
    let (id, old) = match created {
        Ok(created) => created,
        Err(error) => return unavailable(html, &error),
    };
    let users = Arc::clone(&state.users);
    let recorded = state
        .backend
        .run(move || {
            if let Some((owner, old)) = old {
                users.end_session(owner, &old);
            }
            users.add_session(user, id)
        })
        .await
        .unwrap_or(Err(NameError::Unavailable));
    let evicted = match recorded {
        Ok(evicted) => evicted,
        Err(error) => {
            let _ = state.backend.call(move |store| store.try_remove(&id)).await;
            return busy(&error.to_string());
        }
    };
    // The per-user cap: this user's oldest sessions beyond it end now.
    if !evicted.is_empty() {
        let removed = state
            .backend
            .call(move |store| evicted.iter().try_for_each(|old| store.try_remove(old).map(drop)))
            .await;
        if let Err(error) = removed {
            eprintln!("could not end a session over the per-user cap: {error}");
        }
    }
    if state.verbose {
        eprintln!("login  {} -> session {}", users::for_log(&name), id.redacted());
    }
    see_start_page(&cookie::set(&id, state.ttl, state.secure), format!("welcome, {name}\n"))
}

async fn logout(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let html = wants_html(&headers);
    let id = match cookie::session_id(cookie_headers(&headers), state.cookie_name()) {
        Ok(id) => id,
        Err(why) => return not_logged_in(&state, html, &why.to_string()),
    };
    let removed = state.backend.call(move |store| store.try_remove(&id)).await;
    // The lesson sweeps from its logout handler; the gate lets one logout per interval do it,
    // however many arrive at once, while the background sweeper keeps its own schedule. The
    // user directory frees the names of users idle for a ttl at the same pace.
    let now = state.clock.now();
    if state.gate.try_claim(now) {
        state.backend.sweep_in_background(now);
        let users = Arc::clone(&state.users);
        tokio::task::spawn_blocking(move || users.prune());
    }
    match removed {
        Ok(Some(user)) => {
            let users = Arc::clone(&state.users);
            let name = state
                .backend
                .run(move || {
                    let name = users.name(user);
                    users.end_session(user, &id);
                    name
                })
                .await
                .flatten()
                .unwrap_or_else(|| user.to_string());
            if state.verbose {
                eprintln!("logout {} <- session {}", users::for_log(&name), id.redacted());
            }
            see_start_page(&cookie::clear(state.secure), format!("goodbye, {name}\n"))
        }
        Ok(None) => not_logged_in(&state, html, "unknown or expired session"),
        Err(error) => unavailable(html, &error),
    }
}
