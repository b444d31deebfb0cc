//! # sessionlab-web
//!
//! The Go lesson's web app, for real: a cookie carries a random session id, the server maps it
//! to the user through any [`sessionlab`] store, and a background sweeper deletes idle sessions
//! while requests arrive. A load generator drives it with concurrent HTTP flows and checks
//! every answer, so a student can watch what real traffic does to each store.
//!
//! | module | what |
//! |---|---|
//! | [`app`] | the routes: `GET /`, `POST /login`, `GET /me`, `POST /logout`, and the checks every request passes |
//! | [`page`] | the HTML: the page that teaches, friendly error pages |
//! | [`origin`] | refusing POSTs from other sites (login CSRF) |
//! | [`connections`] | accepting connections: the cap and the timeouts |
//! | [`cookie`] | reading the session cookie (total, never panics) and writing `Set-Cookie` |
//! | [`users`] | user name <-> [`sessionlab::UserId`], printable names, per-user session cap |
//! | [`backend`] | any store behind one type; the hook for remote (fallible) stores |
//! | [`remote`] | `serve --store redis`: sessions, users and time shared by many processes |
//! | [`server`] | bind, serve (plain or TLS), shut down |
//! | [`tls`] | rustls with ring; self-signed certificates; what HTTPS does and does not protect |
//! | [`client`], [`load`] | the load generator and what it counts |
//! | [`answers`] | the app's answers to a non-browser client, as the load generators judge them |
//! | [`chart`] | `load`'s results as an SVG chart |
//! | [`spread`] | load spread over several servers sharing a store, with faults |
//! | [`supervise`] | the server in a child process, for stores that crash or hang it |
//! | [`cpu`] | where a run's CPU time goes |
//!
//! It is its own crate so that the core crate's loom build (`--cfg loom`) never compiles tokio.

pub mod answers;
pub mod app;
pub mod backend;
pub mod chart;
pub mod client;
pub mod connections;
pub mod cookie;
pub mod cpu;
pub mod load;
pub mod origin;
pub mod page;
pub mod remote;
pub mod server;
pub mod spread;
pub mod supervise;
pub mod tls;
pub mod users;
