//! How sessions are laid out in Redis, and how ticks are written there.
//!
//! **Keys.** One Redis hash per session, named `<prefix><session id>`, for example
//! `sessionlab:session:6f1c9a52-3b7e-4d21-9a0c-5e8f7b2d4c13`. The prefix (default
//! [`DEFAULT_PREFIX`]) is the store's namespace: two stores with different prefixes share a
//! server without seeing each other's sessions, which is how the tests give every run its own
//! store. Fields: `user` (the user id in decimal) and `last` (the last-activity tick, see
//! below). `redis-cli --scan --pattern 'sessionlab:session:*'` lists them.
//!
//! **Ticks.** A tick is a `u64`, but Lua 5.1 (inside Redis) counts in doubles, exact only below
//! 2^53. So `last` is stored as a 20-digit zero-padded decimal, the scripts compare two ticks
//! as two exact 10-digit halves, and no tick arithmetic happens on the server at all: the
//! caller turns "expired at `now`" into one threshold tick (by binary search over the core's
//! [`is_expired`], which is monotone in `last_active`) before the call.

use sessionlab::Tick;
use sessionlab::activity::is_expired;

/// The key prefix a store uses unless told otherwise.
pub const DEFAULT_PREFIX: &str = "sessionlab:session:";

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

/// Escapes the glob characters of `prefix` for `SCAN ... MATCH`, so that a prefix holding
/// `*`, `?`, `[` or `\` matches only itself.
pub(crate) fn match_pattern(prefix: &str) -> String {
    let mut pattern = String::with_capacity(prefix.len() + 1);
    for c in prefix.chars() {
        if matches!(c, '*' | '?' | '[' | ']' | '\\') {
            pattern.push('\\');
        }
        pattern.push(c);
    }
    pattern.push('*');
    pattern
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
    fn prefixes_with_glob_characters_match_only_themselves() {
        assert_eq!(match_pattern("a*b?[c]\\:"), "a\\*b\\?\\[c\\]\\\\:*");
        assert_eq!(match_pattern(DEFAULT_PREFIX), "sessionlab:session:*");
    }
}
