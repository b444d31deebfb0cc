//! Two web servers, one Redis: the reason a site needs a shared store at all.
//!
//! Each server has its own `RedisStore` (its own connection pool, as two machines would) on
//! the same key prefix, and its own view of one user directory in Redis ([`RedisUsers`]). A
//! session created through one is visible through the other, under the same name, and a
//! logout on either is seen by both.

mod common;

use sessionlab::time::Clock;
use sessionlab::{Config, UserId};
use sessionlab_redis::{RedisOptions, RedisStore, RedisUsers};
use sessionlab_web::backend::Backend;
use sessionlab_web::client::Client;
use sessionlab_web::server::{RunningServer, ServeConfig};
use sessionlab_web::users::{NameError, UserDirectory, validate};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::time::Duration;

const TTL: Duration = Duration::from_secs(60);
const TIMEOUT: Duration = Duration::from_secs(10);

/// The web app's directory trait over [`RedisUsers`]. The web crate would hold this adapter
/// if it offered a Redis option; a test crate may write it too (a local type).
struct SharedUsers(RedisUsers);

impl UserDirectory for SharedUsers {
    fn intern(&self, name: &str) -> Result<UserId, NameError> {
        let name = validate(name)?;
        match self.0.intern(name) {
            Ok(Ok(id)) => Ok(id),
            Ok(Err(_full)) => Err(NameError::Full),
            Err(_unreachable) => Err(NameError::Unavailable),
        }
    }
    fn name(&self, id: UserId) -> Option<String> {
        self.0.name(id).ok().flatten()
    }
}

fn web_server(url: &str, options: &RedisOptions, users: &str, clock: Clock) -> RunningServer {
    let store_config = Config::new(u64::try_from(TTL.as_millis()).expect("ttl fits"));
    let store = RedisStore::connect_with(url, &store_config, options.clone()).expect("connect");
    let directory = Arc::new(SharedUsers(RedisUsers::new(&store, users, 1_000)));
    let config = ServeConfig::new(SocketAddr::from(([127, 0, 0, 1], 0)), TTL);
    let backend = Backend::remote("redis", store).with_users(directory);
    RunningServer::start(&config, backend, clock).expect("start")
}

fn client(server: &RunningServer) -> Client<TcpStream> {
    Client::connect(server.addr(), TIMEOUT).expect("connect to the web server")
}

fn login(server: &RunningServer, name: &str) -> String {
    let answer = client(server).post("/login", None, format!("user={name}").as_bytes()).unwrap();
    assert_eq!(answer.status, 200, "{}", answer.text());
    answer.cookie("session").expect("login sets the session cookie").to_owned()
}

fn me(server: &RunningServer, session: &str) -> (u16, String) {
    let answer = client(server).get("/me", Some(session)).unwrap();
    (answer.status, answer.text())
}

fn ok(name: &str) -> (u16, String) {
    (200, format!("you are {name}\n"))
}

#[test]
fn two_web_servers_share_sessions_through_one_redis() {
    let url = require_redis!("two_web_servers_share_sessions_through_one_redis");
    let options = common::options("two-servers");
    let users = common::unique_prefix("two-servers-users");
    // One clock for both: the servers share a process here. Separate machines need a shared
    // time base (wall-clock milliseconds) for their ticks to be comparable; see the lesson.
    let clock = Clock::start();
    let a = web_server(&url, &options, &users, clock);
    let b = web_server(&url, &options, &users, clock);
    assert_ne!(a.addr().port(), b.addr().port());

    // B meets bob first, A meets alice first: with a registry per server both would be user 0,
    // and B would call alice's session bob's.
    let bob = login(&b, "bob");
    let alice = login(&a, "alice");
    assert_eq!(me(&a, &alice), ok("alice"));
    assert_eq!(me(&b, &alice), ok("alice"), "a session created through A is visible through B");

    let logout = client(&b).post("/logout", Some(&alice), b"").unwrap();
    assert_eq!(logout.status, 200, "{}", logout.text());
    assert_eq!(me(&a, &alice).0, 401, "a logout on B is seen by A");
    assert_eq!(me(&b, &alice).0, 401);

    assert_eq!(me(&a, &bob), ok("bob"), "and the other way round");
    assert_eq!(client(&a).post("/logout", Some(&bob), b"").unwrap().status, 200);
    assert_eq!(me(&b, &bob).0, 401, "a logout on A is seen by B");

    let store = RedisStore::connect_with(&url, &Config::new(1), options).expect("connect");
    store.clear().expect("clear");
    RedisUsers::new(&store, &users, 1).clear().expect("clear users");
}
