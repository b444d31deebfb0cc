//! The server under hostile or careless clients, on loopback: slow heads and bodies, idle
//! connections, a crowd of connections, too many sessions, cross-site forms. Each test fails
//! without the bound it checks (the server would hang, or accept what it must refuse).

mod common;

use common::{TIMEOUT, connect, login, loopback, start, start_with};
use sessionlab::StoreKind;
use sessionlab_web::server::{RunningServer, ServeConfig};
use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn config(edit: impl FnOnce(&mut ServeConfig)) -> ServeConfig {
    let mut config = ServeConfig::new(loopback(), Duration::from_secs(60));
    edit(&mut config);
    config
}

/// A server with at most `max` connections, each given `header_timeout` for its head.
fn capped(kind: StoreKind, max: usize, header_timeout: Duration) -> RunningServer {
    start_with(
        kind,
        &config(|c| {
            c.connections.max_connections = max;
            c.connections.header_timeout = header_timeout;
        }),
    )
}

/// A client that sends the start of a request head and then nothing more.
fn slow_client(server: &RunningServer) -> TcpStream {
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ").unwrap();
    stream
}

/// Waits for the server to close `stream`; returns how long that took (panics if it did not
/// within [`TIMEOUT`]).
fn closed_after(stream: &mut TcpStream, since: Instant) -> Duration {
    let mut buf = [0u8; 1024];
    loop {
        match stream.read(&mut buf) {
            Ok(0) => return since.elapsed(),
            Ok(_) => {} // an error answer before the close is fine
            Err(error) if matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                panic!("the server kept the connection open for {:?}", since.elapsed())
            }
            Err(_) => return since.elapsed(), // reset: closed too
        }
    }
}

#[test]
fn a_request_head_that_never_completes_is_cut_off() {
    let server = start_with(
        StoreKind::Mutex,
        &config(|c| {
            c.connections.header_timeout = Duration::from_millis(300);
        }),
    );
    let started = Instant::now();
    let mut slow = slow_client(&server);
    let waited = closed_after(&mut slow, started);
    assert!(waited >= Duration::from_millis(250), "closed too early: {waited:?}");
}

#[test]
fn an_idle_keep_alive_connection_is_closed() {
    let server = start_with(
        StoreKind::Mutex,
        &config(|c| {
            c.connections.header_timeout = Duration::from_millis(300);
        }),
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream.write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    let n = stream.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 204"), "{}", String::from_utf8_lossy(&buf[..n]));
    // The answer came; now the connection idles, and the server lets it go.
    closed_after(&mut stream, Instant::now());
}

#[test]
fn a_body_that_never_arrives_is_408() {
    let server = start_with(
        StoreKind::Mutex,
        &config(|c| {
            c.request_timeout = Duration::from_millis(300);
        }),
    );
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    stream
        .write_all(
            b"POST /login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\nuser=sl",
        )
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = stream.read(&mut buf).expect("an answer, not a hang");
    let answer = String::from_utf8_lossy(&buf[..n]);
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer}");
}

#[test]
fn at_the_connection_cap_new_clients_wait_for_a_slot() {
    // Slow clients are never timed out here: the cap alone decides.
    let server = capped(StoreKind::Mutex, 4, Duration::from_secs(60));
    let mut slow: Vec<TcpStream> = (0..4).map(|_| slow_client(&server)).collect();
    std::thread::sleep(Duration::from_millis(200)); // let the server accept all four
    let mut waiting = TcpStream::connect(server.addr()).unwrap();
    waiting.set_read_timeout(Some(Duration::from_millis(500))).unwrap();
    waiting.write_all(b"GET /favicon.ico HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n").unwrap();
    let mut buf = [0u8; 1024];
    let unanswered = waiting.read(&mut buf).unwrap_err();
    assert!(matches!(unanswered.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut));
    // One slow client leaves: its slot goes to the waiting connection, whose request is
    // answered at last.
    drop(slow.pop());
    waiting.set_read_timeout(Some(TIMEOUT)).unwrap();
    let n = waiting.read(&mut buf).unwrap();
    assert!(buf[..n].starts_with(b"HTTP/1.1 204"), "{}", String::from_utf8_lossy(&buf[..n]));
}

#[test]
fn a_login_succeeds_while_the_caps_worth_of_slow_clients_hang() {
    let server = capped(StoreKind::Sharded, 8, Duration::from_millis(500));
    let started = Instant::now();
    let mut slow: Vec<TcpStream> = (0..8).map(|_| slow_client(&server)).collect();
    let mut client = connect(&server);
    let (_, id) = login(&mut client, "patient");
    assert_eq!(client.get("/me", Some(&id)).unwrap().text(), "you are patient\n");
    assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
    for stream in &mut slow {
        closed_after(stream, started);
    }
}

#[test]
fn the_session_cap_answers_503_with_retry_after() {
    let server = start_with(StoreKind::LockFree, &config(|c| c.max_sessions = 3));
    let mut client = connect(&server);
    let ids: Vec<String> = ["a", "b", "c"].iter().map(|name| login(&mut client, name).1).collect();
    let full = client.post("/login", None, b"user=d").unwrap();
    assert_eq!(full.status, 503, "{}", full.text());
    assert!(full.header("retry-after").is_some_and(|s| s.parse::<u64>().is_ok()));
    assert!(full.set_cookies.is_empty());
    assert_eq!(client.post("/logout", Some(&ids[0]), b"").unwrap().status, 303);
    login(&mut client, "d");
}

#[test]
fn a_users_login_beyond_the_cap_ends_their_oldest_session() {
    let server = start_with(StoreKind::Mutex, &config(|c| c.max_sessions_per_user = 2));
    let mut client = connect(&server);
    let ids: Vec<String> = (0..3).map(|_| login(&mut client, "many").1).collect();
    assert_eq!(client.get("/me", Some(&ids[0])).unwrap().status, 401, "the oldest ended");
    assert_eq!(client.get("/me", Some(&ids[1])).unwrap().status, 200);
    assert_eq!(client.get("/me", Some(&ids[2])).unwrap().status, 200);
    let (_, other) = login(&mut client, "other");
    assert_eq!(client.get("/me", Some(&other)).unwrap().status, 200, "per user, not global");
}

#[test]
fn names_are_freed_so_a_full_directory_does_not_lock_newcomers_out() {
    let ttl = Duration::from_millis(300);
    let server = start_with(StoreKind::Mutex, &{
        let mut c = ServeConfig::new(loopback(), ttl);
        c.max_users = 1;
        c
    });
    let mut client = connect(&server);
    // Freed at the last logout.
    let (_, alice) = login(&mut client, "alice");
    assert_eq!(client.post("/login", None, b"user=bob").unwrap().status, 503, "full");
    assert_eq!(client.post("/logout", Some(&alice), b"").unwrap().status, 303);
    login(&mut client, "bob");
    // Freed once idle for a ttl (bob never logs out).
    assert_eq!(client.post("/login", None, b"user=carol").unwrap().status, 503, "full");
    std::thread::sleep(ttl * 2);
    login(&mut client, "carol");
}

#[test]
fn cross_site_posts_are_refused() {
    let server = start(StoreKind::Mutex, Duration::from_secs(60));
    let mut client = connect(&server);
    let (_, id) = login(&mut client, "victim");
    let cookie = format!("session={id}");
    let evil: [(&str, &[u8]); 2] =
        [("Origin", b"https://evil.example"), ("Cookie", cookie.as_bytes())];
    let cross: [(&str, &[u8]); 2] =
        [("Sec-Fetch-Site", b"cross-site"), ("Cookie", cookie.as_bytes())];
    for headers in [&evil[..], &cross[..]] {
        for path in ["/login", "/logout"] {
            let answer = client.request("POST", path, headers, b"user=attacker").unwrap();
            assert_eq!(answer.status, 403, "{path}: {}", answer.text());
            assert!(answer.set_cookies.is_empty(), "{path}");
        }
    }
    assert_eq!(client.get("/me", Some(&id)).unwrap().text(), "you are victim\n", "still in");
    let origin = format!("http://{}", server.addr());
    let same: [(&str, &[u8]); 2] =
        [("Origin", origin.as_bytes()), ("Sec-Fetch-Site", b"same-origin")];
    assert_eq!(client.request("POST", "/login", &same, b"user=me").unwrap().status, 303);
}

#[test]
fn a_browser_gets_pages_and_the_favicon_an_answer() {
    let server = start(StoreKind::Cow, Duration::from_secs(60));
    let mut client = connect(&server);
    let html: (&str, &[u8]) = ("Accept", b"text/html,application/xhtml+xml");
    let page = client.request("GET", "/me", &[html], b"").unwrap();
    assert_eq!(page.status, 401);
    assert!(page.text().contains("not logged in") && page.text().contains("action=\"/login\""));
    let (_, id) = login(&mut client, "<b>alice</b>");
    let cookie = format!("session={id}");
    let page = client.request("GET", "/", &[html, ("Cookie", cookie.as_bytes())], b"").unwrap();
    let text = page.text();
    assert_eq!(page.status, 200);
    assert!(
        text.contains("logged in as <span id=\"user\">&lt;b&gt;alice&lt;/b&gt;</span>"),
        "{text}"
    );
    assert!(!text.contains(&id), "the page shows the id redacted, never whole");
    assert!(text.contains(&id[..8]) && text.contains("Application &gt; Cookies"));
    let bad = client.request("POST", "/login", &[html], b"user=%E2%80%AE").unwrap();
    assert_eq!(bad.status, 400);
    assert!(bad.text().contains("U+202E") && bad.text().contains("href=\"/\""));
    assert_eq!(client.get("/favicon.ico", None).unwrap().status, 204);
    let stats = client.get("/stats", None).unwrap().text();
    assert!(stats.contains("\"sessions\":1"), "{stats}");
}

#[test]
fn a_request_head_over_the_limit_is_refused_not_buffered() {
    let server = start(StoreKind::Mutex, Duration::from_secs(60));
    let mut stream = TcpStream::connect(server.addr()).unwrap();
    stream.set_read_timeout(Some(TIMEOUT)).unwrap();
    // 40 KB of a header that never ends: the server stops reading at its 16 KiB limit.
    let mut head = b"GET /me HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: ".to_vec();
    head.resize(40 * 1024, b'a');
    let _ = stream.write_all(&head); // the server may close before all of it is written
    let mut buf = [0u8; 1024];
    match stream.read(&mut buf) {
        Ok(n) => {
            let answer = String::from_utf8_lossy(&buf[..n]);
            assert!(n == 0 || answer.starts_with("HTTP/1.1 431"), "{answer}");
        }
        Err(error) => {
            assert!(!matches!(error.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut), "{error}")
        }
    }
}
