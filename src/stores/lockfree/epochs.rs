//! Who tracks epochs for the lock-free store: normally crossbeam-epoch's process-wide
//! collector, under crossbeam's loom mode one collector per store.

use crossbeam_epoch::Guard;

/// Who tracks epochs. Normally the process-wide collector (`crossbeam_epoch::pin`: a
/// thread-local handle, nothing to allocate per call).
#[cfg(not(crossbeam_loom))]
pub(crate) struct Epochs;

#[cfg(not(crossbeam_loom))]
impl Epochs {
    pub(crate) fn new() -> Self {
        Self
    }

    /// Pins the current thread: pointers loaded under the guard stay valid while it lives.
    pub(crate) fn pin(&self) -> Guard {
        crossbeam_epoch::pin()
    }
}

/// Under crossbeam's loom mode, an explicit collector per store, so a model owns all of its
/// epoch state, with one handle per (loom) thread kept in a loom thread-local. Registering a
/// handle per call instead costs a registration, a first-pin collection and a finalisation
/// per operation, all of which loom explores: 473k executions instead of 3.2k for the
/// two-sweeps scenario. (The one place outside `sync` that names loom: it exists only in
/// crossbeam's loom mode, and only this store needs it.)
#[cfg(crossbeam_loom)]
pub(crate) struct Epochs(crossbeam_epoch::Collector);

#[cfg(crossbeam_loom)]
impl Epochs {
    pub(crate) fn new() -> Self {
        Self(crossbeam_epoch::Collector::new())
    }

    /// Pins the current thread: pointers loaded under the guard stay valid while it lives.
    pub(crate) fn pin(&self) -> Guard {
        use crossbeam_epoch::LocalHandle;
        use std::cell::RefCell;
        loom::thread_local! {
            static HANDLES: RefCell<Vec<LocalHandle>> = RefCell::new(Vec::new());
        }
        HANDLES.with(|handles| {
            let mut handles = handles.borrow_mut();
            if let Some(handle) = handles.iter().find(|h| h.collector() == &self.0) {
                return handle.pin();
            }
            let handle = self.0.register();
            let guard = handle.pin();
            handles.push(handle);
            guard
        })
    }
}
