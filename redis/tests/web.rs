//! Two web servers, one Redis: the reason a site needs a shared store at all.
//!
//! Each server has its own `RedisStore` (its own connection pool, as two machines would) on
//! the same key prefix. A session created through one is visible through the other, and a
//! logout on either is seen by both.

mod common;

use sessionlab::Config;
use sessionlab::sweeper::Clock;
use sessionlab_web::backend::Backend;
use sessionlab_web::client::Client;
use sessionlab_web::server::{RunningServer, ServeConfig};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

const TTL: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);

fn web_server(url: &str, options: &sessionlab_redis::RedisOptions, clock: Clock) -> RunningServer {
    let store_config = Config::new(u64::try_from(TTL.as_millis()).expect("ttl fits"));
    let store = sessionlab_redis::RedisStore::connect_with(url, &store_config, options.clone())
        .expect("connect");
    let config = ServeConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), TTL);
    RunningServer::start(&config, Backend::remote("redis", store), clock).expect("start")
}

fn client(server: &RunningServer) -> Client<TcpStream> {
    Client::connect(server.addr(), TIMEOUT).expect("connect to the web server")
}

fn login(server: &RunningServer, name: &str) -> String {
    let answer = client(server).post("/login", None, format!("user={name}").as_bytes()).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.cookie("session").expect("login sets the session cookie").to_owned()
}

fn me(server: &RunningServer, session: &str) -> u16 {
    client(server).get("/me", Some(session)).unwrap().status
}

#[test]
fn two_web_servers_share_sessions_through_one_redis() {
    let url = require_redis!("two_web_servers_share_sessions_through_one_redis");
    let options = common::options("two-servers");
    // One clock for both: the servers share a process here. Separate machines need a shared
    // time base (wall-clock milliseconds) for their ticks to be comparable; see the lesson.
    let clock = Clock::start();
    let a = web_server(&url, &options, clock);
    let b = web_server(&url, &options, clock);
    assert_ne!(a.addr().port(), b.addr().port());

    let alice = login(&a, "alice");
    assert_eq!(me(&a, &alice), 200);
    assert_eq!(me(&b, &alice), 200, "a session created through A is visible through B");

    let logout = client(&b).post("/logout", Some(&alice), b"").unwrap();
    assert_eq!(logout.status, 200, "{}", logout.text());
    assert_eq!(me(&a, &alice), 401, "a logout on B is seen by A");
    assert_eq!(me(&b, &alice), 401);

    let bob = login(&b, "bob");
    assert_eq!(me(&a, &bob), 200, "and the other way round");
    assert_eq!(client(&a).post("/logout", Some(&bob), b"").unwrap().status, 200);
    assert_eq!(me(&b, &bob), 401, "a logout on A is seen by B");

    let store = sessionlab_redis::RedisStore::connect_with(&url, &Config::new(1), options)
        .expect("connect");
    store.clear().expect("clear");
}
