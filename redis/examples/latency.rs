//! Measures what a Redis round trip costs next to the in-memory stores: per-operation latency
//! (one thread, so it is latency, not throughput), touches per second from several threads,
//! and one sweep over 100k sessions.
//!
//! ```text
//! SESSIONLAB_REDIS_URL=redis://127.0.0.1:6390/ cargo run --release -p sessionlab-redis --example latency
//! ```
//!
//! Run it on an otherwise empty database: a sweep `SCAN`s every key in the database, not only
//! the store's own. The numbers in the lesson (README.md) come from this program.

use sessionlab::{Config, FallibleSessionStore, SessionId, StoreKind, UserId};
use sessionlab_redis::{RedisOptions, RedisStore};
use std::time::{Duration, Instant};

const OPS: u64 = 20_000;
const ROUNDS: usize = 5;
const THREADS: u64 = 4;
const SWEEP_SESSIONS: u64 = 100_000;
const TTL: u64 = 1_000;
/// When the swept sessions are created: late enough that a sweep at `BORN + TTL - 1` must
/// walk every key (at a `now` below the ttl nothing can be expired, and the walk is skipped).
const BORN: u64 = 1_000_000;

/// Mean time per call of `op` over `n` calls.
fn per_op(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        op(i);
    }
    started.elapsed() / u32::try_from(n).expect("n fits u32")
}

struct Row {
    insert: Duration,
    touch: Duration,
    remove: Duration,
}

/// insert, touch, remove of `OPS` distinct sessions, each phase timed on its own.
fn operations<S: FallibleSessionStore>(store: &S) -> Row
where
    S::Error: std::fmt::Debug,
{
    let ids: Vec<SessionId> = (0..OPS).map(|_| SessionId::generate()).collect();
    let insert = per_op(OPS, |i| {
        store.try_insert(ids[i as usize], UserId(i), 0).expect("insert").expect("fresh id");
    });
    let touch = per_op(OPS, |i| {
        assert!(store.try_touch(&ids[i as usize], 10).expect("touch").is_some());
    });
    let remove = per_op(OPS, |i| {
        assert!(store.try_remove(&ids[i as usize]).expect("remove").is_some());
    });
    Row { insert, touch, remove }
}

/// Fills `store` with `SWEEP_SESSIONS` sessions, then times a sweep that finds none expired
/// (the walk alone) and one that removes them all.
fn sweeps<S: FallibleSessionStore>(store: &S) -> (Duration, Duration, Duration)
where
    S::Error: std::fmt::Debug,
{
    let started = Instant::now();
    for i in 0..SWEEP_SESSIONS {
        store.try_insert(SessionId::generate(), UserId(i), BORN).expect("insert").expect("fresh");
    }
    let fill = started.elapsed();
    let started = Instant::now();
    assert_eq!(store.try_sweep(BORN + TTL - 1).expect("sweep"), 0);
    let walk = started.elapsed();
    let started = Instant::now();
    assert_eq!(store.try_sweep(BORN + TTL).expect("sweep"), SWEEP_SESSIONS as usize);
    (fill, walk, started.elapsed())
}

/// Touches per second with `threads` threads touching their own sessions at once: with Redis
/// every thread's call queues for the server's one command thread.
fn throughput<S: FallibleSessionStore>(store: &S, threads: u64) -> f64
where
    S::Error: std::fmt::Debug,
{
    let per_thread = OPS / threads;
    let ids: Vec<Vec<SessionId>> = (0..threads)
        .map(|t| {
            (0..per_thread)
                .map(|i| {
                    let id = SessionId::generate();
                    store
                        .try_insert(id, UserId(t * per_thread + i), 0)
                        .expect("insert")
                        .expect("fresh");
                    id
                })
                .collect()
        })
        .collect();
    let started = Instant::now();
    std::thread::scope(|s| {
        for ids in &ids {
            s.spawn(move || {
                for id in ids {
                    assert!(store.try_touch(id, 10).expect("touch").is_some());
                }
            });
        }
    });
    let rate = (threads * per_thread) as f64 / started.elapsed().as_secs_f64();
    for id in ids.iter().flatten() {
        store.try_remove(id).expect("remove");
    }
    rate
}

fn micros(d: Duration) -> String {
    format!("{:>9.2} µs", d.as_secs_f64() * 1e6)
}

fn main() {
    let Ok(url) = std::env::var("SESSIONLAB_REDIS_URL") else {
        eprintln!(
            "set SESSIONLAB_REDIS_URL (bash redis/ci.sh cargo run --release -p sessionlab-redis --example latency)"
        );
        std::process::exit(2);
    };
    let config = Config::new(TTL);
    let prefix = format!("sessionlab-latency:{}:", SessionId::generate());
    let redis =
        RedisStore::connect_with(&url, &config, RedisOptions::default().with_prefix(prefix))
            .expect("connect");
    let sharded = StoreKind::Sharded.build(&config);
    let mutex = StoreKind::Mutex.build(&config);

    // Five rounds, stores interleaved, best round kept: the machine is shared, and the least
    // disturbed round is the closest to each store's own cost.
    let stores: [(&str, &dyn Fn() -> Row); 3] = [
        ("sharded", &|| operations(&sharded)),
        ("mutex", &|| operations(&mutex)),
        ("redis", &|| operations(&redis)),
    ];
    let mut rows: Vec<(&str, Row)> = stores.iter().map(|(name, run)| (*name, run())).collect();
    let mut ping = Duration::MAX;
    for _ in 0..ROUNDS {
        // A bare PING: the round trip every Redis call pays before any work.
        ping = ping.min(per_op(OPS, |_| redis.ping().expect("ping")));
        for ((_, run), (_, best)) in stores.iter().zip(rows.iter_mut()) {
            let row = run();
            best.insert = best.insert.min(row.insert);
            best.touch = best.touch.min(row.touch);
            best.remove = best.remove.min(row.remove);
        }
    }
    println!("per-operation latency, one thread, {OPS} sessions, best mean of {ROUNDS} rounds:");
    println!("{:<8} {:>12} {:>12} {:>12}", "store", "insert", "touch", "remove");
    for (name, row) in &rows {
        println!("{name:<8} {} {} {}", micros(row.insert), micros(row.touch), micros(row.remove));
    }
    let (sharded_row, redis_row) = (&rows[0].1, &rows[2].1);
    let ratio = |r: Duration, s: Duration| r.as_secs_f64() / s.as_secs_f64();
    println!(
        "redis / sharded: insert {:.0}x, touch {:.0}x, remove {:.0}x",
        ratio(redis_row.insert, sharded_row.insert),
        ratio(redis_row.touch, sharded_row.touch),
        ratio(redis_row.remove, sharded_row.remove)
    );
    println!("redis PING round trip: {}", micros(ping));

    println!("\ntouches per second, {THREADS} threads at once (best of {ROUNDS}):");
    let best = |run: &dyn Fn() -> f64| (0..ROUNDS).map(|_| run()).fold(0.0, f64::max);
    let sharded_rate = best(&|| throughput(&sharded, THREADS));
    let redis_rate = best(&|| throughput(&redis, THREADS));
    println!("sharded {sharded_rate:>12.0}/s\nredis   {redis_rate:>12.0}/s");

    println!("\none sweep over {SWEEP_SESSIONS} sessions:");
    println!("{:<8} {:>12} {:>16} {:>16}", "store", "fill", "sweep, none due", "sweep, all due");
    let (fill, walk, all) = sweeps(&sharded);
    println!(
        "{:<8} {:>9.0} ms {:>13.1} ms {:>13.1} ms",
        "sharded",
        fill.as_secs_f64() * 1e3,
        walk.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3
    );
    let (fill, walk, all) = sweeps(&redis);
    println!(
        "{:<8} {:>9.0} ms {:>13.1} ms {:>13.1} ms",
        "redis",
        fill.as_secs_f64() * 1e3,
        walk.as_secs_f64() * 1e3,
        all.as_secs_f64() * 1e3
    );
    redis.clear().expect("clear");
}
