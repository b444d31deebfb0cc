//! The app on an ephemeral loopback port: cookies, the flow, bad input, TLS, a failing
//! remote store, and a short load run on every correct store.

use sessionlab::time::Clock;
use sessionlab::{Config, FallibleSessionStore, SessionId, SessionStore, StoreKind};
use sessionlab::{Tick, TryInsert, UserId};
use sessionlab_web::backend::Backend;
use sessionlab_web::client::Client;
use sessionlab_web::load::{self, LoadConfig};
use sessionlab_web::server::{self, RunningServer, ServeConfig};
use sessionlab_web::tls;
use sessionlab_web::users::{NameError, UserDirectory, UserRegistry};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

mod common;
use common::{TIMEOUT, connect, login, loopback, start};

#[test]
fn login_sets_a_cookie_with_the_flags() {
    let server = start(StoreKind::Mutex, Duration::from_secs(90));
    let (answer, id) = login(&mut connect(&server), "alice");
    let cookie = &answer.set_cookies[0];
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=90"] {
        assert!(cookie.split("; ").any(|part| part == flag), "{flag} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "plain HTTP must not claim Secure: {cookie}");
    assert_eq!(answer.header("cache-control"), Some("no-store"));
    assert_eq!(answer.header("strict-transport-security"), None, "no HSTS over plain HTTP");
    let parsed: SessionId = id.parse().expect("the cookie holds a session id");
    assert!(!id.contains("alice"));
    assert_ne!(parsed, login(&mut connect(&server), "alice").1.parse().unwrap(), "ids are fresh");
}

#[test]
fn login_me_logout() {
    let server = start(StoreKind::Sharded, Duration::from_secs(60));
    let mut client = connect(&server);
    let (_, alice) = login(&mut client, "alice");
    let (_, bob) = login(&mut client, "bob");
    let me = client.get("/me", Some(&alice)).unwrap();
    assert_eq!((me.status, me.text().as_str()), (200, "you are alice\n"));
    assert_eq!(me.cookie("session"), Some(alice.as_str()), "me renews the cookie");
    assert_eq!(me.header("cache-control"), Some("no-store"), "Back must not show a cached /me");
    assert_eq!(client.get("/me", Some(&bob)).unwrap().text(), "you are bob\n");

    let logout = client.post("/logout", Some(&alice), b"").unwrap();
    assert_eq!((logout.status, logout.text().as_str()), (303, "goodbye, alice\n"));
    assert_eq!(logout.header("location"), Some("/"));
    assert!(logout.set_cookies[0].contains("Max-Age=0"), "logout clears the cookie");
    let after = client.get("/me", Some(&alice)).unwrap();
    assert_eq!(after.status, 401);
    assert_eq!(client.post("/logout", Some(&alice), b"").unwrap().status, 401);
    assert_eq!(client.get("/me", Some(&bob)).unwrap().status, 200, "bob is untouched");
}

#[test]
fn a_new_login_retires_the_old_session() {
    let server = start(StoreKind::Mutex, Duration::from_secs(60));
    let mut client = connect(&server);
    let (_, old) = login(&mut client, "alice");
    let cookie = format!("session={old}");
    let answer =
        client.request("POST", "/login", &[("Cookie", cookie.as_bytes())], b"user=alice").unwrap();
    let new = answer.cookie("session").unwrap();
    assert_ne!(new, old);
    assert_eq!(client.get("/me", Some(&old)).unwrap().status, 401);
    assert_eq!(client.get("/me", Some(new)).unwrap().status, 200);
}

#[test]
fn an_idle_session_expires() {
    let ttl = Duration::from_millis(200);
    let server = start(StoreKind::Cow, ttl);
    let mut client = connect(&server);
    let (_, id) = login(&mut client, "sleepy");
    std::thread::sleep(ttl * 3);
    let answer = client.get("/me", Some(&id)).unwrap();
    assert_eq!(answer.status, 401, "{}", answer.text());
    assert!(answer.text().contains("expired"));
}

#[test]
fn bad_cookies_are_not_logged_in() {
    let server = start(StoreKind::RwLock, Duration::from_secs(60));
    let good = SessionId::generate().to_string();
    let oversized = format!("session={}", "a".repeat(8 * 1024));
    let unknown = format!("session={good}");
    let upper = format!("session={}", good.to_uppercase());
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("no cookie", Vec::new()),
        ("another cookie", b"theme=dark".to_vec()),
        ("junk", b"session=junk".to_vec()),
        ("empty", b"session=".to_vec()),
        ("uppercase", upper.into_bytes()),
        ("oversized", oversized.into_bytes()),
        ("not utf-8", b"session=\xff\xfe\xfd".to_vec()),
        ("no equals sign", b"session".to_vec()),
        ("unknown id", unknown.into_bytes()),
    ];
    for (what, cookie) in &cases {
        for (method, path) in [("GET", "/me"), ("POST", "/logout")] {
            let mut client = connect(&server);
            let headers: Vec<(&str, &[u8])> =
                if cookie.is_empty() { vec![] } else { vec![("Cookie", cookie.as_slice())] };
            let answer = client.request(method, path, &headers, b"").unwrap();
            assert_eq!(answer.status, 401, "{what} on {path}: {}", answer.text());
            assert!(answer.text().starts_with("not logged in: "), "{what}: {}", answer.text());
            // A cookie that is no usable session is cleared like an unknown one; no cookie,
            // nothing to clear.
            let missing = ["no cookie", "another cookie", "no equals sign"].contains(what);
            let cleared = answer.set_cookies.iter().any(|c| c.starts_with("session=; Max-Age=0"));
            assert_eq!(cleared, !missing, "{what} on {path}: {:?}", answer.set_cookies);
        }
    }
    // The server is still fine after all that.
    let mut client = connect(&server);
    let (_, id) = login(&mut client, "carol");
    assert_eq!(client.get("/me", Some(&id)).unwrap().status, 200);
}

#[test]
fn bad_user_names_are_bad_requests() {
    let server = start(StoreKind::Mutex, Duration::from_secs(60));
    let too_long = format!("user={}", "x".repeat(65));
    let bodies: [&[u8]; 10] = [
        b"user=",
        b"user=%20%20",
        too_long.as_bytes(),
        b"name=alice",
        b"",
        b"user=eve%0Aadmin",
        b"user=eve%E2%80%AEnimda", // U+202E right-to-left override (Cf)
        b"user=al%E2%80%8Bice",    // U+200B zero-width space (Cf)
        b"user=a%E2%80%A8b",       // U+2028 line separator (Zl)
        b"user=a%E2%80%A9b",       // U+2029 paragraph separator (Zp)
    ];
    for body in bodies {
        let answer = connect(&server).post("/login", None, body).unwrap();
        assert_eq!(answer.status, 400, "{}: {}", String::from_utf8_lossy(body), answer.text());
        assert!(answer.set_cookies.is_empty());
    }
    let huge = vec![b'x'; sessionlab_web::app::MAX_BODY + 1];
    assert_eq!(connect(&server).post("/login", None, &huge).unwrap().status, 413);
    let longest = format!("user={}", "x".repeat(64));
    assert_eq!(connect(&server).post("/login", None, longest.as_bytes()).unwrap().status, 303);
}

#[test]
fn tls_serves_with_the_generated_certificate() {
    let identity = tls::self_signed().unwrap();
    let cert = identity.chain[0].clone();
    let mut config = ServeConfig::new(loopback(), Duration::from_secs(60));
    config.tls = Some(tls::server_config(identity).unwrap());
    let clock = Clock::start();
    let backend = server::in_memory_backend(StoreKind::Sharded, &config, clock).unwrap();
    let server = RunningServer::start(&config, backend, clock).unwrap();

    let client_config = tls::client_config(&cert).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(client_config, name).unwrap();
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut client = Client::new(rustls::StreamOwned::new(connection, tcp), "localhost")
        .with_cookie_name(sessionlab_web::cookie::SECURE_NAME);
    let (answer, id) = login(&mut client, "alice");
    let cookie = &answer.set_cookies[0];
    assert!(cookie.starts_with("__Host-session=") && cookie.ends_with("; Secure"), "{cookie}");
    assert_eq!(answer.header("strict-transport-security"), Some("max-age=3600"));
    assert_eq!(client.get("/me", Some(&id)).unwrap().text(), "you are alice\n");
    assert!(client.stream().conn.protocol_version().is_some());

    // A client that does not trust this certificate refuses the handshake.
    let stranger = tls::client_config(&tls::self_signed().unwrap().chain[0]).unwrap();
    let name = rustls::pki_types::ServerName::try_from("localhost").unwrap();
    let connection = rustls::ClientConnection::new(stranger, name).unwrap();
    let tcp = TcpStream::connect(server.addr()).unwrap();
    tcp.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut client = Client::new(rustls::StreamOwned::new(connection, tcp), "localhost");
    let error = client.get("/me", None).unwrap_err();
    assert!(error.to_string().contains("certificate"), "{error}");

    // Plain HTTP to the TLS port gets no answer a client could mistake for the app's.
    let mut plain = Client::connect(server.addr(), TIMEOUT).unwrap();
    assert!(plain.get("/me", None).is_err());
}

/// A remote store whose server is down: every call fails.
struct Down;

#[derive(Debug)]
struct ConnectionRefused;
impl std::fmt::Display for ConnectionRefused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("connection refused")
    }
}
impl std::error::Error for ConnectionRefused {}

impl FallibleSessionStore for Down {
    type Error = ConnectionRefused;
    fn try_insert(&self, _: SessionId, _: UserId, _: Tick) -> TryInsert<Self::Error> {
        Err(ConnectionRefused)
    }
    fn try_touch(&self, _: &SessionId, _: Tick) -> Result<Option<UserId>, Self::Error> {
        Err(ConnectionRefused)
    }
    fn try_remove(&self, _: &SessionId) -> Result<Option<UserId>, Self::Error> {
        Err(ConnectionRefused)
    }
    fn try_sweep(&self, _: Tick) -> Result<usize, Self::Error> {
        Err(ConnectionRefused)
    }
    fn try_len(&self) -> Result<usize, Self::Error> {
        Err(ConnectionRefused)
    }
}

#[test]
fn a_failing_remote_store_is_a_503() {
    let config = ServeConfig::new(loopback(), Duration::from_secs(60));
    let server =
        RunningServer::start(&config, Backend::remote("down", Down), Clock::start()).unwrap();
    let mut client = connect(&server);
    assert_eq!(client.post("/login", None, b"user=alice").unwrap().status, 503);
    let id = SessionId::generate().to_string();
    assert_eq!(client.get("/me", Some(&id)).unwrap().status, 503);
    assert_eq!(client.post("/logout", Some(&id), b"").unwrap().status, 503);
    assert_eq!(
        client.get("/me", Some("junk")).unwrap().status,
        401,
        "bad cookies never reach the store"
    );
}

#[test]
fn servers_over_one_store_must_share_the_user_directory() {
    let store: Arc<dyn SessionStore> = Arc::from(StoreKind::Sharded.build(&Config::new(60_000)));
    let config = ServeConfig::new(loopback(), Duration::from_secs(60));
    let clock = Clock::start();
    let server = |users: Option<Arc<UserRegistry>>| {
        let mut backend = Backend::remote("shared", Arc::clone(&store));
        if let Some(users) = users {
            backend = backend.with_users(users);
        }
        RunningServer::start(&config, backend, clock).unwrap()
    };

    // Each with a registry of its own: B numbers bob 0, A numbers alice 0, and B reads
    // alice's session as bob's. This is the bug a shared directory prevents.
    let (a, b) = (server(None), server(None));
    login(&mut connect(&b), "bob");
    let (_, alice) = login(&mut connect(&a), "alice");
    assert_eq!(connect(&b).get("/me", Some(&alice)).unwrap().text(), "you are bob\n");

    let shared = Arc::new(UserRegistry::new(100));
    let (a, b) = (server(Some(Arc::clone(&shared))), server(Some(shared)));
    login(&mut connect(&b), "bob");
    let (_, alice) = login(&mut connect(&a), "alice");
    assert_eq!(connect(&b).get("/me", Some(&alice)).unwrap().text(), "you are alice\n");
    assert_eq!(connect(&b).post("/logout", Some(&alice), b"").unwrap().status, 303);
    assert_eq!(connect(&a).get("/me", Some(&alice)).unwrap().status, 401);
}

#[test]
fn a_short_load_run_is_clean_on_every_correct_store() {
    for kind in StoreKind::correct() {
        let ttl = Duration::from_secs(30);
        let server = start(kind, ttl);
        let config = LoadConfig {
            requests: 3_000,
            ttl,
            max_time: Duration::from_secs(60),
            io_timeout: TIMEOUT,
            ..LoadConfig::default()
        };
        let report = load::run(server.addr(), &config).unwrap();
        assert!(report.is_clean(), "{kind}: {report:?}");
        assert!(report.requests >= 3_000, "{kind}: only {} requests", report.requests);
        assert!(report.flows > 0);
        assert_eq!(report.latency.len(), report.requests);
    }
}

#[test]
fn sweeps_under_traffic_never_expire_a_live_session() {
    // A ttl short enough that abandoned sessions expire and are swept (every ttl/10, and by
    // logouts through the gate) while the flows go on.
    for kind in [StoreKind::Mutex, StoreKind::Cow] {
        let ttl = Duration::from_millis(150);
        let server = start(kind, ttl);
        let config = LoadConfig {
            requests: 6_000,
            ttl,
            abandon_every: 2,
            io_timeout: TIMEOUT,
            ..LoadConfig::default()
        };
        let report = load::run(server.addr(), &config).unwrap();
        assert!(report.is_clean(), "{kind}: {report:?}");
        assert!(report.flows > 0);
    }
}

#[test]
fn the_load_generator_only_targets_loopback() {
    let config = LoadConfig::default();
    let error = load::run(SocketAddr::from(([192, 0, 2, 1], 80)), &config).unwrap_err();
    assert!(error.to_string().contains("loopback"));
}

/// A shared directory that registers names but cannot be reached when asked who a session is.
struct UnreachableOnLookup;

impl UserDirectory for UnreachableOnLookup {
    fn intern(&self, _: &str) -> Result<UserId, NameError> {
        Ok(UserId(7))
    }
    fn name(&self, _: UserId) -> Option<String> {
        None
    }
    fn active(&self, _: UserId) -> Result<Option<String>, NameError> {
        Err(NameError::Unavailable)
    }
}

#[test]
fn an_unreachable_user_directory_is_a_503_not_a_nameless_session() {
    let store: Arc<dyn SessionStore> = Arc::from(StoreKind::Mutex.build(&Config::new(60_000)));
    let backend = Backend::remote("shared", store).with_users(Arc::new(UnreachableOnLookup));
    let config = ServeConfig::new(loopback(), Duration::from_secs(60));
    let server = RunningServer::start(&config, backend, Clock::start()).unwrap();
    let mut client = connect(&server);
    let (_, id) = login(&mut client, "alice");
    let me = client.get("/me", Some(&id)).unwrap();
    assert_eq!(me.status, 503, "{}", me.text());
    assert!(me.set_cookies.is_empty(), "an outage does not end the session");
}
