//! # The specification
//!
//! What every session store in the lab promises, in one place. The trait
//! ([`SessionStore`]) states each rule at its method; this page states the whole contract
//! and why it is shaped this way. The sequential model
//! ([`check::model`](crate::check::model)) is the same contract written as the plainest code,
//! and every checker compares stores with it: the [conformance
//! suite](crate::check::conformance), the [linearizability checker](crate::check::history),
//! the loom scenarios (`check::loom`, under `--cfg loom`), the exercise grader, and the Redis
//! store's tests.
//!
//! A store is a map `session id -> (user, last activity)`. Time is a [`Tick`] (milliseconds on
//! the caller's clock) and every store is built with one time-to-live, `ttl`, in ticks.
//!
//! ## Expiry
//!
//! A session last active at `last_active` is **expired** at `now` when
//!
//! ```text
//! last_active + ttl <= now
//! ```
//!
//! and **live** otherwise. The sum saturates, so a huge ttl lasts until the end of time. There
//! is one definition, [`is_expired`], and every store, the model and every checker call it. An
//! expired session that no sweep has removed yet is still *stored* (it counts in `len`), but
//! no operation treats it as live.
//!
//! ## Insert never overwrites
//!
//! [`insert(id, user, now)`](crate::SessionStore::insert) stores `(user, now)` if `id` is absent, and
//! returns [`Occupied`] without changing anything if `id` is present, **expired or not**. A
//! login must never replace someone else's session, and "expired" is a judgement at some
//! `now` that another thread may not share. [`create`](crate::SessionStore::create) draws a fresh
//! random id and retries on the (astronomically unlikely) collision.
//!
//! ## Touch
//!
//! [`touch(id, now)`](crate::SessionStore::touch) is a request on a session. If `id` is present and
//! live at `now`, it records the activity and returns the user; otherwise it returns `None`
//! and changes nothing. Two rules make it safe to race:
//!
//! * **Touch never revives.** A session expired at `now` stays expired, even if no sweep has
//!   removed it yet. Otherwise a request arriving just after expiry would race the sweep, and
//!   whether the user is logged out would depend on which thread ran first.
//! * **Activity never moves backwards.** `last_active` becomes `max(last_active, now)`.
//!   Threads read the clock at different moments and reach the store in any order, so a touch
//!   can carry an older `now` than one that already landed; it must not shorten the session.
//!
//! ## Two removes, one winner
//!
//! [`remove(id)`](crate::SessionStore::remove) is a logout: it removes the session and returns its
//! user, or `None` if it was absent. Of two concurrent removes of one id, **exactly one** gets
//! `Some`. Deleting *is* writing: the Go lesson's claim that it is not is the first thing this
//! lab disproves ([`docs::misconceptions`](crate::docs::misconceptions)).
//!
//! ## Sweep
//!
//! [`sweep(now)`](crate::SessionStore::sweep) removes the sessions expired at `now` and returns how
//! many *this call* removed. It is **not one atomic step over the whole map** (neither is
//! dashmap's `retain`): each session is removed at an instant of its own, somewhere inside
//! the call. So:
//!
//! * a session live at the instant the sweep reaches it is never removed (a touch that won
//!   the race keeps it);
//! * a session expired throughout the call is gone when it returns;
//! * two sweeps never both count one session: the counts of concurrent sweeps add up to the
//!   number of sessions removed.
//!
//! ## `len`
//!
//! [`len`](crate::SessionStore::len) counts the sessions stored, expired-but-unswept included. It is
//! exact when no other call is in flight; concurrently it is some count between the map's
//! sizes before and after the calls in flight.
//!
//! ## Per-key linearizability
//!
//! Every operation on one id is **linearizable**: it takes effect at one instant between its
//! call and its return, and the results are those of the sequential model run in that order.
//! Linearizability is local (Herlihy and Wing), so a history is checked id by id; `sweep`
//! counts as one step per id it removed, each at its own instant, and a quiescent `len` as one
//! observation of every id. That is exactly what the [history checker](crate::check::history)
//! decides, and what the loom scenarios assert in every interleaving.
//!
//! ## The activity word and its tombstone
//!
//! The Go lesson makes every request a map write (`dbSessions[id] = s`). Here the last-activity
//! tick lives in an atomic inside the stored value, the [`Activity`] word, so a touch needs only
//! *read* access to the map plus a compare-and-swap on that word: a CAS to
//! `max(last_active, now)` that refuses an expired word. Requests then run in parallel under a
//! read lock, a shard's read lock, an arc-swap load or an epoch pin.
//!
//! One value of the word, [`Activity::TOMBSTONE`], means *removed*. A store that does not hold
//! a write lock over an entry while it removes it (copy-on-write, lock-free, Redis) first CASes
//! the word to the tombstone, and only then unlinks the entry. That CAS is the removal's
//! linearization point. A touch and a removal of one session are then two CASes on one word,
//! and every read-modify-write of one atomic is totally ordered, so they can never both win;
//! of two removes, or two sweeps, only one CAS succeeds.
//!
//! ## A tombstoned entry is absent to every operation
//!
//! Between the tombstone CAS and the unlink, the entry is still in the map, and every operation
//! must treat it as gone: touch returns `None`, remove returns `None`, insert may take the id
//! (it replaces the tombstoned entry), sweep skips it, and `len` does not count it. Otherwise
//! the interval between the two steps would be visible, and the removal would not be atomic.
//!
//! ## Poisoning
//!
//! A thread that panics while holding a std lock *poisons* it, and every later `lock()` returns
//! an error. Unwrapping that would turn one failed request into a store that fails every
//! request forever. The locked stores instead take the guard back
//! (`unwrap_or_else(PoisonError::into_inner)`) and carry on. That is sound because each
//! critical section changes the map with a *single* `HashMap` call or one atomic on a value,
//! and std's `HashMap` stays consistent when such a call unwinds: a panic can lose the
//! operation in flight, never leave a half-made change. The lock-free and copy-on-write stores
//! hold no lock: a thread that panics simply never publishes its change. `tests/poison.rs`
//! checks all of this.
//!
//! ## Why time is passed in
//!
//! A store never reads a clock: every operation that judges expiry is given its `now`. So a
//! test, a property check or a loom model can pass any time it likes, exactly at the expiry
//! boundary, or *backwards* (which real threads produce: they read the clock at different
//! moments and arrive in any order), and the result is deterministic. Loom could not explore
//! a store that read the wall clock, and a test of "expired at exactly `last_active + ttl`"
//! would be a race against the machine. Front ends read one [`Clock`] and pass its ticks in.
//!
//! [`Tick`]: crate::time::Tick
//! [`Clock`]: crate::time::Clock
//! [`is_expired`]: crate::activity::is_expired
//! [`Activity`]: crate::activity::Activity
//! [`Activity::TOMBSTONE`]: crate::activity::Activity::TOMBSTONE
//! [`SessionStore`]: crate::SessionStore
//! [`Occupied`]: crate::Occupied
