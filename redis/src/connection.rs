//! Where a store's connections come from: one Redis server, or a Redis Cluster.
//!
//! Both are r2d2 pools, so the threads of one process run their calls in parallel up to the
//! pool size. A pooled cluster connection knows the slot map and sends each command to the
//! master that owns its key's slot (following `MOVED` redirects after a resharding or a
//! failover); the store's scripts each touch one slot, so each runs on one master.

use crate::error::RedisStoreError;
use r2d2::{CustomizeConnection, Pool, PooledConnection};
use redis::cluster::ClusterClient;
use redis::{Client, Cmd, ConnectionLike, FromRedisValue, RedisResult};
use std::time::Duration;

/// A pool of connections to one server or to a cluster.
#[derive(Clone)]
pub(crate) enum Connections {
    Single(Pool<Client>),
    Cluster(Pool<ClusterClient>),
}

/// One connection taken from [`Connections`], returned to the pool when dropped.
// It lives on the stack for one call; boxing the cluster variant would allocate per call.
#[allow(clippy::large_enum_variant)]
pub(crate) enum Connection {
    Single(PooledConnection<Client>),
    Cluster(PooledConnection<ClusterClient>),
}

impl Connection {
    /// The connection, as the redis crate's commands and scripts take it.
    pub(crate) fn get(&mut self) -> &mut dyn ConnectionLike {
        match self {
            Self::Single(connection) => &mut **connection,
            Self::Cluster(connection) => &mut **connection,
        }
    }

    /// Runs `commands` and returns their answers in order: in one pipeline (one round trip) on
    /// a single server; one by one on a cluster. (The redis crate's cluster pipeline, one round
    /// trip per master, was tried: after a master's restart the first calls through it failed
    /// where single commands recover; see the README's "Measured".) The first failing command
    /// fails the batch.
    pub(crate) fn batch<T: FromRedisValue>(&mut self, commands: Vec<Cmd>) -> RedisResult<Vec<T>> {
        match self {
            Self::Single(connection) => {
                let mut pipe = redis::pipe();
                for command in commands {
                    pipe.add_command(command);
                }
                pipe.query(&mut **connection)
            }
            Self::Cluster(connection) => {
                commands.iter().map(|command| command.query(&mut **connection)).collect()
            }
        }
    }
}

/// How a pool is built: the subset of [`RedisOptions`](crate::RedisOptions) it needs.
pub(crate) struct PoolOptions {
    pub size: u32,
    pub connect_timeout: Duration,
    pub io_timeout: Duration,
}

/// The seed nodes of a cluster URL, or `None` for a single server's URL.
///
/// A cluster is named by `redis+cluster://host:port[,host:port...]` or by a comma-separated
/// list of `redis://host:port/` URLs; the client learns the other nodes from any seed.
pub(crate) fn cluster_seeds(url: &str) -> Option<Vec<String>> {
    if let Some(nodes) = url.strip_prefix("redis+cluster://") {
        let nodes = nodes.trim_end_matches('/');
        return Some(
            nodes
                .split(',')
                .filter(|node| !node.is_empty())
                .map(|node| format!("redis://{}/", node.trim_end_matches('/')))
                .collect(),
        );
    }
    url.contains(',').then(|| {
        url.split(',').map(str::trim).filter(|node| !node.is_empty()).map(str::to_owned).collect()
    })
}

impl Connections {
    /// A pool for `url` (a server, or a cluster's seed nodes: see [`cluster_seeds`]). Opens no
    /// connection yet.
    pub(crate) fn open(url: &str, options: &PoolOptions) -> Result<Self, RedisStoreError> {
        // `min_idle(0)`: connections open on demand, so building the pool never blocks; the
        // store's PING at connect is the one place a missing server is reported at startup.
        // `test_on_check_out(false)`: r2d2 would otherwise PING before every call, doubling
        // the round trips; a dead connection is detected by the call that uses it instead.
        fn builder<M: r2d2::ManageConnection>(options: &PoolOptions) -> r2d2::Builder<M> {
            Pool::builder()
                .max_size(options.size.max(1))
                .min_idle(Some(0))
                .test_on_check_out(false)
                .connection_timeout(options.connect_timeout)
        }
        // Zero means "no limit"; the redis crate takes `None` for that.
        let io_timeout = Some(options.io_timeout).filter(|timeout| !timeout.is_zero());
        match cluster_seeds(url) {
            None => {
                let client = Client::open(url)?;
                Ok(Self::Single(
                    builder(options)
                        .connection_customizer(Box::new(IoTimeouts(io_timeout)))
                        .build_unchecked(client),
                ))
            }
            Some(seeds) if seeds.is_empty() => {
                Err(RedisStoreError::Options(format!("no cluster node in {url:?}")))
            }
            Some(seeds) => {
                let mut client = ClusterClient::builder(seeds)
                    .connection_timeout(options.connect_timeout)
                    // Redirects (`MOVED`, `ASK`) are retried; they are safe, the command did
                    // not run. Two retries bound how long a call waits on a dead master.
                    .retries(2);
                if let Some(timeout) = io_timeout {
                    client = client.response_timeout(timeout);
                }
                Ok(Self::Cluster(builder(options).build_unchecked(client.build()?)))
            }
        }
    }

    /// A connection, waiting at most the connect timeout.
    pub(crate) fn get(&self) -> Result<Connection, RedisStoreError> {
        Ok(match self {
            Self::Single(pool) => Connection::Single(pool.get()?),
            Self::Cluster(pool) => Connection::Cluster(pool.get()?),
        })
    }

    /// Whether this is a cluster.
    pub(crate) fn is_cluster(&self) -> bool {
        matches!(self, Self::Cluster(_))
    }

    /// Up to `wanted` more cluster connections, for a batch that spreads over masters (see
    /// [`batch_over`]): only what the pool can spare, an idle connection or room for a new
    /// one, so a busy pool gets fewer (none on a single server, whose batch is one pipeline
    /// anyway). Never waits longer than the connect timeout, and only where the pool had room.
    pub(crate) fn spare(&self, wanted: usize) -> Vec<Connection> {
        let Self::Cluster(pool) = self else { return Vec::new() };
        (0..wanted)
            .map_while(|_| {
                let state = pool.state();
                if state.idle_connections == 0 && state.connections >= pool.max_size() {
                    return None;
                }
                pool.get_timeout(pool.connection_timeout()).ok().map(Connection::Cluster)
            })
            .collect()
    }
}

/// Runs `commands` and returns their answers in order, like [`Connection::batch`], over
/// `first` and the `extra` connections at once: on a cluster, where a batch is one round trip
/// per command, the commands are cut into contiguous shares, one per connection, each run on
/// its own thread, so that round trips to different masters overlap. With no extra
/// connection, or on a single server (one pipeline, one round trip), it is
/// [`Connection::batch`]. The first failing share fails the batch; the other shares' commands
/// may have run, so a caller's batch must be safe to run again (the sweep's is).
pub(crate) fn batch_over<T: FromRedisValue + Send>(
    first: &mut Connection,
    extra: &mut [Connection],
    commands: Vec<Cmd>,
) -> RedisResult<Vec<T>> {
    if extra.is_empty() || matches!(first, Connection::Single(_)) {
        return first.batch(commands);
    }
    let share = commands.len().div_ceil(extra.len() + 1).max(1);
    std::thread::scope(|scope| {
        let shares: Vec<_> = commands
            .chunks(share)
            .zip(std::iter::once(first).chain(extra.iter_mut()))
            .map(|(chunk, connection)| scope.spawn(move || connection.batch(chunk.to_vec())))
            .collect();
        let mut answers = Vec::with_capacity(commands.len());
        for share in shares {
            answers.extend(share.join().expect("a batch thread panicked")?);
        }
        Ok(answers)
    })
}

/// Sets the read and write timeouts on every single-server connection the pool opens.
#[derive(Debug)]
struct IoTimeouts(Option<Duration>);

impl CustomizeConnection<redis::Connection, redis::RedisError> for IoTimeouts {
    fn on_acquire(&self, connection: &mut redis::Connection) -> Result<(), redis::RedisError> {
        connection.set_read_timeout(self.0)?;
        connection.set_write_timeout(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::cluster_seeds;

    #[test]
    fn cluster_urls_name_their_seeds() {
        assert_eq!(cluster_seeds("redis://127.0.0.1:6379/"), None);
        assert_eq!(
            cluster_seeds("redis+cluster://a:1,b:2/").unwrap(),
            ["redis://a:1/", "redis://b:2/"]
        );
        assert_eq!(
            cluster_seeds("redis://a:1/, redis://b:2/").unwrap(),
            ["redis://a:1/", "redis://b:2/"]
        );
        assert!(cluster_seeds("redis+cluster://").unwrap().is_empty());
    }
}
