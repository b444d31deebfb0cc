//! Measures what the Redis store costs next to the in-memory sharded store, in one run:
//! per-operation latency (one thread), touches per second (threads, and pipelined batches), and
//! the sweep the expiry index makes cheap: 100k sessions of which 1k expired.
//!
//! ```text
//! cargo run --release -p sessionlab-redis --example scale               # a throwaway server
//! cargo run --release -p sessionlab-redis --example scale -- --cluster  # a 3-master cluster
//! SESSIONLAB_REDIS_URL=redis://host:6379/ cargo run --release -p sessionlab-redis --example scale
//! ```
//!
//! It starts its own `redis-server` (or cluster) on loopback unless `SESSIONLAB_REDIS_URL`
//! names one. The numbers in the lesson (README.md) come from this program.

use sessionlab::{Config, FallibleSessionStore, SessionId, SessionStore, StoreKind, UserId};
use sessionlab_redis::test_server::{RedisCluster, RedisServer};
use sessionlab_redis::{RedisOptions, RedisStore};
use std::time::{Duration, Instant};

const OPS: u64 = 10_000;
const ROUNDS: usize = 3;
const THREADS: u64 = 4;
const PIPELINE: usize = 100;
const SESSIONS: u64 = 100_000;
const EXPIRED: u64 = 1_000;
const SWEEPS: usize = 5;
const TTL: u64 = 1_000;

/// Mean time per call of `op` over `n` calls.
fn per_op(n: u64, mut op: impl FnMut(u64)) -> Duration {
    let started = Instant::now();
    for i in 0..n {
        op(i);
    }
    started.elapsed() / u32::try_from(n).expect("n fits u32")
}

#[derive(Clone, Copy)]
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

/// Touches per second with `THREADS` threads touching their own sessions at once.
fn threaded<S: FallibleSessionStore>(store: &S) -> f64
where
    S::Error: std::fmt::Debug,
{
    let per_thread = OPS / THREADS;
    let ids: Vec<Vec<SessionId>> = (0..THREADS)
        .map(|t| {
            (0..per_thread)
                .map(|i| {
                    let id = SessionId::generate();
                    store
                        .try_insert(id, UserId(t * 1_000_000 + i), 0)
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
    let rate = (THREADS * per_thread) as f64 / started.elapsed().as_secs_f64();
    for id in ids.iter().flatten() {
        store.try_remove(id).expect("remove");
    }
    rate
}

/// Touches per second from one thread sending batches of `PIPELINE` in one round trip.
fn pipelined(store: &RedisStore) -> f64 {
    let sessions: Vec<(SessionId, UserId)> =
        (0..OPS).map(|i| (SessionId::generate(), UserId(i))).collect();
    for chunk in sessions.chunks(1_000) {
        store.try_insert_many(chunk, 0).expect("insert");
    }
    let ids: Vec<SessionId> = sessions.iter().map(|(id, _)| *id).collect();
    let started = Instant::now();
    for chunk in ids.chunks(PIPELINE) {
        let users = store.try_touch_many(chunk, 10).expect("touch");
        assert!(users.iter().all(Option::is_some));
    }
    let rate = OPS as f64 / started.elapsed().as_secs_f64();
    for id in &ids {
        store.try_remove(id).expect("remove");
    }
    rate
}

/// The sweep over `SESSIONS` sessions of which `EXPIRED` are due, `SWEEPS` times (refilling
/// the expired ones each time): the best and the median time, and a sweep that finds none.
struct Sweeps {
    best: Duration,
    median: Duration,
    none_due: Duration,
    /// The Redis server's main-thread CPU time for the median sweep, when known.
    server_cpu: Option<Duration>,
}

/// The Redis server's main-thread CPU time so far (`INFO cpu`), on a single server: what the
/// server spent, whoever else the shared machine was running meanwhile.
fn server_cpu(url: &str) -> Option<Duration> {
    let mut connection = redis::Client::open(url).ok()?.get_connection().ok()?;
    let info: String = redis::cmd("INFO").arg("cpu").query(&mut connection).ok()?;
    let field = |name: &str| -> Option<f64> {
        info.lines()
            .find_map(|line| line.strip_prefix(name)?.strip_prefix(':')?.trim().parse().ok())
    };
    let seconds = field("used_cpu_user_main_thread")? + field("used_cpu_sys_main_thread")?;
    Some(Duration::from_secs_f64(seconds))
}

fn sweeps(
    fill: impl Fn(&[(SessionId, UserId)], u64),
    sweep: impl Fn(u64) -> usize,
    cpu: impl Fn() -> Option<Duration>,
) -> Sweeps {
    let live: Vec<(SessionId, UserId)> =
        (EXPIRED..SESSIONS).map(|i| (SessionId::generate(), UserId(i))).collect();
    for chunk in live.chunks(1_000) {
        fill(chunk, 10 * TTL);
    }
    let mut times = Vec::new();
    let mut cpu_times = Vec::new();
    for round in 0..SWEEPS as u64 {
        let old: Vec<(SessionId, UserId)> =
            (0..EXPIRED).map(|i| (SessionId::generate(), UserId(i))).collect();
        fill(&old, 9 * TTL + round);
        let cpu_before = cpu();
        let started = Instant::now();
        // Due: the old ones (born at 9 ttl + round), not the live (born at 10 ttl).
        let removed = sweep(10 * TTL + round);
        times.push(started.elapsed());
        if let (Some(before), Some(after)) = (cpu_before, cpu()) {
            cpu_times.push(after.saturating_sub(before));
        }
        assert_eq!(removed, EXPIRED as usize, "round {round}");
    }
    let started = Instant::now();
    assert_eq!(sweep(10 * TTL + SWEEPS as u64), 0);
    let none_due = started.elapsed();
    times.sort();
    cpu_times.sort();
    let server_cpu = cpu_times.get(cpu_times.len() / 2).copied();
    Sweeps { best: times[0], median: times[times.len() / 2], none_due, server_cpu }
}

fn micros(d: Duration) -> String {
    format!("{:>9.2} µs", d.as_secs_f64() * 1e6)
}

fn millis(d: Duration) -> String {
    format!("{:>9.3} ms", d.as_secs_f64() * 1e3)
}

fn main() {
    let cluster_mode = std::env::args().any(|arg| arg == "--cluster");
    let (_server, _cluster, url) = match std::env::var("SESSIONLAB_REDIS_URL") {
        Ok(url) if !url.is_empty() => (None, None, url),
        _ if cluster_mode => {
            let cluster = RedisCluster::start().expect("start a 3-master cluster");
            let url = cluster.urls();
            (None, Some(cluster), url)
        }
        _ => {
            let server = RedisServer::start().expect("start redis-server (is it installed?)");
            let url = server.url();
            (Some(server), None, url)
        }
    };
    let config = Config::new(TTL);
    let prefix = format!("sessionlab-scale:{}:", SessionId::generate());
    let redis =
        RedisStore::connect_with(&url, &config, RedisOptions::default().with_prefix(prefix))
            .expect("connect");
    println!(
        "{} at {url}, {} partitions",
        if redis.is_cluster() { "Redis Cluster" } else { "Redis" },
        redis.partitions()
    );
    let sharded = StoreKind::Sharded.build(&config);

    // Rounds interleave the stores and keep each one's best: the machine is shared, and the
    // least disturbed round is the closest to each store's own cost.
    let mut best: [Option<Row>; 2] = [None, None];
    let mut ping = Duration::MAX;
    for _ in 0..ROUNDS {
        ping = ping.min(per_op(OPS, |_| redis.ping().expect("ping")));
        for (slot, row) in best.iter_mut().zip([operations(&sharded), operations(&redis)]) {
            *slot = Some(match *slot {
                None => row,
                Some(b) => Row {
                    insert: b.insert.min(row.insert),
                    touch: b.touch.min(row.touch),
                    remove: b.remove.min(row.remove),
                },
            });
        }
    }
    let [Some(sharded_row), Some(redis_row)] = best else { unreachable!("ROUNDS > 0") };
    println!("\nper-operation latency, one thread, {OPS} sessions, best mean of {ROUNDS} rounds:");
    println!("{:<8} {:>12} {:>12} {:>12}", "store", "insert", "touch", "remove");
    for (name, row) in [("sharded", sharded_row), ("redis", redis_row)] {
        println!("{name:<8} {} {} {}", micros(row.insert), micros(row.touch), micros(row.remove));
    }
    let ratio = |r: Duration, s: Duration| r.as_secs_f64() / s.as_secs_f64();
    println!(
        "redis / sharded: insert {:.0}x, touch {:.0}x, remove {:.0}x; PING round trip {}",
        ratio(redis_row.insert, sharded_row.insert),
        ratio(redis_row.touch, sharded_row.touch),
        ratio(redis_row.remove, sharded_row.remove),
        micros(ping)
    );

    let best_of = |run: &dyn Fn() -> f64| (0..ROUNDS).map(|_| run()).fold(0.0, f64::max);
    let sharded_rate = best_of(&|| threaded(&sharded));
    let redis_rate = best_of(&|| threaded(&redis));
    let pipelined_rate = best_of(&|| pipelined(&redis));
    println!("\ntouches per second (best of {ROUNDS}):");
    println!("sharded, {THREADS} threads          {sharded_rate:>12.0}/s");
    println!("redis, {THREADS} threads            {redis_rate:>12.0}/s");
    println!("redis, 1 thread, pipelined x{PIPELINE} {pipelined_rate:>12.0}/s");

    let started = Instant::now();
    let memory = sweeps(
        |batch, now| {
            for (id, user) in batch {
                sharded.insert(*id, *user, now).expect("fresh");
            }
        },
        |now| sharded.sweep(now),
        || None,
    );
    let memory_fill = started.elapsed();
    let started = Instant::now();
    let remote = sweeps(
        |batch, now| {
            let answers = redis.try_insert_many(batch, now).expect("insert");
            assert!(answers.iter().all(Result::is_ok));
        },
        |now| redis.try_sweep(now).expect("sweep"),
        || if redis.is_cluster() { None } else { server_cpu(&url) },
    );
    let remote_fill = started.elapsed();
    println!(
        "\none sweep over {SESSIONS} sessions, {EXPIRED} of them expired ({SWEEPS} sweeps; fill \
         and sweeps took {:.1} s in memory, {:.1} s in Redis):",
        memory_fill.as_secs_f64(),
        remote_fill.as_secs_f64()
    );
    println!("{:<8} {:>12} {:>12} {:>16}", "store", "best", "median", "none expired");
    for (name, s) in [("sharded", &memory), ("redis", &remote)] {
        println!("{name:<8} {} {} {}", millis(s.best), millis(s.median), millis(s.none_due));
    }
    println!(
        "redis / sharded sweep: best {:.1}x, median {:.1}x (target: at most 20x)",
        ratio(remote.best, memory.best),
        ratio(remote.median, memory.median)
    );
    if let Some(cpu) = remote.server_cpu {
        println!(
            "redis server CPU in the median sweep: {} ({:.1}x the sharded median sweep's wall \
             time): the part of the sweep that is the server's work, not the machine's queue",
            millis(cpu),
            ratio(cpu, memory.median)
        );
    }
    let load = std::fs::read_to_string("/proc/loadavg").unwrap_or_default();
    println!(
        "load average during the run: {}",
        load.split_whitespace().take(3).collect::<Vec<_>>().join(" ")
    );
    redis.clear().expect("clear");
}
