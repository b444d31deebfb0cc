//! What the integration tests share: a server on an ephemeral loopback port, a client, a
//! login.
#![allow(dead_code)] // each test file uses a different part

use sessionlab::StoreKind;
use sessionlab::time::Clock;
use sessionlab_web::client::{Client, Response};
use sessionlab_web::server::{self, RunningServer, ServeConfig};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// How long a test client waits for any answer.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// `127.0.0.1:0`: a free port on loopback.
pub fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// A server for `kind` with `ttl` and the default limits.
pub fn start(kind: StoreKind, ttl: Duration) -> RunningServer {
    start_with(kind, &ServeConfig::new(loopback(), ttl))
}

/// A server for `kind` under `config`.
pub fn start_with(kind: StoreKind, config: &ServeConfig) -> RunningServer {
    let clock = Clock::start();
    let backend = server::in_memory_backend(kind, config, clock).unwrap();
    RunningServer::start(config, backend, clock).unwrap()
}

/// A keep-alive connection to `server`.
pub fn connect(server: &RunningServer) -> Client<TcpStream> {
    Client::connect(server.addr(), TIMEOUT).unwrap()
}

/// Logs in as `name`; returns the answer (303 with the cookie) and the session id.
pub fn login(
    client: &mut Client<impl std::io::Read + std::io::Write>,
    name: &str,
) -> (Response, String) {
    let answer = client.post("/login", None, format!("user={name}").as_bytes()).unwrap();
    assert_eq!(answer.status, 303, "{}", answer.text());
    assert_eq!(answer.header("location"), Some("/"), "redirect after POST");
    let id = answer
        .set_cookies
        .first()
        .and_then(|cookie| cookie.split(';').next())
        .and_then(|pair| pair.split_once('='))
        .map(|(_, id)| id.to_owned())
        .expect("login sets the session cookie");
    (answer, id)
}
