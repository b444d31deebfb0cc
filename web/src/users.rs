//! The user-name registry: [`UserId`] is a number, the app's users have names.
//!
//! An interner: each distinct valid name gets the next `UserId` once and keeps it, so the same
//! name always maps to the same user, and the store never sees a name. Session ids are *not*
//! derived from any of this: they are random (see [`sessionlab::SessionId::generate`]).
//!
//! Names are never removed (a session may still point at one), so the registry is capped: a
//! client minting fresh names cannot grow it without bound.
//!
//! The app uses the registry through [`UserDirectory`]. Several servers that share a remote
//! session store must share the directory too: a session stores a `UserId`, and a server
//! with its own registry would read another server's `UserId(0)` as whoever *it* numbered 0.

use sessionlab::UserId;
use std::collections::HashMap;
use std::fmt;
use std::sync::{PoisonError, RwLock};

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
    /// The name contains a control character (a newline would let it forge log lines).
    Control,
    /// The registry holds as many users as it may.
    Full,
    /// A remote directory could not be reached.
    Unavailable,
}

impl fmt::Display for NameError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Empty => f.write_str("the user name is empty"),
            Self::TooLong { len } => {
                write!(f, "the user name is {len} bytes long, at most {MAX_NAME_LEN} are allowed")
            }
            Self::Control => f.write_str("the user name contains a control character"),
            Self::Full => f.write_str("the server cannot register more users"),
            Self::Unavailable => f.write_str("the user directory is unavailable"),
        }
    }
}

impl std::error::Error for NameError {}

/// Checks a user name and returns it trimmed of surrounding whitespace.
pub fn validate(name: &str) -> Result<&str, NameError> {
    let name = name.trim();
    if name.is_empty() {
        return Err(NameError::Empty);
    }
    if name.len() > MAX_NAME_LEN {
        return Err(NameError::TooLong { len: name.len() });
    }
    if name.chars().any(char::is_control) {
        return Err(NameError::Control);
    }
    Ok(name)
}

/// Name <-> [`UserId`], as the app needs it. [`UserRegistry`] is the in-process one; servers
/// that share a remote session store plug in a shared one.
pub trait UserDirectory: Send + Sync {
    /// The id of `name` (which the implementation must [`validate`]), registering it if new.
    fn intern(&self, name: &str) -> Result<UserId, NameError>;
    /// The name registered for `id`, if any.
    fn name(&self, id: UserId) -> Option<String>;
}

impl UserDirectory for UserRegistry {
    fn intern(&self, name: &str) -> Result<UserId, NameError> {
        UserRegistry::intern(self, name)
    }
    fn name(&self, id: UserId) -> Option<String> {
        UserRegistry::name(self, id)
    }
}

#[derive(Default)]
struct Names {
    ids: HashMap<String, UserId>,
    names: Vec<String>,
}

/// Name <-> [`UserId`], shared by all request handlers.
pub struct UserRegistry {
    names: RwLock<Names>,
    capacity: usize,
}

impl UserRegistry {
    /// An empty registry that holds at most `capacity` users.
    pub fn new(capacity: usize) -> Self {
        Self { names: RwLock::new(Names::default()), capacity }
    }

    /// The id of `name` (validated first), registering it if it is new.
    pub fn intern(&self, name: &str) -> Result<UserId, NameError> {
        let name = validate(name)?;
        // A poisoned lock only means another handler panicked; the map itself is never left
        // half-updated (a name and its id are pushed before the lock is released).
        if let Some(&id) = self.names.read().unwrap_or_else(PoisonError::into_inner).ids.get(name) {
            return Ok(id);
        }
        let mut names = self.names.write().unwrap_or_else(PoisonError::into_inner);
        // Another handler may have registered it between our two locks.
        if let Some(&id) = names.ids.get(name) {
            return Ok(id);
        }
        if names.names.len() >= self.capacity {
            return Err(NameError::Full);
        }
        let id = UserId(names.names.len() as u64);
        names.names.push(name.to_owned());
        names.ids.insert(name.to_owned(), id);
        Ok(id)
    }

    /// The name registered for `id`, if any.
    pub fn name(&self, id: UserId) -> Option<String> {
        let names = self.names.read().unwrap_or_else(PoisonError::into_inner);
        usize::try_from(id.0).ok().and_then(|index| names.names.get(index)).cloned()
    }

    /// How many users are registered.
    pub fn len(&self) -> usize {
        self.names.read().unwrap_or_else(PoisonError::into_inner).names.len()
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
        assert_eq!(users.intern("eve\nadmin"), Err(NameError::Control));
    }

    #[test]
    fn the_registry_is_capped() {
        let users = UserRegistry::new(2);
        users.intern("a").unwrap();
        users.intern("b").unwrap();
        assert_eq!(users.intern("c"), Err(NameError::Full));
        assert!(users.intern("a").is_ok(), "known names still resolve when full");
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
