//! `RacyStore`: the Go lesson's shared map, transcribed faithfully, and therefore **wrong on
//! purpose**. Never use it outside a child process or a loom model.
//!
//! **Technique.** None. One `HashMap` in an `UnsafeCell`, written by whichever thread calls:
//! exactly what `var dbSessions = map[string]session{}` plus `go cleanSessions()` does in Go.
//!
//! **What it breaks.** Rust refuses to share an `UnsafeCell` between threads: the type is not
//! `Sync`. The only way to compile this store is to *promise* the compiler it is, with
//! `unsafe impl Sync`, and that promise is false. Every guarantee the other stores give is
//! gone:
//!
//! * Two inserts (logins) at once both rewrite the table's control bytes and length; one
//!   session, or many, is lost, and a resize racing a write can leave the table corrupted, so
//!   that a later probe loops forever (the usual outcome on real threads: a *hang*).
//! * A sweep's `retain` racing an insert frees or moves buckets the insert is writing into:
//!   use-after-free, `free(): invalid pointer`, or SIGSEGV.
//! * "Deleting is not writing", the lesson's claim, is false here as in Go: `remove` and
//!   `retain` write the table exactly as `insert` does. Go's runtime says so itself, with
//!   `fatal error: concurrent map writes`.
//! * Even a touch is a write (the lesson's `dbSessions[id] = s`), so two requests for one
//!   session race.
//!
//! All of this is *undefined behaviour*: the compiler may assume it never happens, so no
//! outcome, not even a crash, is guaranteed. Loom reports it deterministically as a causality
//! violation on the `UnsafeCell`; on real threads the lab runs it only in a child process with
//! a timeout (see [`crate::check::isolate`]).

use crate::activity::is_expired;
use crate::id::SessionId;
use crate::session::UserId;
use crate::store::{Config, Occupied, SessionStore};
use crate::sync::{HashMap, UnsafeCell, hash_map_with_capacity};
use crate::time::Tick;
use std::collections::hash_map::Entry;

/// The lesson's unsynchronised map. Deliberately unsound: see the module docs.
pub struct RacyStore {
    ttl: u64,
    map: UnsafeCell<HashMap<SessionId, (UserId, Tick)>>,
}

// SAFETY: this is NOT safe, and that is the lesson. `Sync` promises that `&RacyStore` may be
// used from several threads at once, but every method below reads or writes the map through
// the `UnsafeCell` with no synchronisation, so two threads calling them at once is a data race
// (undefined behaviour). The store exists to show what that promise costs when it is false;
// the lab only runs it concurrently in a child process or under loom.
unsafe impl Sync for RacyStore {}

impl RacyStore {
    /// An empty store built from `config`.
    ///
    /// # Safety
    ///
    /// The store is `Sync` by a false promise (see the module docs): two threads calling its
    /// methods at once is a data race, which is undefined behaviour. The caller must either
    /// keep it on one thread at a time, or run it where undefined behaviour can do no harm
    /// beyond the run itself: in a child process that may crash or hang (the demo's child,
    /// [`crate::check::isolate`]), or under loom, which checks every access to the cell
    /// before it is made and reports the first race as a causality violation instead of
    /// running it. It is an `unsafe fn` so that the lesson shows at every place it is built.
    pub unsafe fn new(config: &Config) -> Self {
        Self { ttl: config.ttl, map: UnsafeCell::new(hash_map_with_capacity(config.capacity)) }
    }

    /// The registry's entry for the racy store ([`StoreKind::Racy`](crate::StoreKind::Racy)):
    /// what [`StoreKind::build`](crate::StoreKind::build) returns for it.
    pub(crate) fn for_registry(config: &Config) -> Box<dyn SessionStore> {
        // SAFETY: the registry's racy entry is documented (`StoreKind::Racy`, `StoreKind::build`)
        // as for a process that may crash and for loom models only, and that is how the lab
        // uses it: the demo runs it in a child process (`check::isolate`), the web lab warns
        // and serves it from a server process of its own, the linearizability hunt runs it in
        // a child, and the other tests that build it call it from one thread at a time.
        Box::new(unsafe { Self::new(config) })
    }

    #[track_caller]
    fn write<R>(&self, f: impl FnOnce(&mut HashMap<SessionId, (UserId, Tick)>) -> R) -> R {
        self.map.with_mut(|map| {
            // SAFETY: NOT safe. This creates a `&mut` to the map while other threads may hold
            // `&` or `&mut` to it; nothing excludes them. Sound only when one thread uses the
            // store at a time, which is exactly what the lesson's server does not do.
            f(unsafe { &mut *map })
        })
    }

    #[track_caller]
    fn read<R>(&self, f: impl FnOnce(&HashMap<SessionId, (UserId, Tick)>) -> R) -> R {
        self.map.with(|map| {
            // SAFETY: NOT safe. Another thread may be writing the map right now; reading a
            // table mid-resize can follow freed or half-written buckets.
            f(unsafe { &*map })
        })
    }
}

impl SessionStore for RacyStore {
    fn insert(&self, id: SessionId, user: UserId, now: Tick) -> Result<(), Occupied> {
        self.write(|map| match map.entry(id) {
            Entry::Occupied(_) => Err(Occupied),
            Entry::Vacant(slot) => {
                slot.insert((user, now));
                Ok(())
            }
        })
    }

    fn touch(&self, id: &SessionId, now: Tick) -> Option<UserId> {
        // The lesson's `dbSessions[id] = s`: every request writes the map.
        self.write(|map| {
            let (user, last_active) = map.get_mut(id)?;
            if is_expired(*last_active, self.ttl, now) {
                return None;
            }
            *last_active = (*last_active).max(now);
            Some(*user)
        })
    }

    fn remove(&self, id: &SessionId) -> Option<UserId> {
        self.write(|map| map.remove(id).map(|(user, _)| user))
    }

    fn sweep(&self, now: Tick) -> usize {
        self.write(|map| {
            let before = map.len();
            map.retain(|_, (_, last_active)| !is_expired(*last_active, self.ttl, now));
            // Saturating: a table corrupted by a racing writer can report any length, and a
            // debug-build overflow panic would hide the real failure.
            before.saturating_sub(map.len())
        })
    }

    fn len(&self) -> usize {
        self.read(|map| map.len())
    }
}
