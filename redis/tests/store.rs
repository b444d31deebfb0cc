//! What is particular to the Redis store: key layout and the expiry index, the safety-net TTL,
//! prefixes as namespaces, exact ticks beyond 2^53 (and the sweep's exact recheck there), typed
//! and redacted errors for foreign data, sweeps that foreign data never stops, and two stores
//! (two "web servers") sharing one server. The general semantics are the conformance suite's
//! (`conformance.rs`).

mod common;

use redis::Commands;
use sessionlab::activity::is_expired;
use sessionlab::{Config, FallibleSessionStore, Occupied, SessionId, UserId};
use sessionlab_redis::test_server;
use sessionlab_redis::{MAX_SWEEP_BATCH, RedisOptions, RedisStore, RedisStoreError, SWEEP_BATCH};
use std::collections::HashMap;
use std::time::Duration;

fn raw(url: &str) -> redis::Connection {
    redis::Client::open(url).and_then(|client| client.get_connection()).expect("raw connection")
}

#[test]
fn a_session_is_one_hash_indexed_by_its_last_activity() {
    let url = require_redis!("a_session_is_one_hash_indexed_by_its_last_activity");
    let store = common::store(&url, "layout", &Config::new(1_000));
    let id = SessionId::fixed(1);
    store.try_insert(id, UserId(42), 1_234).unwrap().unwrap();
    let key = store.key(&id);
    let index = store.index_key(&id);
    // One hash tag, so one slot: a cluster runs the session's scripts on one master.
    let tag = &index[..=index.find('}').unwrap()];
    assert!(tag.starts_with(&format!("{{{}p", store.prefix())), "{tag}");
    assert_eq!(key, format!("{tag}:s:00000000-0000-4000-8000-000000000001"));
    let mut raw = raw(&url);
    let user: String = raw.hget(&key, "user").unwrap();
    let last: String = raw.hget(&key, "last").unwrap();
    assert_eq!((user.as_str(), last.as_str()), ("42", "00000000000000001234"));
    let member = id.to_string();
    let score: Option<f64> = raw.zscore(&index, &member).unwrap();
    assert_eq!(score, Some(1_234.0));
    assert_eq!(store.try_touch(&id, 1_500).unwrap(), Some(UserId(42)));
    let score: Option<f64> = raw.zscore(&index, &member).unwrap();
    assert_eq!(score, Some(1_500.0), "touch moves the index entry with the session");
    assert_eq!(store.try_touch(&id, 1_400).unwrap(), Some(UserId(42)));
    let score: Option<f64> = raw.zscore(&index, &member).unwrap();
    assert_eq!(score, Some(1_500.0), "an older touch moves neither");
    assert_eq!(store.try_len().unwrap(), 1);
    assert_eq!(store.try_remove(&id).unwrap(), Some(UserId(42)));
    let score: Option<f64> = raw.zscore(&index, &member).unwrap();
    assert_eq!(score, None, "remove unindexes");
    assert_eq!(store.try_len().unwrap(), 0);
}

#[test]
fn a_sweep_takes_every_expired_session_in_batches_and_keeps_the_live() {
    let url = require_redis!("a_sweep_takes_every_expired_session_in_batches_and_keeps_the_live");
    sweep_in_batches(&url);
}

/// On a cluster the sweep spreads its partitions' calls over several connections at once
/// (`SWEEP_CONNECTIONS`), and the partitions need different numbers of batches: an answer
/// matched to the wrong partition would end a partition early and leave expired sessions.
#[test]
fn a_sweep_in_batches_on_a_cluster_over_several_connections() {
    let test = "a_sweep_in_batches_on_a_cluster_over_several_connections";
    let Some(urls) = test_server::shared_cluster_urls(test) else {
        return;
    };
    sweep_in_batches(&urls);
}

fn sweep_in_batches(url: &str) {
    // A small batch, so that every partition needs several (the default is SWEEP_BATCH).
    let batch = 8;
    assert!(batch < SWEEP_BATCH);
    let options = RedisOptions { sweep_batch: batch, ..common::options("batches") };
    let store = RedisStore::connect_with(url, &Config::new(100), options).unwrap();
    // Partition by partition (in the order their ids turn up), 1, 6, 11, ... expired
    // sessions: from less than one batch to ten batches, so the partitions finish in
    // different rounds of the sweep.
    let mut quotas: HashMap<String, usize> = HashMap::new();
    let (mut expired, mut n) = (0u64, 0u64);
    while quotas.len() < usize::from(store.partitions()) || quotas.values().any(|&left| left > 0) {
        let id = SessionId::fixed(n);
        let next_quota = 1 + 5 * quotas.len();
        let left = quotas.entry(store.index_key(&id)).or_insert(next_quota);
        if *left > 0 {
            *left -= 1;
            store.try_insert(id, UserId(n), 0).unwrap().unwrap();
            expired += 1;
        }
        n += 1;
    }
    let first_live = n;
    for n in first_live..first_live + 300 {
        store.try_insert(SessionId::fixed(n), UserId(n), 500).unwrap().unwrap();
    }
    assert_eq!(store.try_len().unwrap(), expired as usize + 300);
    assert_eq!(store.try_sweep(100).unwrap(), expired as usize, "every expired session swept");
    assert_eq!(store.try_len().unwrap(), 300);
    let touched = SessionId::fixed(first_live);
    assert_eq!(store.try_touch(&touched, 550).unwrap(), Some(UserId(first_live)));
    assert_eq!(store.try_sweep(600).unwrap(), 299);
    assert_eq!(store.clear().unwrap(), 1);
}

#[test]
fn the_safety_net_is_ttl_plus_margin_and_touch_refreshes_it() {
    let url = require_redis!("the_safety_net_is_ttl_plus_margin_and_touch_refreshes_it");
    let store = common::store(&url, "net", &Config::new(1_000));
    let id = SessionId::fixed(2);
    store.try_insert(id, UserId(1), 0).unwrap().unwrap();
    let mut raw = raw(&url);
    let key = store.key(&id);
    let full = 1_000 + 60_000;
    let pttl: i64 = raw.pttl(&key).unwrap();
    assert!((0..=full).contains(&pttl), "pttl {pttl} outside 0..={full}");
    let _: () = raw.pexpire(&key, 5_000).unwrap();
    assert_eq!(store.try_touch(&id, 10).unwrap(), Some(UserId(1)));
    let pttl: i64 = raw.pttl(&key).unwrap();
    assert!(pttl > 5_000 && pttl <= full, "touch did not refresh the net: pttl {pttl}");
    store.clear().unwrap();
}

#[test]
fn without_a_margin_there_is_no_ttl() {
    let url = require_redis!("without_a_margin_there_is_no_ttl");
    let options = RedisOptions { safety_margin: None, ..common::options("no-net") };
    let store = RedisStore::connect_with(&url, &Config::new(1_000), options).unwrap();
    let id = SessionId::fixed(3);
    store.try_insert(id, UserId(1), 0).unwrap().unwrap();
    let pttl: i64 = raw(&url).pttl(store.key(&id)).unwrap();
    assert_eq!(pttl, -1, "a key without expiry has pttl -1");
    store.clear().unwrap();
}

#[test]
fn an_abandoned_session_expires_by_the_net_alone() {
    let url = require_redis!("an_abandoned_session_expires_by_the_net_alone");
    let options = RedisOptions {
        safety_margin: Some(Duration::from_millis(50)),
        ..common::options("abandoned")
    };
    let store = RedisStore::connect_with(&url, &Config::new(50), options).unwrap();
    let id = store.try_create(UserId(9), 0).unwrap();
    assert_eq!(store.try_len().unwrap(), 1);
    // No sweep runs; Redis's own expiry removes the key once 100 ms of server time pass.
    let deadline = std::time::Instant::now() + Duration::from_secs(5);
    while store.try_len().unwrap() != 0 {
        assert!(std::time::Instant::now() < deadline, "the safety net never fired");
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(store.try_remove(&id).unwrap(), None);
}

#[test]
fn prefixes_are_namespaces() {
    let url = require_redis!("prefixes_are_namespaces");
    let config = Config::new(1_000);
    let a = common::store(&url, "ns-a", &config);
    let b = common::store(&url, "ns-b", &config);
    let id = SessionId::fixed(4);
    a.try_insert(id, UserId(1), 0).unwrap().unwrap();
    assert_eq!(b.try_touch(&id, 1).unwrap(), None);
    assert_eq!(b.try_len().unwrap(), 0);
    assert_eq!(b.try_sweep(u64::MAX).unwrap(), 0);
    assert_eq!(a.try_len().unwrap(), 1);
    assert_eq!(a.clear().unwrap(), 1);
}

#[test]
fn two_stores_on_one_prefix_share_sessions() {
    // Two web servers: each has its own store (own pool, own connections), one Redis.
    let url = require_redis!("two_stores_on_one_prefix_share_sessions");
    let config = Config::new(1_000);
    let options = common::options("shared");
    let server_a = RedisStore::connect_with(&url, &config, options.clone()).unwrap();
    let server_b = RedisStore::connect_with(&url, &config, options).unwrap();
    let id = server_a.try_create(UserId(5), 0).unwrap();
    assert_eq!(server_b.try_touch(&id, 900).unwrap(), Some(UserId(5)));
    // B's touch at 900 keeps the session alive for A's sweep at 1_500.
    assert_eq!(server_a.try_sweep(1_500).unwrap(), 0);
    assert_eq!(server_a.try_remove(&id).unwrap(), Some(UserId(5)));
    assert_eq!(server_b.try_touch(&id, 1_000).unwrap(), None, "logout on A seen by B");
    assert_eq!(server_b.try_insert(id, UserId(6), 0).unwrap(), Ok(()));
    assert_eq!(server_a.try_insert(id, UserId(7), 0).unwrap(), Err(Occupied));
    server_a.clear().unwrap();
}

#[test]
fn above_two_to_the_53_the_sweep_rechecks_the_threshold_score_exactly() {
    // At 2^60 a double holds every 256th integer: B and B + 1 share a score. The sweep trusts
    // the scores strictly below the threshold's and reads the entries at it, in batches that
    // skip past the ones they keep.
    let url = require_redis!("above_two_to_the_53_the_sweep_rechecks_the_threshold_score_exactly");
    let (b, ttl) = (1u64 << 60, 10);
    assert!(is_expired(b, ttl, b + ttl) && !is_expired(b + 1, ttl, b + ttl));
    let options = RedisOptions { partitions: 1, sweep_batch: 4, ..common::options("boundary") };
    let store = RedisStore::connect_with(&url, &Config::new(ttl), options).unwrap();
    let mut raw = raw(&url);
    let ids = |from: u64| (from..from + 10).map(SessionId::fixed).collect::<Vec<_>>();
    let (below, at, after) = (ids(0), ids(100), ids(200));
    for (group, tick) in [(&below, b - 1_000), (&at, b), (&after, b + 1)] {
        for (n, id) in group.iter().enumerate() {
            store.try_insert(*id, UserId(n as u64), tick).unwrap().unwrap();
        }
    }
    // An entry of an id's length at the threshold's score whose key is not a session: read, so
    // foreign.
    let stranger = SessionId::fixed(300);
    let _: () = raw.set(store.key(&stranger), "not a hash").unwrap();
    let _: () = raw.zadd(store.index_key(&stranger), stranger.to_string(), b as f64).unwrap();
    let report = store.sweep_report(b + ttl).unwrap();
    assert_eq!(report.removed, 20, "the 10 below and the 10 at the threshold");
    assert_eq!(report.foreign, 1);
    for id in &after {
        assert!(store.try_touch(id, b + 2).unwrap().is_some(), "b + 1 is not expired at b + ttl");
    }
    assert_eq!(store.try_len().unwrap(), 10);
    let exists: i64 = raw.exists(store.key(&stranger)).unwrap();
    assert_eq!(exists, 1, "a foreign key is left alone");
    let _: () = raw.del(store.key(&stranger)).unwrap();
    assert_eq!(store.try_sweep(b + 2 + ttl).unwrap(), 10);
    assert_eq!(store.try_len().unwrap(), 0);
}

#[test]
fn a_sweep_batch_out_of_range_is_refused() {
    for sweep_batch in [0, MAX_SWEEP_BATCH + 1] {
        let options = RedisOptions { sweep_batch, ..RedisOptions::default() };
        assert!(matches!(
            RedisStore::connect_with("redis://127.0.0.1:1/", &Config::default(), options),
            Err(RedisStoreError::Options(_))
        ));
    }
}

#[test]
fn ticks_beyond_two_to_the_53_stay_exact() {
    // Lua counts in doubles; 2^53 + 1 is the first integer a double cannot hold.
    let url = require_redis!("ticks_beyond_two_to_the_53_stay_exact");
    let big = (1u64 << 53) + 1;
    let store = common::store(&url, "big", &Config::new(2));
    let id = SessionId::fixed(5);
    store.try_insert(id, UserId(1), big).unwrap().unwrap();
    assert_eq!(store.try_touch(&id, big + 1).unwrap(), Some(UserId(1)), "live until big + 2");
    assert_eq!(store.try_sweep(big + 2).unwrap(), 0, "touched at big + 1: live until big + 3");
    assert_eq!(store.try_sweep(big + 3).unwrap(), 1);
    store.clear().unwrap();
}

#[test]
fn foreign_data_is_a_typed_error_that_names_the_session_redacted() {
    let url = require_redis!("foreign_data_is_a_typed_error_that_names_the_session_redacted");
    let store = common::store(&url, "corrupt", &Config::new(1_000));
    let mut raw = raw(&url);
    let id = SessionId::fixed(7);
    let tick_zero = "00000000000000000000";
    let _: () = raw
        .hset_multiple(store.key(&id), &[("user", "not-a-number"), ("last", tick_zero)])
        .unwrap();
    match store.try_touch(&id, 1) {
        Err(error @ RedisStoreError::Corrupt { .. }) => {
            assert!(!error.is_connection_error());
            let message = error.to_string();
            assert!(message.contains("not-a-number"), "{message}");
            assert!(message.contains(&id.redacted()), "{message}");
            assert!(!message.contains(&id.to_string()), "the full id leaked: {message}");
        }
        other => panic!("expected a Corrupt error for the user, got {other:?}"),
    }
    let short_tick = SessionId::fixed(9);
    let _: () = raw.hset_multiple(store.key(&short_tick), &[("user", "1"), ("last", "0")]).unwrap();
    match store.try_touch(&short_tick, 1) {
        Err(error @ RedisStoreError::Corrupt { .. }) => {
            let message = error.to_string();
            assert!(message.contains("20-digit"), "{message}");
            assert!(!message.contains(&short_tick.to_string()), "the full id leaked: {message}");
        }
        other => panic!("expected a Corrupt error for the tick, got {other:?}"),
    }
    let other = SessionId::fixed(8);
    let _: () = raw.set(store.key(&other), "a string, not a hash").unwrap();
    match store.try_touch(&other, 1) {
        Err(error @ RedisStoreError::Corrupt { .. }) => {
            assert!(!error.to_string().contains(&other.to_string()), "{error}");
        }
        other => panic!("expected a Corrupt error for a string key, got {other:?}"),
    }
    for key in [store.key(&id), store.key(&short_tick), store.key(&other)] {
        let _: () = raw.del(key).unwrap();
    }
}

#[test]
fn foreign_and_non_utf8_entries_never_stop_a_sweep() {
    let url = require_redis!("foreign_and_non_utf8_entries_never_stop_a_sweep");
    let store = common::store(&url, "foreign", &Config::new(10));
    let mut raw = raw(&url);
    let live = store.try_create(UserId(1), 100).unwrap();
    let expired = store.try_create(UserId(2), 0).unwrap();
    let index = store.index_key(&expired);
    let start = &store.key(&expired)[..store.key(&expired).len() - SessionId::LEN];
    // A member that is not UTF-8, whose key is a hash with a bad tick; a member whose key is a
    // string; a member whose key is gone (as after the safety net).
    let bad: &[u8] = b"\xff\xfe-not-an-id";
    let bad_key = [start.as_bytes(), bad].concat();
    let _: () = raw.hset_multiple(&bad_key, &[("user", "1"), ("last", "soon")]).unwrap();
    let string_key = format!("{start}a-string");
    let _: () = raw.set(&string_key, "not a hash").unwrap();
    let _: () = raw.zadd(&index, bad, 0).unwrap();
    let _: () = raw.zadd(&index, "a-string", 0).unwrap();
    let _: () = raw.zadd(&index, "gone", 0).unwrap();
    // A non-UTF-8 key under the prefix that no index names.
    let _: () = raw.set([start.as_bytes(), b"\xff"].concat(), "x").unwrap();
    // An entry of an id's length, expired by its score, whose key someone overwrote with a
    // string: the sweep trusts the index (no read per candidate), so it deletes the key as a
    // session.
    let overwritten = SessionId::generate();
    let _: () = raw.set(store.key(&overwritten), "not a hash").unwrap();
    let _: () = raw.zadd(store.index_key(&overwritten), overwritten.to_string(), 0).unwrap();
    let report = store.sweep_report(50).expect("a sweep is never stopped by foreign data");
    assert_eq!(report.removed, 2, "the expired session and the overwritten key");
    let exists: i64 = raw.exists(store.key(&overwritten)).unwrap();
    assert_eq!(exists, 0);
    assert_eq!(report.foreign, 2);
    assert_eq!(store.foreign_seen(), 2);
    assert_eq!(store.try_touch(&expired, 50).unwrap(), None);
    assert_eq!(store.try_touch(&live, 50).unwrap(), Some(UserId(1)));
    assert_eq!(store.try_len().unwrap(), 1, "the foreign entries left the index");
    let keys_left: i64 = raw.exists(&bad_key).unwrap();
    assert_eq!(keys_left, 1, "a foreign key is not the store's to delete");
    let _: () =
        raw.del(&[bad_key, string_key.into_bytes(), [start.as_bytes(), b"\xff"].concat()]).unwrap();
    store.clear().unwrap();
}

#[test]
fn a_malformed_url_or_a_closed_port_is_an_error_at_connect() {
    assert!(matches!(
        RedisStore::connect("not a url", &Config::default()),
        Err(RedisStoreError::Redis(_))
    ));
    // Port 1 on loopback: nothing listens there.
    let options =
        RedisOptions { connect_timeout: Duration::from_millis(200), ..RedisOptions::default() };
    let error = RedisStore::connect_with("redis://127.0.0.1:1/", &Config::default(), options)
        .err()
        .expect("nothing listens on port 1");
    assert!(error.is_connection_error(), "{error}");
}

#[test]
fn edge_ticks_give_the_same_answers_as_an_in_memory_store() {
    // A differential test: the core's sharded store is the reference, so the Redis store
    // follows the core's definition of expiry (and its clamping below the tombstone) at the
    // edges, whatever that definition is.
    use sessionlab::{SessionStore, StoreKind};
    let url = require_redis!("edge_ticks_give_the_same_answers_as_an_in_memory_store");
    let ticks = [0, 1, 5, (1 << 53) + 1, u64::MAX - 2, u64::MAX - 1, u64::MAX];
    for ttl in [0, 1, 2, 10, u64::MAX - 1, u64::MAX] {
        let config = Config::new(ttl);
        let redis = common::store(&url, "edges", &config);
        let memory = StoreKind::Sharded.build(&config);
        let mut n = 0;
        for born in ticks {
            for later in ticks {
                n += 1;
                let id = SessionId::fixed(n);
                let case = format!("ttl {ttl}, inserted at {born}, then at {later}");
                assert_eq!(
                    redis.try_insert(id, UserId(n), born).unwrap(),
                    memory.insert(id, UserId(n), born),
                    "insert: {case}"
                );
                assert_eq!(
                    redis.try_touch(&id, later).unwrap(),
                    memory.touch(&id, later),
                    "touch: {case}"
                );
                assert_eq!(
                    redis.try_touch(&id, born).unwrap(),
                    memory.touch(&id, born),
                    "touch back: {case}"
                );
                assert_eq!(redis.try_sweep(later).unwrap(), memory.sweep(later), "sweep: {case}");
                assert_eq!(redis.try_remove(&id).unwrap(), memory.remove(&id), "remove: {case}");
            }
        }
        redis.clear().unwrap();
    }
}
