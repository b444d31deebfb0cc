//! The server-side scripts: each is one atomic step on the Redis server, the remote
//! counterpart of a lock or a compare-and-swap (see the [lesson](crate::lesson)).
//!
//! Redis runs one command at a time, and a Lua script is one command: nothing else runs on the
//! server between its first and last line. So "read the session, decide, write it back" is
//! atomic inside a script, where the same three steps sent as three commands from a client
//! would race with other clients exactly as unsynchronised threads race on a map.
//!
//! The sources are in `src/lua/`; each is prefixed with `prelude.lua` (the exact tick
//! comparison, the safety-net `PEXPIRE`, the `CORRUPT` error). [`redis::Script`] sends `EVALSHA` and falls back
//! to loading the script on `NOSCRIPT`, so a restarted server (with an empty script cache) needs
//! no special handling.

use redis::Script;

macro_rules! script {
    ($file:literal) => {
        Script::new(concat!(include_str!("lua/prelude.lua"), include_str!(concat!("lua/", $file))))
    };
}

/// The compiled scripts of one store (hashing the source once, not per call).
pub(crate) struct Scripts {
    /// Set-if-absent.
    pub insert: Script,
    /// Refuse absent or expired, else `last = max(last, now)`.
    pub touch: Script,
    /// Get-and-delete.
    pub remove: Script,
    /// Delete the expired candidates of one batch of one partition's index.
    pub sweep: Script,
    /// Delete one batch of one partition's sessions (tests and resets).
    pub clear: Script,
}

impl Scripts {
    pub(crate) fn new() -> Self {
        Self {
            insert: script!("insert.lua"),
            touch: script!("touch.lua"),
            remove: script!("remove.lua"),
            sweep: script!("sweep.lua"),
            clear: Script::new(include_str!("lua/clear.lua")),
        }
    }
}
