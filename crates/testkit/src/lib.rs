//! Test support (dev-only): a fresh PostgreSQL database and Redis namespace
//! per test, settings tuned for fast tests, the whole system started in
//! process on port 0, and the sample clip. Real services, no mocks.

pub mod auth;
mod engines;
mod fleet;
pub mod limits;
pub mod load;
mod media;
pub mod mixes;
pub mod pipeline;
pub mod plot;
pub mod procfs;
pub mod recordings;
mod s3;
pub mod screenshots;
pub mod seed;
pub mod stats;
mod system;
pub mod vendors;
pub mod views;
pub mod webdriver;
mod webhook;

pub use engines::{analysis_installed, demo_engines, installed_engines};
pub use fleet::Fleet;
pub use media::{
    binary, ffprobe_json, installed, sample_clip, sample_clip_in, sample_clip_saying, stream_count,
    whisper_model,
};
pub use s3::S3Server;
pub use system::{TestSystem, spawn_system};
/// Word and character error rates (`voxline_core::wer`).
pub use voxline_core::wer;
pub use webhook::{Delivery, WebhookReceiver};

use std::path::PathBuf;

use voxline_config::{Secret, Settings};
use voxline_db::Db;

/// The PostgreSQL server tests use (override with `VOXLINE_TEST_PG`).
pub fn pg_base() -> String {
    std::env::var("VOXLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

/// The Redis server tests use (override with `VOXLINE_TEST_REDIS`).
pub fn redis_url() -> String {
    std::env::var("VOXLINE_TEST_REDIS").unwrap_or_else(|_| "redis://127.0.0.1:6379".into())
}

/// A database of its own for one test, migrated, plus its own Redis
/// namespace and storage folder. The database is dropped when this is.
pub struct TestEnv {
    pub settings: Settings,
    pub db: Db,
    pub dir: tempfile::TempDir,
    db_name: String,
}

impl TestEnv {
    /// The name of the test's database.
    pub fn database(&self) -> &str {
        &self.db_name
    }

    pub async fn new() -> anyhow::Result<Self> {
        let id = uuid::Uuid::new_v4().simple().to_string();
        let db_name = format!("voxline_test_{}", &id[..16]);
        let (admin, conn) =
            tokio_postgres::connect(&format!("{}/postgres", pg_base()), tokio_postgres::NoTls)
                .await?;
        tokio::spawn(conn);
        admin
            .execute(&format!("CREATE DATABASE {db_name}"), &[])
            .await?;
        let dir = tempfile::tempdir()?;
        let mut settings = Settings::default();
        settings.database.url = Secret::new(format!("{}/{db_name}", pg_base()));
        settings.database.pool_size = 8;
        settings.redis.url = Secret::new(redis_url());
        settings.redis.namespace = format!("voxline-test-{}", &id[..12]);
        settings.storage.local_root = dir.path().join("objects");
        settings.runner.lease_seconds = 5;
        settings.runner.backoff_base_seconds = 0.2;
        settings.runner.backoff_max_seconds = 1.0;
        settings.runner.reconcile_interval_seconds = 1;
        settings.runner.redispatch_after_seconds = 3;
        settings.runner.shutdown_grace_seconds = 1;
        settings.server.max_upload_bytes = 20 * 1024 * 1024;
        // Suites send bursts no client would; the security suite turns
        // limits on where it tests them. Fake receivers listen on loopback.
        settings.rate_limits.enabled = false;
        settings.outbound.allow_private_networks = true;
        // Tests run side by side; a test that reads metrics picks a port.
        settings.telemetry.ops_bind = String::new();
        // Every pipeline tells speakers apart and separates voices from
        // backgrounds, as a deployment does.
        analysis_installed(&mut settings.engines);
        let db = Db::connect(settings.database.url.expose(), 8)?;
        db.migrate().await?;
        Ok(Self {
            settings,
            db,
            dir,
            db_name,
        })
    }

    /// A folder inside this test's scratch space.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

impl Drop for TestEnv {
    fn drop(&mut self) {
        // Best effort, on a thread of its own: Drop cannot await.
        let name = self.db_name.clone();
        let namespace = self.settings.redis.namespace.clone();
        std::thread::spawn(move || {
            let Ok(rt) = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            else {
                return;
            };
            rt.block_on(async move {
                if let Ok((admin, conn)) = tokio_postgres::connect(
                    &format!("{}/postgres", pg_base()),
                    tokio_postgres::NoTls,
                )
                .await
                {
                    tokio::spawn(conn);
                    let _ = admin
                        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
                        .await;
                }
                let _ = wipe_redis(&namespace).await;
            });
        })
        .join()
        .ok();
    }
}

/// Deletes every Redis key of a namespace: what a restart without
/// persistence or a `FLUSHALL` does to Voxline's queues. Returns how many.
pub async fn wipe_redis(namespace: &str) -> anyhow::Result<usize> {
    let client = redis::Client::open(redis_url())?;
    let mut c = client.get_multiplexed_async_connection().await?;
    // Queues are braced for Redis Cluster (`{namespace:stage:S}:...`).
    let mut keys: Vec<String> = Vec::new();
    for pattern in [format!("{namespace}*"), format!("{{{namespace}:*")] {
        let found: Vec<String> = redis::cmd("KEYS").arg(pattern).query_async(&mut c).await?;
        keys.extend(found);
    }
    if !keys.is_empty() {
        let _: () = redis::cmd("DEL").arg(&keys).query_async(&mut c).await?;
    }
    Ok(keys.len())
}
