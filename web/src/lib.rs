//! # sessionlab-web
//!
//! The Go lesson's web app, for real: a cookie carries a random session id, the server maps it
//! to the user through any [`sessionlab`] store, and a background sweeper deletes idle sessions
//! while requests arrive. A load generator drives it with concurrent HTTP flows and checks
//! every answer, so a student can watch what real traffic does to each store.
//!
//! | module | what |
//! |---|---|
//! | [`app`] | the routes: `POST /login`, `GET /me`, `POST /logout` |
//! | [`cookie`] | reading the session cookie (total, never panics) and writing `Set-Cookie` |
//! | [`users`] | user name <-> [`sessionlab::UserId`] |
//! | [`backend`] | any store behind one type; the hook for remote (fallible) stores |
//! | [`remote`] | `serve --store redis`: sessions, users and time shared by many processes |
//! | [`server`] | bind, serve (plain or TLS), shut down |
//! | [`tls`] | rustls with ring; self-signed certificates; what HTTPS does and does not protect |
//! | [`client`], [`load`] | the load generator and what it counts |
//! | [`spread`] | load spread over several servers sharing a store, with faults |
//! | [`supervise`] | the server in a child process, for stores that crash or hang it |
//! | [`cpu`] | where a run's CPU time goes |
//!
//! It is its own crate so that the core crate's loom build (`--cfg loom`) never compiles tokio.

pub mod app;
pub mod backend;
pub mod client;
pub mod cookie;
pub mod cpu;
pub mod load;
pub mod remote;
pub mod server;
pub mod spread;
pub mod supervise;
pub mod tls;
pub mod users;
