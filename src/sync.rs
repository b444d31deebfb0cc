//! The one switch between `std` and `loom`.
//!
//! Every other module imports its synchronisation primitives from here, never from `std::sync`
//! or `loom` directly (the pattern of tokio's `src/loom/mod.rs`). Under `RUSTFLAGS="--cfg loom"`
//! the same store code runs on loom's primitives, so the model checker sees every lock, atomic
//! and `UnsafeCell` access the stores make.
//!
//! Two pieces need more than a re-export:
//!
//! * [`CowCell`], the copy-on-write cell. Normally it is [`arc_swap::ArcSwap`]. Loom cannot see
//!   inside arc-swap (its strategy trait is sealed, so it cannot be built on loom's atomics), so
//!   under `cfg(loom)` it is a loom `Mutex<Arc<T>>` with the same contract: a linearizable load
//!   and a linearizable compare-and-swap of the whole `Arc`. What the model checks is therefore
//!   *our* use of the cell (the `rcu` loop, the tombstone protocol), not arc-swap's internals,
//!   which its own authors test.
//! * [`SessionHasher`], the map hasher. Normally it is std's keyed, randomly seeded SipHash:
//!   session ids arrive in untrusted cookies, and a fixed hash function would let a client pick
//!   ids that collide (HashDoS). Under loom it is a fixed-key hasher, because loom replays each
//!   execution many times and a random seed would change the map's iteration order between
//!   replays.

#[cfg(not(loom))]
mod imp {
    pub use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub use std::sync::{
        Arc, Barrier, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard,
    };
    pub use std::thread;

    /// The map hasher: keyed SipHash with a random per-map seed (see the module docs).
    pub type SessionHasher = std::hash::RandomState;

    /// An `UnsafeCell` with loom's closure-based API, so code written against it runs
    /// unchanged under loom, where every access is checked for data races.
    #[derive(Debug, Default)]
    pub struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

    impl<T> UnsafeCell<T> {
        /// Wraps `value`.
        pub const fn new(value: T) -> Self {
            Self(std::cell::UnsafeCell::new(value))
        }

        /// Gives `f` a shared raw pointer to the contents.
        pub fn with<R>(&self, f: impl FnOnce(*const T) -> R) -> R {
            f(self.0.get())
        }

        /// Gives `f` a mutable raw pointer to the contents.
        pub fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
            f(self.0.get())
        }
    }

    /// A copy-on-write cell over [`arc_swap::ArcSwap`]: readers never wait, writers publish a
    /// whole new value with compare-and-swap.
    pub struct CowCell<T> {
        inner: arc_swap::ArcSwap<T>,
    }

    /// What a [`Snapshot`](super::Snapshot) holds: arc-swap's guard (no reference count taken on the fast path).
    pub type SnapshotGuard<T> = arc_swap::Guard<Arc<T>>;

    impl<T> CowCell<T> {
        /// A cell holding `value`.
        pub fn new(value: T) -> Self {
            Self { inner: arc_swap::ArcSwap::from_pointee(value) }
        }

        /// The current value. Never blocks.
        pub fn load(&self) -> super::Snapshot<T> {
            super::Snapshot(self.inner.load())
        }

        /// Read-copy-update: `f` sees the current value and returns `(new value, result)`.
        /// `Some(new)` is published only if the cell still holds the value `f` saw; otherwise
        /// `f` runs again on the newer value. `None` publishes nothing and the call
        /// linearizes at the load that `f` saw. Returns the result of the run that counted.
        pub fn update<R>(&self, mut f: impl FnMut(&T) -> (Option<T>, R)) -> R {
            let mut current = self.inner.load();
            loop {
                let (next, result) = f(&current);
                let Some(next) = next else { return result };
                let previous = self.inner.compare_and_swap(&*current, Arc::new(next));
                if Arc::ptr_eq(&previous, &current) {
                    return result;
                }
                current = previous;
            }
        }
    }
}

#[cfg(loom)]
mod imp {
    pub use loom::cell::UnsafeCell;
    pub use loom::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
    pub use loom::sync::{Arc, Mutex, MutexGuard, RwLock, RwLockReadGuard, RwLockWriteGuard};
    pub use loom::thread;

    /// The map hasher: fixed keys under loom, so replays see the same iteration order.
    pub type SessionHasher = std::hash::BuildHasherDefault<std::hash::DefaultHasher>;

    /// The loom stand-in for arc-swap: a `Mutex<Arc<T>>` with the same contract
    /// (linearizable load, linearizable compare-and-swap of the whole `Arc`).
    pub struct CowCell<T> {
        inner: Mutex<Arc<T>>,
    }

    /// What a [`Snapshot`](super::Snapshot) holds: a clone of the `Arc` the mutex guarded.
    pub type SnapshotGuard<T> = Arc<T>;

    impl<T> CowCell<T> {
        /// A cell holding `value`.
        pub fn new(value: T) -> Self {
            Self { inner: Mutex::new(Arc::new(value)) }
        }

        /// The current value.
        pub fn load(&self) -> super::Snapshot<T> {
            super::Snapshot(Arc::clone(&self.inner.lock().unwrap()))
        }

        /// Read-copy-update with the same contract as the std version. The lock is released
        /// between the load and the compare-and-swap, so loom explores interleavings of `f`.
        pub fn update<R>(&self, mut f: impl FnMut(&T) -> (Option<T>, R)) -> R {
            loop {
                let current = self.load();
                let (next, result) = f(&current);
                let Some(next) = next else { return result };
                let mut slot = self.inner.lock().unwrap();
                if Arc::ptr_eq(&slot, &current.0) {
                    *slot = Arc::new(next);
                    return result;
                }
            }
        }
    }
}

pub use imp::*;

/// A snapshot of a [`CowCell`]'s value, valid for as long as it is held.
pub struct Snapshot<T>(SnapshotGuard<T>);

impl<T> std::ops::Deref for Snapshot<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.0
    }
}

/// A `HashMap` with the lab's hasher.
pub type HashMap<K, V> = std::collections::HashMap<K, V, SessionHasher>;

/// An empty [`HashMap`] with room for `capacity` entries.
pub fn hash_map_with_capacity<K, V>(capacity: usize) -> HashMap<K, V> {
    HashMap::with_capacity_and_hasher(capacity, SessionHasher::default())
}
