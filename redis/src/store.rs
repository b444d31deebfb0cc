//! `RedisStore`: sessions in a Redis server, shared by every web server that talks to it.
//!
//! **Technique.** One Redis hash per session (layout in [`keys`](crate::keys)); every operation
//! is one Lua script ([`scripts`](crate::scripts)), and a script is the unit of atomicity on a
//! Redis server, which runs one command at a time. Connections come from an r2d2 pool, so
//! threads of one process run their calls in parallel up to the pool size; the server still
//! runs them one at a time.
//!
//! **Invariant.** Every operation on one id is a single script on the keys of that id's
//! partition (its session and the partition's expiry index, one hash slot), so the server's
//! one-command-at-a-time execution linearizes them: touch and sweep can never both win, of two
//! removes exactly one gets the user, insert never overwrites, and the index always holds
//! exactly the partition's sessions, scored by their last activity. A sweep walks each
//! partition's index up to the expiry threshold in bounded batches, each batch one script that
//! deletes its candidates (trusting the score, which that script's atomicity makes the truth;
//! `sweep.lua` gives the argument); a session expired throughout the call scores below the
//! threshold throughout, so some batch finds it: "a session expired throughout the call is gone
//! when it returns".
//!
//! **Time.** The store never reads a clock: `now` travels into each script as an argument.
//! Redis also keeps a safety-net TTL on every key (`PEXPIRE`, refreshed by insert and touch)
//! so that sessions abandoned by a site that runs no sweeper still go away. That TTL runs on
//! *Redis's* clock, while `last_active` is on the *callers'* clocks (each web server has its
//! own). An absolute `PEXPIREAT` built from a caller's tick would mix the two clocks, so the
//! net is relative: `ttl + margin` milliseconds of server time after the last insert or touch.
//! It assumes ticks are milliseconds that advance at least as fast as real time; the margin
//! (default an hour, [`RedisOptions::safety_margin`]) absorbs rate differences and the time a
//! request takes, and `None` turns the net off for callers whose ticks are not wall time. The
//! net only ever removes sessions that the specification already considers expired, as long
//! as that assumption holds; the sweep stays the thing that removes them on time. A session
//! the net removed leaves its index entry until the next sweep drops it.
//!
//! **Cost.** One network round trip per operation; a sweep costs one script call per
//! partition plus one per [`RedisOptions::sweep_batch`] expired sessions, whatever the number
//! of live ones; `len` one `ZCARD` per partition, pipelined. See the lesson for the measured ratios.
//!
//! **Where it breaks.** The server (or, in a cluster, the master owning a partition) is a
//! single point of failure: while it is down every call on it returns a [`RedisStoreError`].
//! A call whose connection drops after sending has an unknown outcome. After a restart, each
//! pooled connection that went stale fails one call before the pool replaces it. `len` is
//! exact only when no call is in flight, and counts sessions the safety net removed until a
//! sweep drops their index entries.
//!
//! **Foreign data.** A key of this store's layout that this store did not write (not a hash,
//! no 20-digit `last`) makes touch and remove fail with [`RedisStoreError::Corrupt`] for that
//! one session. A sweep never fails for foreign data, so one bad key never stops expiry. It
//! trusts the index: an expired entry whose member has a session id's length (36 bytes) has its
//! key deleted, whatever the key holds (counted as removed). An entry whose member has another
//! length is dropped from the index, its key left alone, and counted ([`SweepReport::foreign`],
//! [`RedisStore::foreign_seen`]); so is an entry at the threshold's exact score (ticks above
//! 2^53 only) whose key is not a session. Index members are read inside the scripts, as bytes:
//! no key or member has to be UTF-8.

use crate::connection::{Connection, Connections, PoolOptions, batch_over};
use crate::error::RedisStoreError;
use crate::keys::{
    DEFAULT_PARTITIONS, DEFAULT_PREFIX, Layout, encode_tick, expiry_threshold, score,
};
use crate::scripts::Scripts;
use redis::{Cmd, Script};
use sessionlab::activity::Activity;
use sessionlab::{Config, FallibleSessionStore, Occupied, SessionId, Tick, TryInsert, UserId};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Connections a sweep uses at most on a cluster, where each partition's call is its own
/// round trip: with four, the 16 partitions' calls take four round trips in a row instead of
/// 16. Taken from the store's pool only while it has them to spare (a busy server's requests
/// keep theirs); a single server needs one (its batch is one pipeline).
pub const SWEEP_CONNECTIONS: usize = 4;

/// Candidates per sweep script call. A script holds the whole server while it runs (Redis runs
/// one command at a time); a trusted candidate costs well under a µs of server time (a slot in
/// one `DEL` and one `ZREMRANGEBYRANK`), so a full batch stalls every other client for about a
/// millisecond at most.
pub const SWEEP_BATCH: usize = 1024;

/// The largest [`RedisOptions::sweep_batch`]: a batch's keys go to `DEL` as one Lua `unpack`,
/// which Redis's Lua refuses above about 8,000 values.
pub const MAX_SWEEP_BATCH: usize = 4096;

/// Above this the safety-net TTL is left off: a key that outlives a decade needs no net, and
/// `PEXPIRE` refuses values whose deadline overflows.
const MAX_SAFETY_NET_MS: u64 = 10 * 365 * 24 * 60 * 60 * 1000;

/// How a [`RedisStore`] connects and names its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// The key prefix ([`DEFAULT_PREFIX`] by default; no `{` or `}`); see
    /// [`keys`](crate::keys).
    pub prefix: String,
    /// How many partitions the sessions are spread over ([`DEFAULT_PARTITIONS`] by default).
    /// Every process sharing a prefix must use the same number.
    pub partitions: u16,
    /// Added to the ttl to make the safety-net TTL (see the module docs); `None` sets no TTL.
    pub safety_margin: Option<Duration>,
    /// Most connections held open at once: how many calls of this process run in parallel.
    pub pool_size: u32,
    /// How long a call waits for a connection before it fails with
    /// [`RedisStoreError::Unavailable`].
    pub connect_timeout: Duration,
    /// How long a call waits on a read or write of its connection before it fails (zero: no
    /// limit).
    pub io_timeout: Duration,
    /// Candidates per sweep script call ([`SWEEP_BATCH`] by default, 1 to
    /// [`MAX_SWEEP_BATCH`]): how long one sweep script may hold the server.
    pub sweep_batch: usize,
}

impl Default for RedisOptions {
    /// The default prefix and partitions, a one-hour safety margin, 16 connections, 2 s to
    /// connect, 5 s per read or write, [`SWEEP_BATCH`] candidates per sweep call.
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            partitions: DEFAULT_PARTITIONS,
            safety_margin: Some(Duration::from_secs(60 * 60)),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(5),
            sweep_batch: SWEEP_BATCH,
        }
    }
}

impl RedisOptions {
    /// Sets the key prefix.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }
}

/// What one sweep did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SweepReport {
    /// Sessions it removed (what [`FallibleSessionStore::try_sweep`] returns).
    pub removed: usize,
    /// Index entries this store did not write (a member that is not 36 bytes long, or, at the
    /// threshold's exact score, a key that is not a session): dropped from the index, the key
    /// left alone.
    pub foreign: usize,
}

/// A session store in a Redis server or cluster. It implements [`FallibleSessionStore`]
/// (every call can fail with a [`RedisStoreError`]), not `SessionStore`; wrap it in
/// [`Unwrapped`](crate::Unwrapped) to hand it to a test harness written for in-memory stores.
pub struct RedisStore {
    connections: Connections,
    scripts: Scripts,
    layout: Layout,
    ttl: u64,
    /// The safety-net TTL in ms, as the scripts take it ("0": none).
    safety_net_ms: String,
    /// Foreign entries the sweeps of this store have met.
    foreign: AtomicU64,
    /// Candidates per sweep script call.
    sweep_batch: usize,
}

impl RedisStore {
    /// Connects to the server at `url` (e.g. `redis://127.0.0.1:6379/`), or to a cluster
    /// (`redis+cluster://host:port,host:port` or a comma-separated list of `redis://` URLs),
    /// with the default [`RedisOptions`]. Fails if the URL is malformed or the server does not
    /// answer a `PING`.
    pub fn connect(url: &str, config: &Config) -> Result<Self, RedisStoreError> {
        Self::connect_with(url, config, RedisOptions::default())
    }

    /// Connects with `options`. Fails if the options or the URL are malformed, or the server
    /// does not answer a `PING` within the connect timeout.
    pub fn connect_with(
        url: &str,
        config: &Config,
        options: RedisOptions,
    ) -> Result<Self, RedisStoreError> {
        let layout = Layout::new(&options.prefix, options.partitions).ok_or_else(|| {
            RedisStoreError::Options(format!(
                "the prefix {:?} holds a brace, or there are 0 partitions",
                options.prefix
            ))
        })?;
        if !(1..=MAX_SWEEP_BATCH).contains(&options.sweep_batch) {
            return Err(RedisStoreError::Options(format!(
                "a sweep batch of {} candidates: it must be 1 to {MAX_SWEEP_BATCH}",
                options.sweep_batch
            )));
        }
        let connections = Connections::open(
            url,
            &PoolOptions {
                size: options.pool_size,
                connect_timeout: options.connect_timeout,
                io_timeout: options.io_timeout,
            },
        )?;
        let safety_net_ms = match options.safety_margin {
            None => 0,
            Some(margin) => {
                let margin = u64::try_from(margin.as_millis()).unwrap_or(u64::MAX);
                let ms = config.ttl.saturating_add(margin);
                if ms > MAX_SAFETY_NET_MS { 0 } else { ms }
            }
        };
        let store = Self {
            connections,
            scripts: Scripts::new(),
            layout,
            ttl: config.ttl,
            safety_net_ms: safety_net_ms.to_string(),
            foreign: AtomicU64::new(0),
            sweep_batch: options.sweep_batch,
        };
        store.ping()?;
        Ok(store)
    }

    /// Round-trips a `PING` (to every master of a cluster): whether the server answers now.
    pub fn ping(&self) -> Result<(), RedisStoreError> {
        let mut connection = self.connection()?;
        redis::cmd("PING").query::<()>(connection.get())?;
        Ok(())
    }

    /// Whether this store talks to a Redis Cluster.
    pub fn is_cluster(&self) -> bool {
        self.connections.is_cluster()
    }

    /// The key prefix this store uses.
    pub fn prefix(&self) -> &str {
        self.layout.prefix()
    }

    /// The number of partitions.
    pub fn partitions(&self) -> u16 {
        self.layout.partitions()
    }

    /// The Redis key that holds session `id`. It contains the full id: for tests and
    /// operators' tools, never for logs.
    pub fn key(&self, id: &SessionId) -> String {
        self.layout.session_key(id)
    }

    /// The key of the expiry index that holds session `id`.
    pub fn index_key(&self, id: &SessionId) -> String {
        self.layout.index_key(self.layout.partition(id))
    }

    /// How many foreign or corrupt index entries this store's sweeps have met and skipped.
    pub fn foreign_seen(&self) -> u64 {
        self.foreign.load(Ordering::Relaxed)
    }

    /// Deletes every session of this store (expired or not, by walking the indexes) and
    /// returns how many it deleted. For tests and resets; other prefixes are untouched.
    pub fn clear(&self) -> Result<usize, RedisStoreError> {
        let mut connection = self.connection()?;
        let mut deleted = 0;
        for partition in 0..self.layout.partitions() {
            loop {
                let (count, examined): (usize, usize) = self
                    .scripts
                    .clear
                    .key(self.layout.index_key(partition))
                    .arg(self.layout.session_key_start(partition))
                    .arg(self.sweep_batch)
                    .invoke(connection.get())?;
                deleted += count;
                if examined < self.sweep_batch {
                    break;
                }
            }
        }
        Ok(deleted)
    }

    /// The connections, for the user directory on the same server.
    pub(crate) fn connections(&self) -> &Connections {
        &self.connections
    }

    fn connection(&self) -> Result<Connection, RedisStoreError> {
        self.connections.get()
    }

    /// Runs one session script on `id`'s session and index keys; a `CORRUPT` error names the
    /// session redacted.
    fn call<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        id: &SessionId,
        args: &[&str],
    ) -> Result<T, RedisStoreError> {
        let partition = self.layout.partition(id);
        let mut invocation = script.prepare_invoke();
        invocation.key(self.layout.session_key(id)).key(self.layout.index_key(partition));
        for arg in args {
            invocation.arg(*arg);
        }
        let mut connection = self.connection()?;
        invocation
            .invoke(connection.get())
            .map_err(|error| RedisStoreError::from_script(error, || id.redacted()))
    }

    fn parse_user(
        &self,
        id: &SessionId,
        user: Option<Vec<u8>>,
    ) -> Result<Option<UserId>, RedisStoreError> {
        user.map(|bytes| {
            std::str::from_utf8(&bytes)
                .ok()
                .and_then(|text| text.parse().ok())
                .map(UserId)
                .ok_or_else(|| RedisStoreError::Corrupt {
                    session: id.redacted(),
                    detail: format!(
                        "user field {:?} is not a u64",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(32)])
                    ),
                })
        })
        .transpose()
    }

    /// Runs `script` once per `(id, args)` in one pipeline: one round trip for the lot (per
    /// master, on a cluster). The first failing call fails the batch; a `CORRUPT` error then
    /// names no session.
    fn pipelined<T: redis::FromRedisValue>(
        &self,
        script: &Script,
        calls: impl Iterator<Item = (SessionId, Vec<String>)>,
    ) -> Result<Vec<T>, RedisStoreError> {
        let commands: Vec<Cmd> = calls
            .map(|(id, args)| {
                let partition = self.layout.partition(&id);
                let mut command = redis::cmd("EVALSHA");
                command
                    .arg(script.get_hash())
                    .arg(2)
                    .arg(self.layout.session_key(&id))
                    .arg(self.layout.index_key(partition))
                    .arg(args);
                command
            })
            .collect();
        if commands.is_empty() {
            return Ok(Vec::new());
        }
        let mut connection = self.connection()?;
        // EVALSHA needs the script in the server's cache; loading is idempotent and cheap.
        script.load(connection.get())?;
        connection
            .batch(commands)
            .map_err(|error| RedisStoreError::from_script(error, || "(in a batch)".to_owned()))
    }

    /// Inserts many sessions at `now` in one round trip; the answer for each, in order.
    pub fn try_insert_many(
        &self,
        sessions: &[(SessionId, UserId)],
        now: Tick,
    ) -> Result<Vec<Result<(), Occupied>>, RedisStoreError> {
        let now = clamp(now);
        let (tick, score) = (encode_tick(now), score(now));
        let stored: Vec<bool> = self.pipelined(
            &self.scripts.insert,
            sessions.iter().map(|(id, user)| {
                let args =
                    [&user.0.to_string(), &tick, &self.safety_net_ms, &id.to_string(), &score];
                (*id, args.map(|arg| arg.to_owned()).to_vec())
            }),
        )?;
        Ok(stored.into_iter().map(|stored| if stored { Ok(()) } else { Err(Occupied) }).collect())
    }

    /// Touches many sessions at `now` in one round trip: what
    /// [`try_touch`](FallibleSessionStore::try_touch) answers for each, in order.
    pub fn try_touch_many(
        &self,
        ids: &[SessionId],
        now: Tick,
    ) -> Result<Vec<Option<UserId>>, RedisStoreError> {
        let threshold = expiry_threshold(self.ttl, now).map(encode_tick).unwrap_or_default();
        let stored = clamp(now);
        let (tick, score) = (encode_tick(stored), score(stored));
        let users: Vec<Option<Vec<u8>>> = self.pipelined(
            &self.scripts.touch,
            ids.iter().map(|id| {
                let args = [&tick, &threshold, &self.safety_net_ms, &id.to_string(), &score];
                (*id, args.map(|arg| arg.to_owned()).to_vec())
            }),
        )?;
        ids.iter().zip(users).map(|(id, user)| self.parse_user(id, user)).collect()
    }

    /// Sweeps at `now`, reporting what it removed and what foreign entries it skipped.
    ///
    /// Each round sends one batch script per partition that still has candidates: on a single
    /// server all in one pipeline (one round trip), so a sweep with nothing expired costs one
    /// round trip, whatever the number of sessions; on a cluster one call at a time per
    /// connection, over up to [`SWEEP_CONNECTIONS`] connections at once. Inside a batch the
    /// index score is trusted (`sweep.lua` says why that is exact): an expired session costs a
    /// slot in one `DEL` and one `ZREMRANGEBYRANK`, and only the entries scored exactly at the
    /// threshold's double (ticks above 2^53) are read and rechecked.
    pub fn sweep_report(&self, now: Tick) -> Result<SweepReport, RedisStoreError> {
        let Some(threshold) = expiry_threshold(self.ttl, now) else {
            return Ok(SweepReport::default()); // nothing can be expired yet
        };
        let bounds = SweepBounds::new(threshold);
        let mut connection = self.connection()?;
        // On a cluster, a few more connections, so that the partitions' calls to different
        // masters overlap (one round trip per call there); whatever the pool can spare.
        let mut extra = self.connections.spare(SWEEP_CONNECTIONS - 1);
        let mut report = SweepReport::default();
        // Per partition still to sweep: boundary entries kept so far (not expired, their score
        // the threshold's). Later batches skip past them.
        let mut pending: Vec<(u16, usize)> =
            (0..self.layout.partitions()).map(|partition| (partition, 0)).collect();
        while !pending.is_empty() {
            let batch = || {
                pending
                    .iter()
                    .map(|&(partition, kept)| {
                        let mut command = redis::cmd("EVALSHA");
                        command
                            .arg(self.scripts.sweep.get_hash())
                            .arg(1)
                            .arg(self.layout.index_key(partition))
                            .arg(&bounds.threshold)
                            .arg(&bounds.trusted)
                            .arg(&bounds.boundary)
                            .arg(kept)
                            .arg(self.sweep_batch)
                            .arg(self.layout.session_key_start(partition));
                        command
                    })
                    .collect::<Vec<Cmd>>()
            };
            let answers: Vec<(usize, usize, usize, u8)> =
                match batch_over(&mut connection, &mut extra, batch()) {
                    Err(error)
                        if error.kind()
                            == redis::ErrorKind::Server(redis::ServerErrorKind::NoScript) =>
                    {
                        // A restarted server (or a new master) has an empty script cache. A sweep
                        // batch is idempotent, so running the pipeline again after loading is
                        // safe even where part of it ran.
                        self.scripts.sweep.load(connection.get())?;
                        batch_over(&mut connection, &mut extra, batch())?
                    }
                    other => other?,
                };
            let mut next = Vec::new();
            for (&(partition, kept), (removed, foreign, kept_now, more)) in
                pending.iter().zip(answers)
            {
                report.removed += removed;
                report.foreign += foreign;
                if more == 1 {
                    next.push((partition, kept + kept_now));
                }
            }
            pending = next;
        }
        self.foreign.fetch_add(report.foreign as u64, Ordering::Relaxed);
        Ok(report)
    }
}

/// The score bounds of one sweep, as `sweep.lua` takes them.
struct SweepBounds {
    /// The threshold tick, padded: the exact recheck at the boundary compares with it.
    threshold: String,
    /// `ZRANGEBYSCORE`'s max for the entries that are expired by their score alone.
    trusted: String,
    /// The score whose entries are rechecked exactly; empty when there are none to recheck.
    boundary: String,
}

impl SweepBounds {
    /// Below 2^53 every tick is its own double, so "score <= threshold" is exact and there is
    /// no boundary. Above, several ticks round to the threshold's double: only the scores
    /// strictly below it are trusted (rounding is monotone, so a score below the threshold's
    /// means a tick below the threshold), and the entries at it are read.
    fn new(threshold: Tick) -> Self {
        const EXACT_BELOW: Tick = 1 << 53;
        let at = score(threshold);
        let (trusted, boundary) =
            if threshold < EXACT_BELOW { (at, String::new()) } else { (format!("({at}"), at) };
        Self { threshold: encode_tick(threshold), trusted, boundary }
    }
}

/// The tick an in-memory store would record for `now`: the activity word reserves
/// [`Activity::TOMBSTONE`], so ticks are clamped just below it. Mirrored here so the two kinds
/// of store agree on every input.
fn clamp(now: Tick) -> Tick {
    now.min(Activity::TOMBSTONE - 1)
}

impl FallibleSessionStore for RedisStore {
    type Error = RedisStoreError;

    fn try_insert(&self, id: SessionId, user: UserId, now: Tick) -> TryInsert<Self::Error> {
        let now = clamp(now);
        let stored: bool = self.call(
            &self.scripts.insert,
            &id,
            &[
                &user.0.to_string(),
                &encode_tick(now),
                &self.safety_net_ms,
                &id.to_string(),
                &score(now),
            ],
        )?;
        Ok(if stored { Ok(()) } else { Err(Occupied) })
    }

    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, Self::Error> {
        // As in `Activity::touch`: expiry is judged at the caller's `now`, the value stored is
        // clamped below the tombstone.
        let threshold = expiry_threshold(self.ttl, now).map(encode_tick).unwrap_or_default();
        let stored = clamp(now);
        let user: Option<Vec<u8>> = self.call(
            &self.scripts.touch,
            id,
            &[
                &encode_tick(stored),
                &threshold,
                &self.safety_net_ms,
                &id.to_string(),
                &score(stored),
            ],
        )?;
        self.parse_user(id, user)
    }

    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, Self::Error> {
        let user: Option<Vec<u8>> = self.call(&self.scripts.remove, id, &[&id.to_string()])?;
        self.parse_user(id, user)
    }

    fn try_sweep(&self, now: Tick) -> Result<usize, Self::Error> {
        Ok(self.sweep_report(now)?.removed)
    }

    fn try_len(&self) -> Result<usize, Self::Error> {
        let mut connection = self.connection()?;
        let counts: Vec<usize> = connection.batch(
            (0..self.layout.partitions())
                .map(|partition| {
                    let mut command = redis::cmd("ZCARD");
                    command.arg(self.layout.index_key(partition));
                    command
                })
                .collect(),
        )?;
        Ok(counts.into_iter().sum())
    }
}
