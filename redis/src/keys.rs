//! How sessions are laid out in Redis, and how ticks are written there.
//!
//! **Partitions.** Sessions are spread over `N` partitions ([`DEFAULT_PARTITIONS`] by default),
//! by a fixed hash of the session id's bytes (FNV-1a), so every process computes the same
//! partition for an id. Every key of partition `k` carries the hash tag `{<prefix>p<k>}`: Redis
//! Cluster puts all keys with one tag in one hash slot, so each script, which touches one
//! session and its partition's index, touches keys of one slot and runs unchanged on a
//! cluster. The partitions spread the sessions over the cluster's masters.
//!
//! **Keys of partition `k`**, with the default prefix `sessionlab:session:`:
//!
//! | key | type | what |
//! |---|---|---|
//! | `{sessionlab:session:p7}:s:<session id>` | hash | fields `user` (decimal), `last` (tick, below) |
//! | `{sessionlab:session:p7}:expiry` | sorted set | member: session id; score: `last` |
//!
//! The **expiry index** holds every session of the partition, scored by its last activity, and
//! is written in the same script as the session (insert, touch, remove, sweep), so the two never
//! disagree. A sweep asks the index for the expired entries (`ZRANGEBYSCORE -inf
//! <threshold>`), in bounded batches, and deletes them in its script, trusting the score (see
//! `sweep.lua` for why that is exact): its cost follows the expired sessions, not the sessions
//! that exist. `len` is the sum of the indexes' `ZCARD`s.
//!
//! The prefix is the store's namespace: two stores with different prefixes share a server
//! without seeing each other's sessions, which is how the tests give every run its own store.
//! It may not contain `{` or `}` (the tag must be the store's own). `redis-cli --scan --pattern
//! '{sessionlab:session:p*'` lists the keys.
//!
//! **Ticks.** A tick is a `u64`, but Lua 5.1 (inside Redis) counts in doubles, exact only below
//! 2^53. So `last` is stored as a 20-digit zero-padded decimal, the scripts compare two ticks
//! as two exact 10-digit halves, and no tick arithmetic happens on the server at all: the
//! caller turns "expired at `now`" into one threshold tick (by binary search over the core's
//! [`is_expired`], which is monotone in `last_active`) before the call. The index's score is
//! the tick rounded to a double. Below 2^53 that is exact, so `score <= threshold` is exactly
//! "expired". Above, rounding is monotone: a score strictly below the threshold's double is a
//! tick below the threshold, and only the entries at that double, which may hold ticks on
//! both sides of it, are read and rechecked in 20 digits (possible only above 2^53, where Unix
//! milliseconds will not be for 285,000 years).

use sessionlab::activity::is_expired;
use sessionlab::{SessionId, Tick};

/// The key prefix a store uses unless told otherwise.
pub const DEFAULT_PREFIX: &str = "sessionlab:session:";

/// The number of partitions a store uses unless told otherwise: enough to spread over a
/// cluster's masters, few enough that a sweep's one call per partition stays cheap.
pub const DEFAULT_PARTITIONS: u16 = 16;

/// The key names of one store: its prefix and partition count.
#[derive(Debug, Clone)]
pub(crate) struct Layout {
    prefix: String,
    partitions: u16,
}

impl Layout {
    /// `None` if the prefix holds a brace or there are no partitions.
    pub(crate) fn new(prefix: &str, partitions: u16) -> Option<Self> {
        if prefix.contains(['{', '}']) || partitions == 0 {
            return None;
        }
        Some(Self { prefix: prefix.to_owned(), partitions })
    }

    pub(crate) fn prefix(&self) -> &str {
        &self.prefix
    }

    pub(crate) fn partitions(&self) -> u16 {
        self.partitions
    }

    /// The partition of `id`: FNV-1a over its 16 bytes, modulo the partition count. Fixed, so
    /// every process agrees.
    pub(crate) fn partition(&self, id: &SessionId) -> u16 {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in id.as_bytes() {
            hash ^= u64::from(*byte);
            hash = hash.wrapping_mul(0x0100_0000_01b3);
        }
        u16::try_from(hash % u64::from(self.partitions)).expect("below a u16")
    }

    /// `{<prefix>p<k>}`: the hash tag every key of partition `k` starts with.
    pub(crate) fn tag(&self, partition: u16) -> String {
        format!("{{{}p{partition}}}", self.prefix)
    }

    /// What a session key of partition `k` starts with; the id follows.
    pub(crate) fn session_key_start(&self, partition: u16) -> String {
        format!("{}:s:", self.tag(partition))
    }

    /// The key of session `id`.
    pub(crate) fn session_key(&self, id: &SessionId) -> String {
        format!("{}{id}", self.session_key_start(self.partition(id)))
    }

    /// The expiry index of partition `k`.
    pub(crate) fn index_key(&self, partition: u16) -> String {
        format!("{}:expiry", self.tag(partition))
    }
}

/// A tick as the index scores it: the nearest double, as Redis would parse it.
pub(crate) fn score(tick: Tick) -> String {
    #[allow(clippy::cast_precision_loss)] // the sweep rechecks the threshold's own double
    let score = tick as f64;
    format!("{score}")
}

/// A tick as the scripts store and compare it: 20 digits, zero-padded.
pub(crate) fn encode_tick(tick: Tick) -> String {
    format!("{tick:020}")
}

/// The largest `last_active` that is expired at `now`, or `None` if no session can be.
///
/// Expiry is monotone in `last_active` (a later activity never expires sooner), so "expired at
/// `now`" is exactly "`last_active <= threshold`". The threshold is found by binary search
/// over the core's own [`is_expired`], so the server applies the very definition the
/// in-memory stores use, overflow rules included, without a second copy of it in Lua.
pub(crate) fn expiry_threshold(ttl: u64, now: Tick) -> Option<Tick> {
    if !is_expired(0, ttl, now) {
        return None;
    }
    // Invariant: `low` is expired, everything above `high` is live.
    let (mut low, mut high) = (0u64, u64::MAX);
    while low < high {
        let mid = low + (high - low).div_ceil(2);
        if is_expired(mid, ttl, now) {
            low = mid;
        } else {
            high = mid - 1;
        }
    }
    Some(low)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ticks_are_fixed_width() {
        assert_eq!(encode_tick(0), "00000000000000000000");
        assert_eq!(encode_tick(u64::MAX), "18446744073709551615");
        assert_eq!(encode_tick(42).len(), 20);
    }

    #[test]
    fn threshold_agrees_with_is_expired() {
        for (ttl, now) in
            [(10, 0), (10, 9), (10, 10), (10, 11), (0, 0), (0, 5), (u64::MAX, u64::MAX)]
        {
            match expiry_threshold(ttl, now) {
                None => assert!(!is_expired(0, ttl, now), "ttl {ttl} now {now}"),
                Some(t) => {
                    assert!(is_expired(t, ttl, now), "ttl {ttl} now {now}");
                    if t < u64::MAX {
                        assert!(!is_expired(t + 1, ttl, now), "ttl {ttl} now {now}");
                    }
                }
            }
        }
        assert_eq!(expiry_threshold(10, 25), Some(15));
        assert_eq!(expiry_threshold(10, 9), None);
    }

    #[test]
    fn every_key_of_a_session_shares_its_partition_tag() {
        let layout = Layout::new(DEFAULT_PREFIX, 16).unwrap();
        let id = SessionId::fixed(1);
        let p = layout.partition(&id);
        assert!(p < 16);
        assert_eq!(
            layout.session_key(&id),
            format!("{{sessionlab:session:p{p}}}:s:00000000-0000-4000-8000-000000000001")
        );
        assert_eq!(layout.index_key(p), format!("{{sessionlab:session:p{p}}}:expiry"));
        assert!(Layout::new("a{b", 16).is_none());
        assert!(Layout::new("ab", 0).is_none());
    }

    #[test]
    fn ids_spread_over_every_partition() {
        let layout = Layout::new(DEFAULT_PREFIX, 16).unwrap();
        let mut counts = [0u32; 16];
        for n in 0..1_600 {
            counts[usize::from(layout.partition(&SessionId::fixed(n)))] += 1;
        }
        assert!(counts.iter().all(|&c| (50..=150).contains(&c)), "{counts:?}");
    }

    #[test]
    fn scores_round_monotonically() {
        let ticks = [0, 1, 1 << 53, (1 << 53) + 1, (1 << 53) + 2, u64::MAX - 1, u64::MAX];
        for pair in ticks.windows(2) {
            let (a, b): (f64, f64) =
                (score(pair[0]).parse().unwrap(), score(pair[1]).parse().unwrap());
            assert!(a <= b, "{pair:?}");
        }
        assert_eq!(score(1_234), "1234");
    }
}
