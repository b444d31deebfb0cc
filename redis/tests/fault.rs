//! Faults: the Redis server stops mid-run (killed, or frozen), and comes back.
//!
//! While it is gone, every call returns a typed [`RedisStoreError`] that says "connection
//! problem", within the configured timeouts, and nothing panics, not even calls in flight at
//! the moment it dies. Once it is back, service resumes without rebuilding the store.
//!
//! This test starts its own `redis-server` on its own port (it must kill it), so it never
//! disturbs the shared server of the other tests. It runs when `SESSIONLAB_REDIS_URL` is set
//! (the sign that this is CI or a machine with Redis); then a missing `redis-server` binary is
//! a failure, not a skip.

mod common;

use sessionlab::{Config, FallibleSessionStore, SessionId, UserId};
use sessionlab_redis::{RedisOptions, RedisStore, RedisStoreError};
use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

/// A `redis-server` child process on a loopback port, killed when dropped.
struct Server {
    port: u16,
    child: Option<Child>,
}

impl Server {
    fn start(port: u16) -> Self {
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "{} is set but redis-server cannot be started ({error}); \
                     install it (apt-get install redis-server) or see redis/ci.sh",
                    common::URL_VAR
                )
            });
        let server = Self { port, child: Some(child) };
        let deadline = Instant::now() + Duration::from_secs(10);
        while redis::Client::open(server.url())
            .and_then(|client| client.get_connection())
            .and_then(|mut connection| redis::cmd("PING").query::<String>(&mut connection))
            .is_err()
        {
            assert!(Instant::now() < deadline, "redis-server on port {port} never answered");
            std::thread::sleep(Duration::from_millis(20));
        }
        server
    }

    fn url(&self) -> String {
        format!("redis://127.0.0.1:{}/", self.port)
    }

    /// Kills the server (SIGKILL: a crash, no goodbye to the clients) and waits for it.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("server running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().expect("kill(1)");
        assert!(status.success(), "kill {signal} {pid} failed");
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind an ephemeral port");
    listener.local_addr().expect("local addr").port()
}

fn fault_options() -> RedisOptions {
    RedisOptions {
        pool_size: 4,
        connect_timeout: Duration::from_millis(300),
        io_timeout: Duration::from_millis(500),
        ..common::options("fault")
    }
}

/// Asserts that `result` is a connection error (typed, not a panic, not a wrong answer).
#[track_caller]
fn assert_unavailable<T: std::fmt::Debug>(what: &str, result: Result<T, RedisStoreError>) {
    match result {
        Err(error) => {
            assert!(error.is_connection_error(), "{what}: not a connection error: {error}")
        }
        Ok(value) => panic!("{what} answered {value:?} with the server down"),
    }
}

/// Every operation fails with a connection error, each within a bounded time.
fn assert_all_unavailable(store: &RedisStore, id: &SessionId) {
    let started = Instant::now();
    assert_unavailable("insert", store.try_insert(SessionId::generate(), UserId(1), 10));
    assert_unavailable("touch", store.try_touch(id, 10));
    assert_unavailable("remove", store.try_remove(id));
    assert_unavailable("sweep", store.try_sweep(10_000));
    assert_unavailable("len", store.try_len());
    assert_unavailable("create", store.try_create(UserId(1), 10));
    assert_unavailable("ping", store.ping());
    // 7 calls; each waits at most the connect timeout (300 ms) or the io timeout (500 ms).
    assert!(started.elapsed() < Duration::from_secs(7), "calls hung: {:?}", started.elapsed());
}

/// After the server is back, calls succeed again. The first few may still fail (a pooled
/// connection that went stale fails the call that finds it), but only with connection errors,
/// and only a bounded number of times.
fn wait_for_service(store: &RedisStore) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut failures = 0;
    loop {
        match store.try_len() {
            Ok(_) => break,
            Err(error) => {
                assert!(error.is_connection_error(), "after restart: {error}");
                failures += 1;
                assert!(Instant::now() < deadline, "service never resumed: {error}");
                std::thread::sleep(Duration::from_millis(50));
            }
        }
    }
    println!("service resumed after {failures} failed call(s)");
}

fn assert_service(store: &RedisStore) {
    let id = store.try_create(UserId(3), 100).expect("create after recovery");
    assert_eq!(store.try_touch(&id, 150).expect("touch"), Some(UserId(3)));
    assert_eq!(store.try_remove(&id).expect("remove"), Some(UserId(3)));
    assert_eq!(store.try_touch(&id, 160).expect("touch"), None);
}

#[test]
fn a_killed_server_gives_typed_errors_and_service_resumes_when_it_returns() {
    let _shared =
        require_redis!("a_killed_server_gives_typed_errors_and_service_resumes_when_it_returns");
    let port = free_port();
    let mut server = Server::start(port);
    let store = RedisStore::connect_with(&server.url(), &Config::new(1_000), fault_options())
        .expect("connect to the test's own server");
    let id = store.try_create(UserId(7), 0).expect("create");
    assert_eq!(store.try_touch(&id, 1).expect("touch"), Some(UserId(7)));

    // Mid-run: threads keep calling while the server dies under them.
    let running = AtomicBool::new(true);
    let (ok, failed) = (AtomicUsize::new(0), AtomicUsize::new(0));
    std::thread::scope(|s| {
        for t in 0..4u64 {
            let (store, running, ok, failed) = (&store, &running, &ok, &failed);
            s.spawn(move || {
                let mut now = 0;
                while running.load(Ordering::Relaxed) {
                    now += 1;
                    let result = store
                        .try_create(UserId(t), now)
                        .and_then(|id| store.try_touch(&id, now + 1));
                    match result {
                        Ok(_) => ok.fetch_add(1, Ordering::Relaxed),
                        Err(error) => {
                            assert!(error.is_connection_error(), "mid-run: {error}");
                            failed.fetch_add(1, Ordering::Relaxed)
                        }
                    };
                }
            });
        }
        std::thread::sleep(Duration::from_millis(200));
        server.kill();
        std::thread::sleep(Duration::from_millis(700));
        running.store(false, Ordering::Relaxed);
    });
    println!(
        "mid-run: {} calls succeeded, {} failed with connection errors",
        ok.into_inner(),
        failed.into_inner()
    );

    assert_all_unavailable(&store, &id);

    let _server = Server::start(port);
    wait_for_service(&store);
    // Without persistence the restarted server is empty: the old session is gone, not revived.
    assert_eq!(store.try_touch(&id, 2).expect("touch"), None);
    assert_service(&store);
}

#[test]
fn a_frozen_server_times_out_and_recovers() {
    let _shared = require_redis!("a_frozen_server_times_out_and_recovers");
    let server = Server::start(free_port());
    let store = RedisStore::connect_with(&server.url(), &Config::new(1_000), fault_options())
        .expect("connect to the test's own server");
    let id = store.try_create(UserId(8), 0).expect("create");
    server.signal("-STOP"); // the process stays, its sockets accept, nothing answers
    let started = Instant::now();
    assert_unavailable("touch on a frozen server", store.try_touch(&id, 1));
    assert!(started.elapsed() < Duration::from_secs(3), "the io timeout did not fire");
    server.signal("-CONT");
    wait_for_service(&store);
    // The late reply to the timed-out touch must not be taken as the answer to a later call.
    assert_eq!(store.try_remove(&id).expect("remove"), Some(UserId(8)));
    assert_eq!(store.try_remove(&id).expect("remove"), None);
    assert_service(&store);
}

#[test]
fn the_web_app_answers_503_while_redis_is_down_and_serves_again_after() {
    use sessionlab::time::Clock;
    use sessionlab_web::backend::Backend;
    use sessionlab_web::client::Client;
    use sessionlab_web::server::{RunningServer, ServeConfig};

    let _shared =
        require_redis!("the_web_app_answers_503_while_redis_is_down_and_serves_again_after");
    let port = free_port();
    let mut redis = Server::start(port);
    let ttl = Duration::from_secs(60);
    let store = RedisStore::connect_with(&redis.url(), &Config::new(60_000), fault_options())
        .expect("connect to the test's own server");
    let config = ServeConfig::new(std::net::SocketAddr::from(([127, 0, 0, 1], 0)), ttl);
    let web = RunningServer::start(&config, Backend::remote("redis", store), Clock::start())
        .expect("start the web app");
    let client = || Client::connect(web.addr(), Duration::from_secs(10)).expect("connect");
    let login = client().post("/login", None, b"user=alice").unwrap();
    assert_eq!(login.status, 200, "{}", login.text());
    let alice = login.cookie("session").expect("cookie").to_owned();
    assert_eq!(client().get("/me", Some(&alice)).unwrap().status, 200);

    redis.kill();
    assert_eq!(client().get("/me", Some(&alice)).unwrap().status, 503);
    assert_eq!(client().post("/login", None, b"user=bob").unwrap().status, 503);
    assert_eq!(client().post("/logout", Some(&alice), b"").unwrap().status, 503);

    let _redis = Server::start(port);
    let deadline = Instant::now() + Duration::from_secs(10);
    let bob = loop {
        let answer = client().post("/login", None, b"user=bob").unwrap();
        if answer.status == 200 {
            break answer.cookie("session").expect("cookie").to_owned();
        }
        assert_eq!(answer.status, 503, "{}", answer.text());
        assert!(Instant::now() < deadline, "the app never recovered");
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(client().get("/me", Some(&bob)).unwrap().status, 200);
    // The restarted server kept no data: alice's session is gone (401), not an error.
    assert_eq!(client().get("/me", Some(&alice)).unwrap().status, 401);
}
