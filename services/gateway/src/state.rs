use std::sync::Arc;

use voxline_config::Settings;
use voxline_db::Db;
use voxline_providers::Engines;
use voxline_providers::outbound::OutboundPolicy;
use voxline_queue::Queue;
use voxline_storage::Storage;

use crate::auth::Authenticator;
use crate::limits::Limiter;
use crate::snapshots::Snapshots;

/// What every handler can reach.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    /// Makes jobs, those of concurrent requests in one statement.
    pub creator: voxline_db::jobs::Creator,
    /// Jobs as their views show them, kept between polls.
    pub snapshots: Snapshots,
    pub storage: Storage,
    /// The stages' queues: a job's first stage, a retry, an edit's re-run go here.
    pub queue: Queue,
    pub engines: Arc<Engines>,
    pub auth: Arc<Authenticator>,
    pub limiter: Limiter,
    /// Where user-supplied URLs (webhooks) may point.
    pub outbound: OutboundPolicy,
    pub settings: Arc<Settings>,
    /// Turns to read an upload through (`server.media_checks`), handed out
    /// in arrival order.
    pub media_checks: Arc<tokio::sync::Semaphore>,
    /// Which jobs have news, for the event streams open here.
    pub event_watch: crate::event_watch::EventWatch,
}
