//! The user directory: [`UserId`] is a number, the app's users have names.
//!
//! Each valid name gets a fresh `UserId` when it logs in while unknown, and keeps it while it
//! has sessions; the store never sees a name. Session ids are *not* derived from any of this:
//! they are random (see [`sessionlab::SessionId::generate`]).
//!
//! Nothing here is permanent. A name is freed when its last session is logged out, and when
//! none of its sessions can still be alive (the user was last active a full ttl ago), so a
//! full directory frees room instead of locking every newcomer out for good. Ids are never
//! reused: a session that outlives its name's entry (it cannot, but a remote store might
//! disagree) finds no name rather than someone else's.
//!
//! The directory also keeps the per-user cap: it remembers each user's sessions, oldest
//! first, and hands back the ones a new login pushes over the cap, for the app to remove.
//!
//! The app uses the directory through [`UserDirectory`]. Several servers that share a remote
//! session store must share the directory too: a session stores a `UserId`, and a server
//! with its own directory would read another server's `UserId(0)` as whoever *it* numbered 0.

use sessionlab::time::Clock;
use sessionlab::{SessionId, Tick, UserId};
use std::collections::{HashMap, VecDeque};
use std::fmt;
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};
use std::sync::{PoisonError, RwLock};
use unicode_general_category::{GeneralCategory, get_general_category};

/// The longest user name accepted, in bytes.
pub const MAX_NAME_LEN: usize = 64;

/// Why a user name is refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameError {
    /// The name is empty (or only whitespace).
    Empty,
    /// The name is longer than [`MAX_NAME_LEN`] bytes.
    TooLong {
        /// Its length in bytes.
        len: usize,
    },
    /// The name contains a character that is not printable text (see [`validate`]).
    Unprintable {
        /// The first such character.
        found: char,
    },
    /// The directory holds as many users as it may, all of them with live sessions.
    Full,
    /// A remote directory could not be reached.
    Unavailable,
    /// The user's entry was freed while it was logging in (its last session ended at that
    /// moment); logging in again works.
    Retired,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the user name is empty"),
            Self::TooLong { len } => {
                write!(f, "the user name is {len} bytes long, at most {MAX_NAME_LEN} are allowed")
            }
            Self::Unprintable { found } => write!(
                f,
                "the user name contains U+{:04X}, a control, formatting or separator character; names are printable text",
                u32::from(*found)
            ),
            Self::Full => f.write_str("the server cannot register more users right now"),
            Self::Unavailable => f.write_str("the user directory is unavailable"),
            Self::Retired => f.write_str("the user was logged out everywhere meanwhile; try again"),
        }
    }
}

impl std::error::Error for NameError {}

/// Whether `c` is refused in a name: Unicode general categories Cc (control: a newline forges
/// log lines), Cf (format: zero-width and direction-changing characters such as U+202E make a
/// name look like another), Zl and Zp (line and paragraph separators).
pub fn is_unprintable(c: char) -> bool {
    matches!(
        get_general_category(c),
        GeneralCategory::Control
            | GeneralCategory::Format
            | GeneralCategory::LineSeparator
            | GeneralCategory::ParagraphSeparator
    )
}

/// Checks a user name and returns it trimmed of surrounding whitespace.
pub fn validate(name: &str) -> Result<&str, NameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    if let Some(found) = name.chars().find(|&c| is_unprintable(c)) {
        return Err(NameError::Unprintable { found });
    }
    Ok(name)
}

/// A name as a log line shows it: escaped, so that no name can forge or reorder log text
/// (validated names contain nothing to escape but quotes and backslashes; this is the second
/// line of defence).
pub fn for_log(name: &str) -> String {
    format!("\"{}\"", name.escape_debug())
}

/// Name <-> [`UserId`], and each user's sessions, as the app needs them. [`UserRegistry`] is
/// the in-process one; servers that share a remote session store plug in a shared one (which
/// may leave the session bookkeeping to its defaults: no per-user cap).
pub trait UserDirectory: Send + Sync {
    /// The id of `name` (which the implementation must [`validate`]), registering it if new.
    fn intern(&self, name: &str) -> Result<UserId, NameError>;
    /// The name registered for `id`, if any.
    fn name(&self, id: UserId) -> Option<String>;
    /// [`name`](Self::name), noting that one of `id`'s sessions was just used; an error
    /// ([`NameError::Unavailable`]) when the directory cannot be reached, which the app
    /// answers with 503. A shared (remote) directory must override this to report its
    /// outages: the default cannot tell "unreachable" from "no such user" (`None`), and the
    /// app answers `None` with 401, as for a session that can no longer be used.
    fn active(&self, id: UserId) -> Result<Option<String>, NameError> {
        Ok(self.name(id))
    }
    /// Records that `user` now holds `session`; returns the user's sessions beyond the
    /// per-user cap, oldest first, which the caller must remove from the store.
    fn add_session(&self, user: UserId, session: SessionId) -> Result<Vec<SessionId>, NameError> {
        let _ = (user, session);
        Ok(Vec::new())
    }
    /// Records that `session` of `user` ended (logged out); frees the name if it was the last.
    fn end_session(&self, user: UserId, session: &SessionId) {
        let _ = (user, session);
    }
    /// Frees every name none of whose sessions can still be alive; returns how many.
    fn prune(&self) -> usize {
        0
    }
}

impl UserDirectory for UserRegistry {
    fn intern(&self, name: &str) -> Result<UserId, NameError> {
        UserRegistry::intern(self, name)
    }
    fn name(&self, id: UserId) -> Option<String> {
        self.with_entry(id, |entry| entry.name.clone())
    }
    fn active(&self, id: UserId) -> Result<Option<String>, NameError> {
        let now = self.clock.now();
        // Under the read lock: an atomic store, so that `me` requests never take the write
        // lock (they would serialise every store behind this one map).
        Ok(self.with_entry(id, |entry| {
            entry.last_active.fetch_max(now, Ordering::Relaxed);
            entry.name.clone()
        }))
    }
    fn add_session(&self, user: UserId, session: SessionId) -> Result<Vec<SessionId>, NameError> {
        let mut names = self.write();
        let entry = names.entries.get_mut(&user).ok_or(NameError::Retired)?;
        // Only ever decremented under the write lock, after an increment: never below zero.
        let _ =
            entry.pending.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| n.checked_sub(1));
        entry.last_active.fetch_max(self.clock.now(), Ordering::Relaxed);
        entry.sessions.push_back(session);
        let over = entry.sessions.len().saturating_sub(self.per_user);
        Ok(entry.sessions.drain(..over).collect())
    }
    fn end_session(&self, user: UserId, session: &SessionId) {
        let mut names = self.write();
        let Some(entry) = names.entries.get_mut(&user) else { return };
        entry.sessions.retain(|held| held != session);
        if entry.sessions.is_empty() && entry.pending.load(Ordering::Relaxed) == 0 {
            names.free(user);
        }
    }
    fn prune(&self) -> usize {
        self.prune_at(self.clock.now())
    }
}

/// One user.
struct Entry {
    name: String,
    /// Its sessions, oldest first (some may have expired in the store meanwhile).
    sessions: VecDeque<SessionId>,
    /// Logins under way (interned, session not yet added): the entry is not freed under them.
    /// Atomic so that a known name's login needs only the read lock.
    pending: AtomicU32,
    /// When one of its sessions was last created or used.
    last_active: AtomicU64,
}

#[derive(Default)]
struct Names {
    ids: HashMap<String, UserId>,
    entries: HashMap<UserId, Entry>,
    next: u64,
}

impl Names {
    fn free(&mut self, user: UserId) {
        if let Some(entry) = self.entries.remove(&user) {
            self.ids.remove(&entry.name);
        }
    }
}

/// Name <-> [`UserId`] and each user's sessions, shared by all request handlers.
pub struct UserRegistry {
    names: RwLock<Names>,
    capacity: usize,
    per_user: usize,
    /// The sessions' ttl in ticks: a user idle this long has no live session.
    ttl: Tick,
    clock: Clock,
}

impl UserRegistry {
    /// An empty registry that holds at most `capacity` users, with no per-user cap and no
    /// knowledge of the ttl (names are freed only at their last logout).
    pub fn new(capacity: usize) -> Self {
        Self {
            names: RwLock::new(Names::default()),
            capacity,
            per_user: usize::MAX,
            ttl: Tick::MAX,
            clock: Clock::start(),
        }
    }

    /// At most `per_user` sessions per user, and names freed once their user has been idle
    /// for `ttl` ticks of `clock` (the clock the store's sessions expire on).
    pub fn with_session_limits(mut self, per_user: usize, ttl: Tick, clock: Clock) -> Self {
        self.per_user = per_user.max(1);
        self.ttl = ttl;
        self.clock = clock;
        self
    }

    // A poisoned lock only means another handler panicked; every update below leaves the
    // maps consistent before it can panic (allocation aside).
    fn write(&self) -> std::sync::RwLockWriteGuard<'_, Names> {
        self.names.write().unwrap_or_else(PoisonError::into_inner)
    }

    fn with_entry<T>(&self, id: UserId, f: impl FnOnce(&Entry) -> T) -> Option<T> {
        self.names.read().unwrap_or_else(PoisonError::into_inner).entries.get(&id).map(f)
    }

    /// The id of `name` (validated first), registering it if it is new. Counts as a login
    /// under way until [`UserDirectory::add_session`].
    pub fn intern(&self, name: &str) -> Result<UserId, NameError> {
        let name = validate(name)?;
        let now = self.clock.now();
        // A known name (the common case) under the read lock: freeing an entry takes the
        // write lock, so it cannot happen between the lookup and the increments.
        {
            let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
            if let Some(entry) = names.ids.get(name).and_then(|id| names.entries.get(id)) {
                entry.pending.fetch_add(1, Ordering::Relaxed);
                entry.last_active.fetch_max(now, Ordering::Relaxed);
                return Ok(names.ids[name]);
            }
        }
        let mut names = self.write();
        if !names.ids.contains_key(name) && names.entries.len() >= self.capacity {
            drop(names);
            self.prune_at(now);
            names = self.write();
        }
        let names = &mut *names;
        if let Some(id) = names.ids.get(name) {
            let entry = names.entries.get_mut(id).expect("every id has an entry");
            entry.pending.fetch_add(1, Ordering::Relaxed);
            entry.last_active.fetch_max(now, Ordering::Relaxed);
            return Ok(*id);
        }
        if names.entries.len() >= self.capacity {
            return Err(NameError::Full);
        }
        let id = UserId(names.next);
        names.next += 1;
        let entry = Entry {
            name: name.to_owned(),
            sessions: VecDeque::new(),
            pending: AtomicU32::new(1),
            last_active: AtomicU64::new(now),
        };
        names.entries.insert(id, entry);
        names.ids.insert(name.to_owned(), id);
        Ok(id)
    }

    /// Frees every user idle for a full ttl at `now` (all its sessions have expired); returns
    /// how many.
    fn prune_at(&self, now: Tick) -> usize {
        let ttl = self.ttl;
        let mut names = self.write();
        let idle: Vec<UserId> = names
            .entries
            .iter()
            .filter(|(_, entry)| {
                entry.last_active.load(Ordering::Relaxed).saturating_add(ttl) <= now
            })
            .map(|(id, _)| *id)
            .collect();
        for id in &idle {
            names.free(*id);
        }
        idle.len()
    }

    /// The name registered for `id`, if any.
    pub fn name(&self, id: UserId) -> Option<String> {
        UserDirectory::name(self, id)
    }

    /// How many users are registered.
    pub fn len(&self) -> usize {
        self.names.read().unwrap_or_else(PoisonError::into_inner).entries.len()
    }

    /// Whether no user is registered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_name_same_id_and_back() {
        let users = UserRegistry::new(10);
        let alice = users.intern("alice").unwrap();
        let bob = users.intern("bob").unwrap();
        assert_ne!(alice, bob);
        assert_eq!(users.intern(" alice ").unwrap(), alice);
        assert_eq!(users.name(alice).as_deref(), Some("alice"));
        assert_eq!(users.name(bob).as_deref(), Some("bob"));
        assert_eq!(users.name(UserId(99)), None);
        assert_eq!(users.len(), 2);
    }

    #[test]
    fn bad_names_are_refused() {
        let users = UserRegistry::new(10);
        assert_eq!(users.intern(""), Err(NameError::Empty));
        assert_eq!(users.intern("   "), Err(NameError::Empty));
        let long = "x".repeat(MAX_NAME_LEN + 1);
        assert_eq!(users.intern(&long), Err(NameError::TooLong { len: MAX_NAME_LEN + 1 }));
        assert!(users.intern(&"x".repeat(MAX_NAME_LEN)).is_ok());
        // Cc, Cf (bidi override, zero-width space, BOM), Zl, Zp.
        for (name, found) in [
            ("eve\nadmin", '\n'),
            ("eve\u{202E}nimda", '\u{202E}'),
            ("al\u{200B}ice", '\u{200B}'),
            ("\u{FEFF}bob", '\u{FEFF}'),
            ("a\u{2028}b", '\u{2028}'),
            ("a\u{2029}b", '\u{2029}'),
        ] {
            assert_eq!(users.intern(name), Err(NameError::Unprintable { found }), "{name:?}");
        }
        assert!(NameError::Unprintable { found: '\u{202E}' }.to_string().contains("U+202E"));
        for fine in ["Zoë", "名前", "o'brien <b>", "a b"] {
            assert!(users.intern(fine).is_ok(), "{fine}");
        }
    }

    #[test]
    fn log_lines_escape_names() {
        assert_eq!(for_log("a\"b\\c"), r#""a\"b\\c""#);
        assert_eq!(for_log("x\ny\u{202E}"), r#""x\ny\u{202e}""#);
    }

    #[test]
    fn the_registry_is_capped_while_its_users_are_active() {
        let users = UserRegistry::new(2);
        users.intern("a").unwrap();
        users.intern("b").unwrap();
        assert_eq!(users.intern("c"), Err(NameError::Full));
        assert!(users.intern("a").is_ok(), "known names still resolve when full");
    }

    #[test]
    fn the_last_logout_frees_the_name() {
        let users = UserRegistry::new(1);
        let alice = users.intern("alice").unwrap();
        let (one, two) = (SessionId::generate(), SessionId::generate());
        users.add_session(alice, one).unwrap();
        users.intern("alice").unwrap();
        users.add_session(alice, two).unwrap();
        users.end_session(alice, &one);
        assert_eq!(users.intern("bob"), Err(NameError::Full), "alice still holds a session");
        users.end_session(alice, &two);
        assert_eq!(users.name(alice), None);
        let bob = users.intern("bob").unwrap();
        assert_ne!(bob, alice, "ids are never reused");
    }

    #[test]
    fn idle_users_are_freed_when_room_is_needed() {
        let clock = Clock::start();
        let users = UserRegistry::new(1).with_session_limits(10, 30, clock);
        let ghost = users.intern("ghost").unwrap();
        users.add_session(ghost, SessionId::generate()).unwrap();
        assert_eq!(users.intern("newcomer"), Err(NameError::Full));
        std::thread::sleep(std::time::Duration::from_millis(60));
        assert!(users.intern("newcomer").is_ok(), "a user idle for a ttl has no live session");
        assert_eq!(users.name(ghost), None);
    }

    #[test]
    fn a_new_session_beyond_the_cap_evicts_the_oldest() {
        let users = UserRegistry::new(10).with_session_limits(2, 60_000, Clock::start());
        let alice = users.intern("alice").unwrap();
        let ids: Vec<SessionId> = (0..4).map(|_| SessionId::generate()).collect();
        assert_eq!(users.add_session(alice, ids[0]).unwrap(), vec![]);
        assert_eq!(users.add_session(alice, ids[1]).unwrap(), vec![]);
        assert_eq!(users.add_session(alice, ids[2]).unwrap(), vec![ids[0]]);
        users.end_session(alice, &ids[1]);
        assert_eq!(users.add_session(alice, ids[3]).unwrap(), vec![]);
        assert_eq!(users.add_session(UserId(77), ids[3]), Err(NameError::Retired));
    }

    #[test]
    fn concurrent_interning_gives_one_id_per_name() {
        let users = UserRegistry::new(1000);
        let ids: Vec<Vec<UserId>> = std::thread::scope(|s| {
            let handles: Vec<_> = (0..4)
                .map(|_| {
                    s.spawn(|| (0..100).map(|n| users.intern(&format!("u{n}")).unwrap()).collect())
                })
                .collect();
            handles.into_iter().map(|h| h.join().unwrap()).collect()
        });
        assert!(ids.windows(2).all(|pair| pair[0] == pair[1]));
        assert_eq!(users.len(), 100);
    }
}
