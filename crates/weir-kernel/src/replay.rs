//! Refusing replayed messages. A signed message captured on the wire verifies again when it is
//! sent again, so the signature alone does not stop a replay; as Jupyter's own kernels do, the
//! kernel remembers what it has accepted and drops a message it has already seen. The signature
//! covers the header, so a replay carries a header identical to one accepted before: the whole
//! header (id, session, type, creation time to the microsecond), not the `msg_id` alone —
//! jupyter_client's manager and client number their messages separately under one session, so
//! the same `msg_id` is seen on different messages. What is kept is a 64-bit hash of each header;
//! the memory is bounded and the oldest are forgotten first.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashSet, VecDeque};
use std::hash::{Hash, Hasher};
use std::sync::Mutex;

/// How many recent messages are remembered.
pub const REMEMBERED: usize = 65_536;

/// Hashes of recently accepted message headers, shared by the channels.
#[derive(Debug)]
pub struct ReplayGuard {
    inner: Mutex<Seen>,
    capacity: usize,
}

#[derive(Debug, Default)]
struct Seen {
    ids: HashSet<u64>,
    order: VecDeque<u64>,
}

impl Default for ReplayGuard {
    fn default() -> Self {
        Self::with_capacity(REMEMBERED)
    }
}

impl ReplayGuard {
    pub fn with_capacity(capacity: usize) -> Self {
        Self { inner: Mutex::new(Seen::default()), capacity: capacity.max(1) }
    }

    /// True the first time a message with this header (its serialized form) is offered;
    /// false for a replay.
    pub fn first_time(&self, header: &str) -> bool {
        let mut hasher = DefaultHasher::new();
        header.hash(&mut hasher);
        let id = hasher.finish();
        let mut seen = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if seen.ids.contains(&id) {
            return false;
        }
        if seen.order.len() >= self.capacity
            && let Some(oldest) = seen.order.pop_front()
        {
            seen.ids.remove(&oldest);
        }
        seen.ids.insert(id);
        seen.order.push_back(id);
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_replay_is_refused_and_memory_is_bounded() {
        let guard = ReplayGuard::with_capacity(2);
        assert!(guard.first_time("a"));
        assert!(!guard.first_time("a"));
        assert!(guard.first_time("b"));
        assert!(guard.first_time("c")); // forgets "a"
        assert!(!guard.first_time("c"));
        assert!(guard.first_time("a"));
        assert_eq!(guard.inner.lock().unwrap().order.len(), 2);
    }
}
