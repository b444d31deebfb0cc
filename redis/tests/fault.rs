//! Faults: the Redis server stops mid-run (killed, or frozen), and comes back.
//!
//! While it is gone, every call returns a typed [`RedisStoreError`] that says "connection
//! problem", within the configured timeouts, and nothing panics, not even calls in flight at
//! the moment it dies. Once it is back, service resumes without rebuilding the store.
//!
//! Each test starts its own `redis-server` on a free port (it must kill it), so it never
//! disturbs the shared server of the other tests. Only where `redis-server` is not installed do
//! they skip, saying how to install it.

mod common;

use sessionlab::{Config, FallibleSessionStore, SessionId, UserId};
use sessionlab_redis::test_server::{self, RedisCluster, RedisServer};
use sessionlab_redis::{RedisOptions, RedisStore, RedisStoreError};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

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
    if !test_server::can_start_servers(
        "a_killed_server_gives_typed_errors_and_service_resumes_when_it_returns",
    ) {
        return;
    }
    let mut server = RedisServer::start().expect("start redis-server");
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

    server.restart().expect("restart redis-server");
    wait_for_service(&store);
    // Without persistence the restarted server is empty: the old session is gone, not revived.
    assert_eq!(store.try_touch(&id, 2).expect("touch"), None);
    assert_service(&store);
}

#[test]
fn a_frozen_server_times_out_and_recovers() {
    if !test_server::can_start_servers("a_frozen_server_times_out_and_recovers") {
        return;
    }
    let server = RedisServer::start().expect("start redis-server");
    let store = RedisStore::connect_with(&server.url(), &Config::new(1_000), fault_options())
        .expect("connect to the test's own server");
    let id = store.try_create(UserId(8), 0).expect("create");
    server.signal("-STOP").expect("SIGSTOP"); // the process stays, its sockets accept, nothing answers
    let started = Instant::now();
    assert_unavailable("touch on a frozen server", store.try_touch(&id, 1));
    assert!(started.elapsed() < Duration::from_secs(3), "the io timeout did not fire");
    server.signal("-CONT").expect("SIGCONT");
    wait_for_service(&store);
    // The late reply to the timed-out touch must not be taken as the answer to a later call.
    assert_eq!(store.try_remove(&id).expect("remove"), Some(UserId(8)));
    assert_eq!(store.try_remove(&id).expect("remove"), None);
    assert_service(&store);
}

#[test]
fn a_killed_cluster_master_gives_typed_errors_and_its_restart_resumes_service() {
    let test = "a_killed_cluster_master_gives_typed_errors_and_its_restart_resumes_service";
    if !test_server::can_start_servers(test) {
        return;
    }
    let mut cluster = RedisCluster::start().expect("start a 3-master cluster");
    let store = RedisStore::connect_with(&cluster.urls(), &Config::new(1_000), fault_options())
        .expect("connect to the test's own cluster");
    let users: Vec<(SessionId, UserId)> =
        (0..60).map(|n| (store.try_create(UserId(n), 0).expect("create"), UserId(n))).collect();
    // The master that owns the first session's partition: the one that answers for its key
    // instead of redirecting (MOVED).
    let key = store.key(&users[0].0);
    let owner = cluster.owner_of(&key).expect("some master owns the key");
    cluster.masters()[owner].kill();

    // While it is down: every call answers correctly or fails with a connection error, within
    // the timeouts; the dead master's sessions fail.
    let started = Instant::now();
    assert_unavailable("touch on the dead master", store.try_touch(&users[0].0, 1));
    for (id, user) in &users {
        match store.try_touch(id, 1) {
            Ok(answer) => assert_eq!(answer, Some(*user), "a wrong answer during the outage"),
            Err(error) => assert!(error.is_connection_error(), "during the outage: {error}"),
        }
    }
    assert!(started.elapsed() < Duration::from_secs(60), "calls hung: {:?}", started.elapsed());

    cluster.masters()[owner].restart().expect("restart the master");
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        match store.try_touch(&users[0].0, 2) {
            Ok(answer) => {
                // Without persistence the restarted master is empty: its sessions are gone.
                assert_eq!(answer, None, "a session of the killed master came back");
                break;
            }
            Err(error) => {
                assert!(error.is_connection_error(), "after the restart: {error}");
                assert!(Instant::now() < deadline, "service never resumed: {error}");
                std::thread::sleep(Duration::from_millis(100));
            }
        }
    }
    let survivors = users
        .iter()
        .filter(|(id, user)| {
            let answer = store.try_touch(id, 3).expect("touch after recovery");
            assert!(answer.is_none() || answer == Some(*user), "a wrong user after recovery");
            answer.is_some()
        })
        .count();
    println!("{survivors} of {} sessions survived the master's crash", users.len());
    assert!(survivors < users.len(), "the killed master's sessions cannot survive");
    assert_service(&store);
}
