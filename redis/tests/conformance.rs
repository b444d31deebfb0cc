//! The core's generic checks, run against the Redis store on a single server and on a real
//! 3-master Redis Cluster: the conformance suite, and random concurrent histories checked for
//! linearizability. Each store gets its own key prefix, so parallel tests and repeated runs
//! never collide.

mod common;

use sessionlab::check::conformance;
use sessionlab::check::history::Recorder;
use sessionlab::check::model::Op;
use sessionlab::{Config, SessionId, UserId};
use sessionlab_redis::test_server;

#[test]
fn conformance_suite() {
    let url = require_redis!("conformance_suite");
    conformance_on(&url, "redis");
}

#[test]
fn conformance_suite_on_a_cluster() {
    let Some(urls) = test_server::shared_cluster_urls("conformance_suite_on_a_cluster") else {
        return;
    };
    conformance_on(&urls, "redis cluster");
}

fn conformance_on(url: &str, label: &str) {
    let stores = common::Scoped::new(url);
    let make = |config: &Config| stores.store("conformance", config);
    let results = conformance::run_all(&make);
    assert!(!results.is_empty(), "the suite ran no check");
    let mut failed = Vec::new();
    for (name, result) in &results {
        match result {
            Ok(()) => println!("conformance on {label}: {name} ... ok"),
            Err(violation) => failed.push(format!("{name}: {violation}")),
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} checks failed:\n{}",
        failed.len(),
        results.len(),
        failed.join("\n")
    );
}

/// A small xorshift generator: the histories must be reproducible from the round number, and
/// the core's random helpers are dev-dependencies we do not share.
struct Rng(u64);

impl Rng {
    fn below(&mut self, n: u64) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0 % n
    }
}

const TTL: u64 = 10;
const THREADS: usize = 4;
const CALLS: usize = 20;
const IDS: u64 = 5;
const ROUNDS: u64 = 60;

fn random_op(rng: &mut Rng, now: &mut u64) -> Op {
    *now += rng.below(4); // each thread's clock moves forward, at its own pace
    let id = SessionId::fixed(rng.below(IDS));
    match rng.below(10) {
        0..=2 => Op::Insert { id, user: UserId(rng.below(3)), now: *now },
        3..=6 => Op::Touch { id, now: *now },
        7..=8 => Op::Remove { id },
        _ => Op::Sweep { now: *now },
    }
}

#[test]
fn random_concurrent_histories_are_linearizable() {
    let url = require_redis!("random_concurrent_histories_are_linearizable");
    histories_on(&url);
}

#[test]
fn random_concurrent_histories_are_linearizable_on_a_cluster() {
    let test = "random_concurrent_histories_are_linearizable_on_a_cluster";
    let Some(urls) = test_server::shared_cluster_urls(test) else {
        return;
    };
    histories_on(&urls);
}

fn histories_on(url: &str) {
    let stores = common::Scoped::new(url);
    for round in 0..ROUNDS {
        let recorder = Recorder::new(stores.store("linearizability", &Config::new(TTL)));
        let logs: Vec<_> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..THREADS)
                .map(|thread| {
                    let recorder = &recorder;
                    s.spawn(move || {
                        let mut rng =
                            Rng(0x9e37_79b9_7f4a_7c15 ^ ((round << 8) | (thread as u64 + 1)));
                        let mut now = rng.below(5);
                        let mut log = recorder.log(thread);
                        for _ in 0..CALLS {
                            log.call(random_op(&mut rng, &mut now));
                        }
                        log.into_calls()
                    })
                })
                .collect();
            handles.into_iter().map(|h| h.join().expect("a recording thread panicked")).collect()
        });
        let history = recorder.finish(logs);
        assert_eq!(history.len(), THREADS * CALLS + 1);
        if let Err(error) = history.check(TTL) {
            panic!("round {round}: {error}");
        }
    }
}
