//! The sequential rules: one thread walks through every rule of the specification
//! ([`docs::semantics`](crate::docs::semantics)), one check per rule.

use super::{CheckResult, TTL, Violation, ensure, id, user, violation};
use crate::id::SessionId;
use crate::store::{Config, Occupied, SessionStore};

/// A fresh session answers a touch with its user, and `len` counts it.
pub fn insert_then_touch<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "insert_then_touch";
    let store = make(&Config::new(TTL));
    ensure!(CHECK, store.is_empty(), "a new store has len {}", store.len());
    ensure!(CHECK, store.insert(id(1), user(7), 0).is_ok(), "insert into an empty store failed");
    ensure!(CHECK, store.len() == 1, "len after one insert is {}", store.len());
    let got = store.touch(&id(1), 10);
    ensure!(
        CHECK,
        got == Some(user(7)),
        "touch of a live session returned {got:?}, not Some(user-7)"
    );
    Ok(())
}

/// Insert never overwrites: a present id, live or expired, gives `Err(Occupied)` and keeps
/// its user and activity.
pub fn insert_never_overwrites<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "insert_never_overwrites";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "first insert failed"))?;
    let again = store.insert(id(1), user(2), 50);
    ensure!(CHECK, again == Err(Occupied), "insert of a live id returned {again:?}");
    let expired_again = store.insert(id(1), user(3), 500);
    ensure!(
        CHECK,
        expired_again == Err(Occupied),
        "insert of an expired, unswept id returned {expired_again:?}"
    );
    ensure!(CHECK, store.len() == 1, "len is {} after refused inserts", store.len());
    // The refused inserts must not have refreshed the activity: expired at 100, as inserted.
    let touched = store.touch(&id(1), TTL);
    ensure!(
        CHECK,
        touched.is_none(),
        "touch at ttl returned {touched:?}, but the session was inserted at 0 and so expired \
         at ttl: either a refused insert moved its activity, or touch revives an expired \
         session (if `expired_is_never_revived` fails too, fix touch first)"
    );
    let removed = store.remove(&id(1));
    ensure!(
        CHECK,
        removed == Some(user(1)),
        "the refused inserts changed the user: remove returned {removed:?}"
    );
    Ok(())
}

/// Touching an absent id returns `None` and creates nothing.
pub fn touch_absent_is_none<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "touch_absent_is_none";
    let store = make(&Config::new(TTL));
    let got = store.touch(&id(9), 0);
    ensure!(CHECK, got.is_none(), "touch of an absent id returned {got:?}");
    ensure!(
        CHECK,
        store.is_empty(),
        "touch of an absent id created something (len {})",
        store.len()
    );
    Ok(())
}

/// A session expires exactly at `last_active + ttl`, and an expired session is never revived,
/// not even by a touch with an older time afterwards.
pub fn expired_is_never_revived<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "expired_is_never_revived";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    let just_before = store.touch(&id(1), TTL - 1);
    ensure!(CHECK, just_before == Some(user(1)), "touch at ttl - 1 returned {just_before:?}");
    // Last active at 99 now: expired at 199.
    let at_expiry = store.touch(&id(1), 2 * TTL - 1);
    ensure!(
        CHECK,
        at_expiry.is_none(),
        "touch at last_active + ttl returned {at_expiry:?}: expiry is at last + ttl"
    );
    let late = store.touch(&id(1), 10 * TTL);
    ensure!(CHECK, late.is_none(), "touch long after expiry returned {late:?}");
    let swept = store.sweep(2 * TTL - 1);
    ensure!(
        CHECK,
        swept == 1,
        "sweep at the expiry instant removed {swept}, not 1: the touches revived it"
    );
    Ok(())
}

/// Activity never moves backwards: a touch with an older time keeps the newer one.
pub fn touch_never_moves_backwards<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "touch_never_moves_backwards";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    ensure!(CHECK, store.touch(&id(1), 80).is_some(), "touch at 80 failed");
    let older = store.touch(&id(1), 30);
    ensure!(
        CHECK,
        older == Some(user(1)),
        "touch with an older, still-live time returned {older:?}"
    );
    // Last active must still be 80: live at 179, expired at 180.
    let swept = store.sweep(179);
    ensure!(
        CHECK,
        swept == 0,
        "sweep at 179 removed {swept}: the older touch moved activity back to 30"
    );
    ensure!(CHECK, store.touch(&id(1), 179).is_some(), "session last active at 80 was dead at 179");
    Ok(())
}

/// Remove returns the user once; a second remove returns `None`; an expired but unswept
/// session is still present and can be removed.
pub fn remove_returns_user_once<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "remove_returns_user_once";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    store.insert(id(2), user(2), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    let first = store.remove(&id(1));
    ensure!(CHECK, first == Some(user(1)), "remove of a present id returned {first:?}");
    let second = store.remove(&id(1));
    ensure!(CHECK, second.is_none(), "second remove returned {second:?}");
    ensure!(CHECK, store.touch(&id(1), 1).is_none(), "a removed session answered a touch");
    // id 2 has been idle for longer than the ttl but is not swept: remove takes no time and
    // still finds it. (No touch here: this check is about remove, and a touch at ttl would
    // blame remove for a touch that revives.)
    let expired = store.remove(&id(2));
    ensure!(
        CHECK,
        expired == Some(user(2)),
        "remove of an expired, unswept session returned {expired:?}"
    );
    ensure!(CHECK, store.is_empty(), "len {} after removing everything", store.len());
    Ok(())
}

/// An id is free again after remove and after sweep.
pub fn ids_are_reusable<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "ids_are_reusable";
    let store = make(&Config::new(TTL));
    store.insert(id(1), user(1), 0).map_err(|_| violation(CHECK, "insert failed"))?;
    store.remove(&id(1));
    let after_remove = store.insert(id(1), user(2), 10);
    ensure!(CHECK, after_remove.is_ok(), "insert after remove returned {after_remove:?}");
    ensure!(
        CHECK,
        store.touch(&id(1), 20) == Some(user(2)),
        "the reinserted session has the wrong user"
    );
    store.sweep(1000);
    let after_sweep = store.insert(id(1), user(3), 1000);
    ensure!(CHECK, after_sweep.is_ok(), "insert after sweep returned {after_sweep:?}");
    ensure!(
        CHECK,
        store.touch(&id(1), 1001) == Some(user(3)),
        "the reinserted session has the wrong user"
    );
    Ok(())
}

/// Sweep removes exactly the sessions expired at `now`, counts them, and keeps the rest; `len`
/// counts expired sessions until they are swept.
pub fn sweep_removes_exactly_the_expired<S: SessionStore>(
    make: &dyn Fn(&Config) -> S,
) -> CheckResult {
    const CHECK: &str = "sweep_removes_exactly_the_expired";
    let store = make(&Config::new(TTL).with_shards(4));
    // Sessions 0..50 last active at 0 (expired at 100), 50..100 at 50 (expired at 150).
    for n in 0..100 {
        let start = if n < 50 { 0 } else { 50 };
        store.insert(id(n), user(n), start).map_err(|_| violation(CHECK, "insert failed"))?;
    }
    ensure!(CHECK, store.sweep(99) == 0, "sweep before any expiry removed something");
    ensure!(CHECK, store.len() == 100, "len is {} before any sweep, not 100", store.len());
    let first = store.sweep(100);
    ensure!(CHECK, first == 50, "sweep at 100 removed {first}, not the 50 expired at 100");
    ensure!(CHECK, store.len() == 50, "len after the first sweep is {}, not 50", store.len());
    for n in 50..100 {
        ensure!(
            CHECK,
            store.touch(&id(n), 149) == Some(user(n)),
            "live session {n} was swept or lost"
        );
    }
    // Touched at 149: now expired at 249.
    ensure!(CHECK, store.sweep(248) == 0, "sweep at 248 removed sessions touched at 149");
    let second = store.sweep(249);
    ensure!(CHECK, second == 50, "sweep at 249 removed {second}, not 50");
    ensure!(
        CHECK,
        store.is_empty() && store.sweep(10_000) == 0,
        "store not empty after sweeping everything"
    );
    Ok(())
}

/// `create` gives a fresh id each time and stores the session.
pub fn create_gives_fresh_ids<S: SessionStore>(make: &dyn Fn(&Config) -> S) -> CheckResult {
    const CHECK: &str = "create_gives_fresh_ids";
    let store = make(&Config::new(TTL));
    let ids: Vec<SessionId> = (0..100).map(|n| store.create(user(n), 0)).collect();
    let mut unique = ids.clone();
    unique.sort();
    unique.dedup();
    ensure!(CHECK, unique.len() == 100, "create returned a duplicate id");
    ensure!(CHECK, store.len() == 100, "len is {} after 100 creates", store.len());
    for (n, id) in ids.iter().enumerate() {
        ensure!(
            CHECK,
            store.touch(id, 1) == Some(user(n as u64)),
            "created session {n} has the wrong user"
        );
    }
    Ok(())
}
