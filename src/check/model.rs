//! The sequential reference model: the specification
//! ([`docs::semantics`](crate::docs::semantics)) as the plainest code that states it.
//!
//! Every store is judged against this file. [`Model`] is a single-threaded map with no
//! atomics, no locks and no cleverness, so that a reader can check it against the
//! specification line by line; [`Slot`] is the same specification for one session id, which
//! is all the linearizability checker ([`crate::check::history`]) needs, because linearizability is
//! local and a history is checked key by key. [`Model`] is a map of [`Slot`]s, so the two can
//! never disagree.
//!
//! [`Op`] and [`Ret`] name one call and its result, so property tests, the history recorder
//! and exercises can run the same call against a store ([`Op::apply`]) and against the model
//! ([`Model::apply`]) and compare.
//!
//! ```
//! use sessionlab::check::model::{Model, Op, Ret};
//! use sessionlab::{Config, SessionId, StoreKind, UserId};
//!
//! let mut model = Model::new(10);
//! let store = StoreKind::Mutex.build(&Config::new(10));
//! let id = SessionId::fixed(1);
//! for op in [
//!     Op::Insert { id, user: UserId(1), now: 0 },
//!     Op::Touch { id, now: 9 },
//!     Op::Sweep { now: 18 },
//!     Op::Touch { id, now: 19 },
//!     Op::Sweep { now: 19 },
//! ] {
//!     assert_eq!(op.apply(&*store), model.apply(&op), "{op}");
//! }
//! assert_eq!(model.apply(&Op::Len), Ret::Len(0));
//! ```

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Occupied, SessionStore};
use crate::time::Tick;
use std::collections::BTreeMap;
use std::fmt;

/// One session id's state in the specification: absent, or `(user, last_active)`.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Slot(pub Option<(UserId, Tick)>);

impl Slot {
    /// An absent session.
    pub const ABSENT: Slot = Slot(None);

    /// Whether a session is stored here (expired-but-unswept included).
    pub fn is_present(&self) -> bool {
        self.0.is_some()
    }

    /// `insert`: refuses when present, expired or not; never overwrites.
    pub fn insert(&mut self, user: UserId, now: Tick) -> Result<(), Occupied> {
        if self.is_present() {
            return Err(Occupied);
        }
        self.0 = Some((user, now));
        Ok(())
    }

    /// `touch`: `None` if absent or expired at `now` (never revives); else moves the activity
    /// to `max(last_active, now)` and returns the user.
    pub fn touch(&mut self, ttl: u64, now: Tick) -> Option<UserId> {
        let (user, last_active) = self.0.as_mut()?;
        if is_expired(*last_active, ttl, now) {
            return None;
        }
        *last_active = (*last_active).max(now);
        Some(*user)
    }

    /// `remove`: takes the session out, expired or not, and returns its user.
    pub fn remove(&mut self) -> Option<UserId> {
        self.0.take().map(|(user, _)| user)
    }

    /// One sweep's step on this id: removes the session if it is expired at `now`. Returns
    /// whether it did.
    pub fn sweep(&mut self, ttl: u64, now: Tick) -> bool {
        match self.0 {
            Some((_, last_active)) if is_expired(last_active, ttl, now) => {
                self.0 = None;
                true
            }
            _ => false,
        }
    }
}

/// The sequential specification of a whole store: a map `id -> (user, last_active)`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Model {
    ttl: u64,
    // A BTreeMap, so iteration (and so `Debug` output in failure messages) is deterministic.
    sessions: BTreeMap<SessionId, (UserId, Tick)>,
}

impl Model {
    /// An empty model with time-to-live `ttl`.
    pub fn new(ttl: u64) -> Self {
        Self { ttl, sessions: BTreeMap::new() }
    }

    /// The time-to-live.
    pub fn ttl(&self) -> u64 {
        self.ttl
    }

    /// The stored `(user, last_active)` of `id`, if any.
    pub fn get(&self, id: &SessionId) -> Option<(UserId, Tick)> {
        self.sessions.get(id).copied()
    }

    /// Runs `f` on `id`'s slot and writes the slot back: every operation below is the
    /// [`Slot`] specification, lifted to the map.
    fn with_slot<R>(&mut self, id: SessionId, f: impl FnOnce(&mut Slot) -> R) -> R {
        let mut slot = Slot(self.sessions.get(&id).copied());
        let result = f(&mut slot);
        match slot.0 {
            Some(value) => self.sessions.insert(id, value),
            None => self.sessions.remove(&id),
        };
        result
    }

    /// [`SessionStore::insert`].
    pub fn insert(&mut self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.with_slot(id, |slot| slot.insert(user, now))
    }

    /// [`SessionStore::touch`].
    pub fn touch(&mut self, id: &SessionId, now: Tick) -> Option<UserId> {
        let ttl = self.ttl;
        self.with_slot(*id, |slot| slot.touch(ttl, now))
    }

    /// [`SessionStore::remove`].
    pub fn remove(&mut self, id: &SessionId) -> Option<UserId> {
        self.with_slot(*id, Slot::remove)
    }

    /// [`SessionStore::sweep`], returning the ids it removed (their count is what a store
    /// returns). Sequentially a sweep is one step, so every session expired at `now` goes.
    pub fn sweep_ids(&mut self, now: Tick) -> Vec<SessionId> {
        let ttl = self.ttl;
        let doomed: Vec<SessionId> = self
            .sessions
            .iter()
            .filter(|(_, (_, last_active))| is_expired(*last_active, ttl, now))
            .map(|(id, _)| *id)
            .collect();
        for id in &doomed {
            self.sessions.remove(id);
        }
        doomed
    }

    /// [`SessionStore::sweep`].
    pub fn sweep(&mut self, now: Tick) -> usize {
        self.sweep_ids(now).len()
    }

    /// [`SessionStore::len`]: expired-but-unswept sessions included.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether [`len`](Self::len) is zero.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// Runs `op` on the model.
    pub fn apply(&mut self, op: &Op) -> Ret {
        match *op {
            Op::Insert { id, user, now } => Ret::Insert(self.insert(id, user, now)),
            Op::Touch { id, now } => Ret::Touch(self.touch(&id, now)),
            Op::Remove { id } => Ret::Remove(self.remove(&id)),
            Op::Sweep { now } => Ret::Sweep(self.sweep(now)),
            Op::Len => Ret::Len(self.len()),
        }
    }
}

/// One call on a store.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Op {
    /// [`SessionStore::insert`].
    Insert {
        /// The session id.
        id: SessionId,
        /// Its user.
        user: UserId,
        /// The caller's clock.
        now: Tick,
    },
    /// [`SessionStore::touch`].
    Touch {
        /// The session id.
        id: SessionId,
        /// The caller's clock.
        now: Tick,
    },
    /// [`SessionStore::remove`].
    Remove {
        /// The session id.
        id: SessionId,
    },
    /// [`SessionStore::sweep`].
    Sweep {
        /// The caller's clock.
        now: Tick,
    },
    /// [`SessionStore::len`].
    Len,
}

impl Op {
    /// Runs the call on `store`.
    pub fn apply<S: SessionStore + ?Sized>(&self, store: &S) -> Ret {
        match *self {
            Op::Insert { id, user, now } => Ret::Insert(store.insert(id, user, now)),
            Op::Touch { id, now } => Ret::Touch(store.touch(&id, now)),
            Op::Remove { id } => Ret::Remove(store.remove(&id)),
            Op::Sweep { now } => Ret::Sweep(store.sweep(now)),
            Op::Len => Ret::Len(store.len()),
        }
    }

    /// The one session id the call is about, if it is about one (`sweep` and `len` are not).
    pub fn id(&self) -> Option<SessionId> {
        match *self {
            Op::Insert { id, .. } | Op::Touch { id, .. } | Op::Remove { id } => Some(id),
            Op::Sweep { .. } | Op::Len => None,
        }
    }
}

/// What one call returned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Ret {
    /// From [`Op::Insert`].
    Insert(Result<(), Occupied>),
    /// From [`Op::Touch`].
    Touch(Option<UserId>),
    /// From [`Op::Remove`].
    Remove(Option<UserId>),
    /// From [`Op::Sweep`]: how many sessions this call removed.
    Sweep(usize),
    /// From [`Op::Len`].
    Len(usize),
}

/// Ids print short in histories: `fixed(n)` ids (the ones tests use) as `#n`, others redacted.
pub(crate) struct ShortId<'a>(pub &'a SessionId);

impl fmt::Display for ShortId<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let bytes = self.0.as_bytes();
        let mut n = [0u8; 8];
        n[..4].copy_from_slice(&bytes[..4]);
        n[4..].copy_from_slice(&bytes[12..]);
        let n = u64::from_be_bytes(n);
        if SessionId::fixed(n) == *self.0 {
            write!(f, "#{n}")
        } else {
            f.write_str(&self.0.redacted())
        }
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Op::Insert { id, user, now } => {
                write!(f, "insert({}, {user}, now={now})", ShortId(id))
            }
            Op::Touch { id, now } => write!(f, "touch({}, now={now})", ShortId(id)),
            Op::Remove { id } => write!(f, "remove({})", ShortId(id)),
            Op::Sweep { now } => write!(f, "sweep(now={now})"),
            Op::Len => f.write_str("len()"),
        }
    }
}

impl fmt::Display for Ret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ret::Insert(Ok(())) => f.write_str("Ok"),
            Ret::Insert(Err(Occupied)) => f.write_str("Occupied"),
            Ret::Touch(Some(user)) | Ret::Remove(Some(user)) => write!(f, "Some({user})"),
            Ret::Touch(None) | Ret::Remove(None) => f.write_str("None"),
            Ret::Sweep(n) | Ret::Len(n) => write!(f, "{n}"),
        }
    }
}

#[cfg(all(test, not(loom)))]
mod tests {
    use super::*;

    const TTL: u64 = 10;

    fn id(n: u64) -> SessionId {
        SessionId::fixed(n)
    }

    #[test]
    fn insert_never_overwrites_even_when_expired() {
        let mut model = Model::new(TTL);
        assert_eq!(model.insert(id(1), UserId(1), 0), Ok(()));
        assert_eq!(model.insert(id(1), UserId(2), 100), Err(Occupied));
        assert_eq!(model.get(&id(1)), Some((UserId(1), 0)));
    }

    #[test]
    fn touch_never_revives_and_never_goes_back() {
        let mut model = Model::new(TTL);
        model.insert(id(1), UserId(1), 5).unwrap();
        assert_eq!(model.touch(&id(1), 3), Some(UserId(1)));
        assert_eq!(model.get(&id(1)), Some((UserId(1), 5)), "an older now changes nothing");
        assert_eq!(model.touch(&id(1), 15), None, "5 + 10 <= 15: expired");
        assert_eq!(model.touch(&id(1), 14), Some(UserId(1)), "5 + 10 > 14: still live");
        assert_eq!(model.len(), 1, "expired but unswept still counts");
    }

    #[test]
    fn sweep_removes_exactly_the_expired() {
        let mut model = Model::new(TTL);
        model.insert(id(1), UserId(1), 0).unwrap();
        model.insert(id(2), UserId(2), 5).unwrap();
        assert_eq!(model.sweep_ids(10), vec![id(1)]);
        assert_eq!(model.sweep(14), 0);
        assert_eq!(model.sweep(15), 1);
        assert!(model.is_empty());
    }

    #[test]
    fn remove_takes_expired_sessions_too() {
        let mut model = Model::new(TTL);
        model.insert(id(1), UserId(1), 0).unwrap();
        assert_eq!(model.remove(&id(1)), Some(UserId(1)));
        assert_eq!(model.remove(&id(1)), None);
    }

    #[test]
    fn fixed_ids_print_short() {
        assert_eq!(Op::Remove { id: id(7) }.to_string(), "remove(#7)");
        assert!(!ShortId(&SessionId::generate()).to_string().starts_with('#'));
    }
}
