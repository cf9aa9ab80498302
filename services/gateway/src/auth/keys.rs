//! API keys this gateway has checked, trusted for `auth.key_cache_seconds`
//! and forgotten the moment PostgreSQL announces a change to one (revoked,
//! deleted, rewritten). While the announcements cannot be heard (the
//! listening connection is down or not yet open), nothing is kept and
//! every request is checked against PostgreSQL.
//!
//! A check answered by PostgreSQL is kept only if no announcement (nor a
//! loss of the listening connection) arrived while it was under way: the
//! answer may predate a revocation whose announcement has already been
//! heard. One that arrives later finds the key kept and forgets it.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use voxline_db::Db;
use voxline_db::api_keys::{self, KeyOwner};

/// Checked keys, by their public prefix.
pub struct KeyCache {
    /// How long a checked key is trusted; zero keeps nothing.
    trust: Duration,
    state: Mutex<State>,
    /// The task that listens, ended with the cache.
    listener: std::sync::OnceLock<tokio::task::AbortHandle>,
}

impl Drop for KeyCache {
    fn drop(&mut self) {
        if let Some(listener) = self.listener.get() {
            listener.abort();
        }
    }
}

#[derive(Default)]
struct State {
    /// Whether announcements are being heard.
    hearing: bool,
    /// Moves at every announcement and every change of `hearing`.
    epoch: u64,
    kept: HashMap<String, Kept>,
}

struct Kept {
    /// SHA-256 of the whole key, compared with what is presented.
    hash: String,
    owner: KeyOwner,
    checked: Instant,
}

/// Past this many kept keys, those past their trust go first.
const MOST_KEPT: usize = 10_000;

/// Where a check of a key not kept began, for [`KeyCache::keep`].
#[derive(Debug, Clone, Copy)]
pub struct Ticket(u64);

impl KeyCache {
    /// A cache trusting checked keys for `trust`, listening on `db` for
    /// changes (not at all when `trust` is zero).
    pub fn spawn(db: Db, trust: Duration) -> Arc<Self> {
        let cache = Arc::new(Self {
            trust,
            state: Mutex::default(),
            listener: std::sync::OnceLock::new(),
        });
        if !trust.is_zero() {
            let task = tokio::spawn(listen(db, Arc::downgrade(&cache)));
            let _ = cache.listener.set(task.abort_handle());
        }
        cache
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// The owner of `token` if it was checked lately; otherwise a ticket
    /// for keeping the answer of the check it needs.
    pub fn get(&self, token: &str) -> Result<KeyOwner, Ticket> {
        let prefix = api_keys::prefix_of(token);
        let state = self.state();
        let ticket = Ticket(state.epoch);
        if !state.hearing {
            return Err(ticket);
        }
        let Some(kept) = state.kept.get(&prefix) else {
            return Err(ticket);
        };
        if kept.checked.elapsed() >= self.trust {
            return Err(ticket);
        }
        let hash = kept.hash.clone();
        let owner = kept.owner;
        drop(state);
        if api_keys::constant_time_eq(hash.as_bytes(), api_keys::hash(token).as_bytes()) {
            Ok(owner)
        } else {
            Err(ticket)
        }
    }

    /// Keeps `owner` as the answer for `token`, checked since `ticket`,
    /// unless a change was announced meanwhile.
    pub fn keep(&self, ticket: Ticket, token: &str, owner: KeyOwner) {
        let mut state = self.state();
        if !state.hearing || state.epoch != ticket.0 {
            return;
        }
        if state.kept.len() >= MOST_KEPT {
            let trust = self.trust;
            state.kept.retain(|_, k| k.checked.elapsed() < trust);
            if state.kept.len() >= MOST_KEPT {
                state.kept.clear();
            }
        }
        state.kept.insert(
            api_keys::prefix_of(token),
            Kept {
                hash: api_keys::hash(token),
                owner,
                checked: Instant::now(),
            },
        );
    }

    /// Forgets the key with public prefix `prefix` (revoked here, or
    /// announced as changed).
    pub fn forget(&self, prefix: &str) {
        let mut state = self.state();
        state.epoch += 1;
        state.kept.remove(prefix);
    }

    /// Starts or stops trusting: everything kept is dropped either way,
    /// since announcements may have been missed.
    fn hearing(&self, hearing: bool) {
        let mut state = self.state();
        state.epoch += 1;
        state.hearing = hearing;
        state.kept.clear();
    }
}

/// Hears PostgreSQL's announcements of key changes for as long as the cache
/// lives (it aborts this task when dropped), listening again with backoff
/// after a lost connection.
async fn listen(db: Db, cache: std::sync::Weak<KeyCache>) {
    let mut backoff = Duration::from_millis(250);
    loop {
        match db.listen(api_keys::CHANGES).await {
            Ok(mut changes) => {
                let Some(c) = cache.upgrade() else { return };
                c.hearing(true);
                drop(c);
                backoff = Duration::from_millis(250);
                while let Some(prefix) = changes.recv().await {
                    let Some(c) = cache.upgrade() else { return };
                    c.forget(&prefix);
                }
                let Some(c) = cache.upgrade() else { return };
                c.hearing(false);
                tracing::warn!(
                    "stopped hearing API key changes; checking every key until heard again"
                );
            }
            Err(e) => {
                tracing::debug!(error = %e, "cannot listen for API key changes yet");
            }
        }
        if cache.strong_count() == 0 {
            return;
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(Duration::from_secs(10));
    }
}
