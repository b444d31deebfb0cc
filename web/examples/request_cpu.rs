//! Server CPU per request at 10k and at 1M sessions, on the lock-free store built without a
//! capacity hint: does a request cost the same however many sessions the server holds?
//!
//! ```text
//! cargo run --release -p sessionlab-web --example request_cpu            # 10k and 1M
//! cargo run --release -p sessionlab-web --example request_cpu -- 2000    # a quick check
//! ```
//!
//! It builds the app as the server does (the library's [`Backend::in_memory`], [`AppState`] and
//! [`router`]), fills the store directly with that many sessions of a thousand registered
//! users, and then sends `GET /me` requests with the cookie of a random existing session, one
//! after the other, straight into the router (no socket: what is left is the app's own work,
//! which is what the store's size can change). Every request must answer 200. It reports this
//! thread's CPU time (`/proc/thread-self/schedstat`) and the wall time per request, the best of
//! three rounds, and the ratio of the large size to the small one (the goal: within 1.2x).
//! The same is measured with a capacity hint of a large session cap (what the web app passed
//! the lock-free store before its table could grow; it passes none now), for comparison.
//!
//! At 1M the store no longer fits in the cache, so part of what grows is the cache misses of a
//! touch; 10k fits.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use hyper::service::Service;
use hyper_util::service::TowerToHyperService;
use sessionlab::{Clock, Config, SessionId, StoreKind};
use sessionlab_web::app::{AppState, router};
use sessionlab_web::backend::Backend;
use sessionlab_web::server::ServeConfig;
use sessionlab_web::users::UserRegistry;
use sessionlab_web::{cookie, cpu};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Requests per round, and rounds per measurement (the best round counts: noise only adds).
const REQUESTS: usize = 50_000;
const ROUNDS: usize = 3;
/// Registered users the sessions belong to.
const USERS: usize = 1_000;

/// CPU and wall time per request, in ns.
struct PerRequest {
    cpu_ns: f64,
    wall_ns: f64,
}

/// A small, seeded generator for picking sessions (xorshift64*): the pick must not depend on
/// the store, and needs no dependency.
struct Picker(u64);

impl Picker {
    fn below(&mut self, n: usize) -> usize {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_f491_4f6c_dd1d) % n as u64) as usize
    }
}

fn measure(sessions: usize, hint: usize) -> PerRequest {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_time()
        .build()
        .expect("a tokio runtime");
    let ttl = Duration::from_secs(3600);
    let config = ServeConfig::new("127.0.0.1:0".parse().expect("an address"), ttl);
    let clock = Clock::start();
    let store_config =
        Config::new(u64::try_from(ttl.as_millis()).expect("ttl fits")).with_capacity(hint);
    // A sweep every hour: none runs while this measures (the ttl is an hour too).
    let backend = Backend::in_memory(StoreKind::LockFree, &store_config, clock, ttl);
    let users = UserRegistry::new(USERS);
    let user_ids: Vec<_> =
        (0..USERS).map(|n| users.intern(&format!("user{n}")).expect("a valid name")).collect();
    let ids: Vec<SessionId> = (0..sessions).map(|_| SessionId::generate()).collect();
    let fill = ids.clone();
    runtime
        .block_on(backend.call(move |store| {
            for (n, id) in fill.into_iter().enumerate() {
                store.try_insert(id, user_ids[n % USERS], 0)?.expect("a fresh id");
            }
            Ok(())
        }))
        .expect("the fill");
    let state = Arc::new(AppState::new(backend, Arc::new(users), clock, &config));
    let app = TowerToHyperService::new(router(state));
    let cookies: Vec<String> =
        ids.iter().map(|id| format!("{}={id}", cookie::name(false))).collect();
    let mut picker = Picker(0x9e37_79b9_7f4a_7c15);
    let mut best = PerRequest { cpu_ns: f64::INFINITY, wall_ns: f64::INFINITY };
    for _ in 0..ROUNDS {
        let cpu_before = cpu::this_thread().unwrap_or_default();
        let wall_before = Instant::now();
        runtime.block_on(async {
            for _ in 0..REQUESTS {
                let request = Request::get("/me")
                    .header(header::COOKIE, &cookies[picker.below(cookies.len())])
                    .body(Body::empty())
                    .expect("a request");
                let response = app.call(request).await.expect("the router is infallible");
                assert_eq!(response.status(), StatusCode::OK, "an existing session was refused");
            }
        });
        let wall = wall_before.elapsed().as_secs_f64() * 1e9 / REQUESTS as f64;
        let cpu = (cpu::this_thread().unwrap_or_default().saturating_sub(cpu_before)).as_secs_f64()
            * 1e9
            / REQUESTS as f64;
        best.cpu_ns = best.cpu_ns.min(cpu);
        best.wall_ns = best.wall_ns.min(wall);
    }
    best
}

fn main() {
    let large: usize = std::env::args().nth(1).and_then(|n| n.parse().ok()).unwrap_or(1_000_000);
    let small = 10_000.min(large);
    if cpu::this_thread().is_none() {
        println!("no /proc/thread-self/schedstat here: the CPU column reads 0, wall time only");
    }
    println!(
        "GET /me on the lock-free store, {REQUESTS} sequential requests straight into the \
         router, best of {ROUNDS} (ns per request)"
    );
    for (label, hint_for) in [("no hint", None), ("hint = a session cap", Some(large.max(100_000)))]
    {
        let hint = |_: usize| hint_for.unwrap_or(0);
        let at_small = measure(small, hint(small));
        let at_large = measure(large, hint(large));
        println!("  {label}:");
        for (sessions, row) in [(small, &at_small), (large, &at_large)] {
            println!(
                "    {sessions:>8} sessions: cpu {:8.0} ns, wall {:8.0} ns",
                row.cpu_ns, row.wall_ns
            );
        }
        println!(
            "    {large} / {small}: cpu {:.2}x, wall {:.2}x (goal: within 1.2x)",
            at_large.cpu_ns / at_small.cpu_ns,
            at_large.wall_ns / at_small.wall_ns
        );
    }
}
