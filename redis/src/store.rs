//! `RedisStore`: sessions in a Redis server, shared by every web server that talks to it.
//!
//! **Technique.** One Redis hash per session (layout in [`keys`](crate::keys)); every operation
//! is one Lua script ([`scripts`](crate::scripts)), and a script is the unit of atomicity on a
//! Redis server, which runs one command at a time. Connections come from an r2d2 pool, so
//! threads of one process run their calls in parallel up to the pool size; the server still
//! runs them one at a time.
//!
//! **Invariant.** Every operation on one id is a single script on the one key for that id, so
//! the server's one-command-at-a-time execution linearizes them: touch and sweep can never both
//! win, of two removes exactly one gets the user, and insert never overwrites. A sweep is a
//! `SCAN` over the prefix with the expiry check run per page by a script, so each key is
//! checked and deleted in one atomic step, and `SCAN`'s guarantee (every key present for the
//! whole scan is returned) gives "a session expired throughout the call is gone when it
//! returns".
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
//! as that assumption holds; the sweep stays the thing that removes them on time.
//!
//! **Cost.** One network round trip per operation (plus two per 250 keys for a sweep's
//! `SCAN` pages); see the lesson for the measured ratio to the in-memory stores.
//!
//! **Where it breaks.** The server is a single point of failure: when it is down every call
//! returns a [`RedisStoreError`]. A call whose connection drops after sending has an unknown
//! outcome. After a restart, each pooled connection that went stale fails one call before the
//! pool replaces it. `len` counts with `SCAN`, so it is exact only when no call is in flight,
//! and it does not count sessions the safety net has already removed.

use crate::error::RedisStoreError;
use crate::keys::{self, DEFAULT_PREFIX, encode_tick, expiry_threshold};
use crate::scripts::Scripts;
use r2d2::{CustomizeConnection, Pool, PooledConnection};
use redis::Client;
use sessionlab::activity::Activity;
use sessionlab::{Config, FallibleSessionStore, Occupied, SessionId, Tick, UserId};
use std::collections::HashSet;
use std::time::Duration;

/// Keys per `SCAN` page, and so per sweep script call. A script holds the whole server while it
/// runs (Redis runs one command at a time), and the sweep script costs ~7 µs per key on the lab
/// machine, so a page of 250 stalls every other client for ~2 ms at most; 100k sessions take
/// ~400 pages, whose extra round trips (~30 µs each) add ~25 ms to the sweep.
const SCAN_PAGE: usize = 250;

/// Above this the safety-net TTL is left off: a key that outlives a decade needs no net, and
/// `PEXPIRE` refuses values whose deadline overflows.
const MAX_SAFETY_NET_MS: u64 = 10 * 365 * 24 * 60 * 60 * 1000;

/// How a [`RedisStore`] connects and names its keys.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RedisOptions {
    /// The key prefix ([`DEFAULT_PREFIX`] by default); see [`keys`](crate::keys).
    pub prefix: String,
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
}

impl Default for RedisOptions {
    /// The default prefix, a one-hour safety margin, 16 connections, 2 s to connect, 5 s per
    /// read or write.
    fn default() -> Self {
        Self {
            prefix: DEFAULT_PREFIX.to_owned(),
            safety_margin: Some(Duration::from_secs(60 * 60)),
            pool_size: 16,
            connect_timeout: Duration::from_secs(2),
            io_timeout: Duration::from_secs(5),
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

/// Sets the read and write timeouts on every connection the pool opens.
#[derive(Debug)]
struct IoTimeouts(Duration);

impl CustomizeConnection<redis::Connection, redis::RedisError> for IoTimeouts {
    fn on_acquire(&self, connection: &mut redis::Connection) -> Result<(), redis::RedisError> {
        // The socket API refuses a zero timeout; zero here means "wait forever".
        let timeout = Some(self.0).filter(|timeout| !timeout.is_zero());
        connection.set_read_timeout(timeout)?;
        connection.set_write_timeout(timeout)
    }
}

/// A session store in a Redis server. It implements [`FallibleSessionStore`] (every call can
/// fail with a [`RedisStoreError`]), not `SessionStore`; wrap it in
/// [`Unwrapped`](crate::Unwrapped) to hand it to a test harness written for in-memory stores.
pub struct RedisStore {
    pool: Pool<Client>,
    scripts: Scripts,
    prefix: String,
    pattern: String,
    ttl: u64,
    /// The safety-net TTL in ms, as the scripts take it ("0": none).
    safety_net_ms: String,
}

impl RedisStore {
    /// Connects to the server at `url` (e.g. `redis://127.0.0.1:6379/`) with the default
    /// [`RedisOptions`]. Fails if the URL is malformed or the server does not answer a `PING`.
    pub fn connect(url: &str, config: &Config) -> Result<Self, RedisStoreError> {
        Self::connect_with(url, config, RedisOptions::default())
    }

    /// Connects with `options`. Fails if the URL is malformed or the server does not answer a
    /// `PING` within the connect timeout.
    pub fn connect_with(
        url: &str,
        config: &Config,
        options: RedisOptions,
    ) -> Result<Self, RedisStoreError> {
        let client = Client::open(url)?;
        // `min_idle(0)`: connections open on demand, so building the pool never blocks; the
        // PING below is the one place a missing server is reported at startup.
        // `test_on_check_out(false)`: r2d2 would otherwise PING before every call, doubling
        // the round trips; a dead connection is detected by the call that uses it instead.
        let pool = Pool::builder()
            .max_size(options.pool_size.max(1))
            .min_idle(Some(0))
            .test_on_check_out(false)
            .connection_timeout(options.connect_timeout)
            .connection_customizer(Box::new(IoTimeouts(options.io_timeout)))
            .build_unchecked(client);
        let safety_net_ms = match options.safety_margin {
            None => 0,
            Some(margin) => {
                let margin = u64::try_from(margin.as_millis()).unwrap_or(u64::MAX);
                let ms = config.ttl.saturating_add(margin);
                if ms > MAX_SAFETY_NET_MS { 0 } else { ms }
            }
        };
        let store = Self {
            pool,
            scripts: Scripts::new(),
            pattern: keys::match_pattern(&options.prefix),
            prefix: options.prefix,
            ttl: config.ttl,
            safety_net_ms: safety_net_ms.to_string(),
        };
        store.ping()?;
        Ok(store)
    }

    /// Round-trips a `PING`: whether the server answers now.
    pub fn ping(&self) -> Result<(), RedisStoreError> {
        let mut connection = self.connection()?;
        redis::cmd("PING").query::<()>(&mut *connection)?;
        Ok(())
    }

    /// The key prefix this store uses.
    pub fn prefix(&self) -> &str {
        &self.prefix
    }

    /// The Redis key that holds session `id`.
    pub fn key(&self, id: &SessionId) -> String {
        format!("{}{id}", self.prefix)
    }

    /// Deletes every key under this store's prefix (sessions expired or not) and returns how
    /// many it deleted. For tests and resets; sessions of other prefixes are untouched.
    pub fn clear(&self) -> Result<usize, RedisStoreError> {
        let mut connection = self.connection()?;
        let mut deleted = 0;
        self.scan(&mut connection, |connection, page| {
            deleted += redis::cmd("DEL").arg(page).query::<usize>(connection)?;
            Ok(())
        })?;
        Ok(deleted)
    }

    /// The connection pool, for the user directory on the same server.
    pub(crate) fn pool(&self) -> &Pool<Client> {
        &self.pool
    }

    fn connection(&self) -> Result<PooledConnection<Client>, RedisStoreError> {
        Ok(self.pool.get()?)
    }

    /// Walks the keys under the prefix one `SCAN` page at a time (a key may come twice: `SCAN`
    /// promises every key present throughout, not each key once).
    fn scan(
        &self,
        connection: &mut redis::Connection,
        mut on_page: impl FnMut(&mut redis::Connection, &[String]) -> Result<(), RedisStoreError>,
    ) -> Result<(), RedisStoreError> {
        let mut cursor = 0u64;
        loop {
            let (next, page): (u64, Vec<String>) = redis::cmd("SCAN")
                .arg(cursor)
                .arg("MATCH")
                .arg(&self.pattern)
                .arg("COUNT")
                .arg(SCAN_PAGE)
                .arg("TYPE")
                .arg("hash")
                .query(connection)?;
            if !page.is_empty() {
                on_page(connection, &page)?;
            }
            if next == 0 {
                return Ok(());
            }
            cursor = next;
        }
    }

    fn parse_user(
        &self,
        id: &SessionId,
        user: Option<String>,
    ) -> Result<Option<UserId>, RedisStoreError> {
        user.map(|text| {
            text.parse().map(UserId).map_err(|_| RedisStoreError::Corrupt {
                key: self.key(id),
                detail: format!("user field {text:?} is not a u64"),
            })
        })
        .transpose()
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

    fn try_insert(
        &self,
        id: SessionId,
        user: UserId,
        now: Tick,
    ) -> Result<Result<(), Occupied>, Self::Error> {
        let mut connection = self.connection()?;
        let stored: bool = self
            .scripts
            .insert
            .key(self.key(&id))
            .arg(user.0)
            .arg(encode_tick(clamp(now)))
            .arg(&self.safety_net_ms)
            .invoke(&mut *connection)?;
        Ok(if stored { Ok(()) } else { Err(Occupied) })
    }

    fn try_touch(&self, id: &SessionId, now: Tick) -> Result<Option<UserId>, Self::Error> {
        // As in `Activity::touch`: expiry is judged at the caller's `now`, the value stored is
        // clamped below the tombstone.
        let threshold = expiry_threshold(self.ttl, now).map(encode_tick).unwrap_or_default();
        let mut connection = self.connection()?;
        let user: Option<String> = self
            .scripts
            .touch
            .key(self.key(id))
            .arg(encode_tick(clamp(now)))
            .arg(threshold)
            .arg(&self.safety_net_ms)
            .invoke(&mut *connection)?;
        self.parse_user(id, user)
    }

    fn try_remove(&self, id: &SessionId) -> Result<Option<UserId>, Self::Error> {
        let mut connection = self.connection()?;
        let user: Option<String> =
            self.scripts.remove.key(self.key(id)).invoke(&mut *connection)?;
        self.parse_user(id, user)
    }

    fn try_sweep(&self, now: Tick) -> Result<usize, Self::Error> {
        let Some(threshold) = expiry_threshold(self.ttl, now) else {
            return Ok(0); // nothing can be expired yet: no need to walk the keys
        };
        let threshold = encode_tick(threshold);
        let mut connection = self.connection()?;
        let mut removed = 0;
        self.scan(&mut connection, |connection, page| {
            let mut call = self.scripts.sweep.prepare_invoke();
            call.arg(&threshold);
            for key in page {
                call.key(key);
            }
            removed += call.invoke::<usize>(connection)?;
            Ok(())
        })?;
        Ok(removed)
    }

    fn try_len(&self) -> Result<usize, Self::Error> {
        let mut connection = self.connection()?;
        let mut seen = HashSet::new();
        self.scan(&mut connection, |_, page| {
            seen.extend(page.iter().cloned());
            Ok(())
        })?;
        Ok(seen.len())
    }
}
