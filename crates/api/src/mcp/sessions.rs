//! Sessions of the protocol versions before `2026-07-28`: `initialize` opens one, its id comes
//! back in `Mcp-Session-Id`, later requests carry it, `DELETE` ends it. A session remembers its
//! negotiated version and the user who opened it (it answers nobody else); the caller is still
//! authenticated on every request. Sessions live in this node's memory, are dropped after
//! [`McpSettings::session_idle_timeout`](super::McpSettings) without a request, and the least
//! recently used one makes room when [`MAX_SESSIONS`] are open.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use rand::Rng;
use switchboard_core::{Caller, UserId};

use super::protocol::Version;

/// Open sessions one node keeps at most.
pub(crate) const MAX_SESSIONS: usize = 10_000;

/// The open sessions of this node.
pub(crate) struct Sessions {
    open: Mutex<HashMap<String, Session>>,
    idle_timeout: Duration,
    /// How many are open, kept for the adapter's status (an expired session counts until a
    /// request finds it, or the next `initialize` sweeps).
    count: Arc<AtomicUsize>,
}

struct Session {
    version: Version,
    owner: UserId,
    last_used: Instant,
}

impl Sessions {
    pub(crate) fn new(idle_timeout: Duration, count: Arc<AtomicUsize>) -> Self {
        Self {
            open: Mutex::new(HashMap::new()),
            idle_timeout,
            count,
        }
    }

    /// Opens a session for `caller` speaking `version`; returns its id (128 random bits).
    pub(crate) fn open(&self, caller: &Caller, version: Version) -> String {
        let id = format!("{:032x}", rand::rng().random::<u128>());
        let now = Instant::now();
        let mut open = self.lock();
        open.retain(|_, session| now.duration_since(session.last_used) < self.idle_timeout);
        if open.len() >= MAX_SESSIONS
            && let Some(oldest) = open
                .iter()
                .min_by_key(|(_, session)| session.last_used)
                .map(|(id, _)| id.clone())
        {
            open.remove(&oldest);
        }
        open.insert(
            id.clone(),
            Session {
                version,
                owner: caller.user_id,
                last_used: now,
            },
        );
        self.count.store(open.len(), Ordering::Relaxed);
        id
    }

    /// The version of `caller`'s session `id`, marking it used; `None` when there is no such
    /// session (never opened, ended, expired, or another user's).
    pub(crate) fn resume(&self, id: &str, caller: &Caller) -> Option<Version> {
        let now = Instant::now();
        let mut open = self.lock();
        let session = open
            .get_mut(id)
            .filter(|session| session.owner == caller.user_id)?;
        if now.duration_since(session.last_used) >= self.idle_timeout {
            open.remove(id);
            self.count.store(open.len(), Ordering::Relaxed);
            return None;
        }
        session.last_used = now;
        Some(session.version)
    }

    /// Ends `caller`'s session `id`; `false` when there was no such session.
    pub(crate) fn end(&self, id: &str, caller: &Caller) -> bool {
        let mut open = self.lock();
        let owned = open
            .get(id)
            .is_some_and(|session| session.owner == caller.user_id);
        let ended = owned && open.remove(id).is_some();
        self.count.store(open.len(), Ordering::Relaxed);
        ended
    }

    fn lock(&self) -> MutexGuard<'_, HashMap<String, Session>> {
        self.open.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use switchboard_core::{Role, TenantId};

    use super::*;

    fn caller() -> Caller {
        Caller {
            tenant_id: TenantId::new(),
            user_id: UserId::new(),
            role: Role::Admin,
            api_key_id: None,
            origin: Default::default(),
        }
    }

    #[test]
    fn a_session_answers_only_the_user_who_opened_it() {
        let count = Arc::new(AtomicUsize::new(0));
        let sessions = Sessions::new(Duration::from_secs(60), Arc::clone(&count));
        let (alice, mallory) = (caller(), caller());
        let id = sessions.open(&alice, Version::V2025_06_18);
        assert_eq!(id.len(), 32);
        assert_eq!(sessions.resume(&id, &alice), Some(Version::V2025_06_18));
        assert_eq!(count.load(Ordering::Relaxed), 1);
        assert_eq!(sessions.resume(&id, &mallory), None);
        assert!(!sessions.end(&id, &mallory));
        assert!(sessions.end(&id, &alice));
        assert_eq!(count.load(Ordering::Relaxed), 0);
        assert_eq!(sessions.resume(&id, &alice), None);
        assert!(!sessions.end(&id, &alice));
    }

    #[test]
    fn an_idle_session_expires() {
        let sessions = Sessions::new(Duration::ZERO, Arc::default());
        let alice = caller();
        let id = sessions.open(&alice, Version::V2025_11_25);
        assert_eq!(sessions.resume(&id, &alice), None);
        assert!(sessions.lock().is_empty(), "dropped once found expired");
    }
}
