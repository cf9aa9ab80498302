use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::NoTls;

use crate::DbError;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// A pool of PostgreSQL connections, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
}

impl Db {
    /// Builds the pool; connections open lazily, so this succeeds while the
    /// database is down and `/readyz` reports it.
    pub fn connect(url: &str, pool_size: usize) -> Result<Self, DbError> {
        let mut config =
            tokio_postgres::Config::from_str(url).map_err(|e| DbError::Config(e.to_string()))?;
        config.connect_timeout(Duration::from_secs(5));
        if config.get_application_name().is_none() {
            config.application_name("voxline");
        }
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(pool_size.max(2))
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Duration::from_secs(10)))
            .create_timeout(Some(Duration::from_secs(5)))
            .recycle_timeout(Some(Duration::from_secs(5)))
            .build()
            .map_err(|e| DbError::Config(e.to_string()))?;
        Ok(Self { pool })
    }

    /// A connection from the pool.
    pub async fn client(&self) -> Result<deadpool_postgres::Object, DbError> {
        Ok(self.pool.get().await?)
    }

    /// Applies every migration not yet applied. Safe to run from several
    /// processes at once: refinery serializes on its history table, and an
    /// advisory lock keeps concurrent starts from racing on a fresh database.
    pub async fn migrate(&self) -> Result<usize, DbError> {
        let mut client = self.client().await?;
        client
            .execute("SELECT pg_advisory_lock(7262737001)", &[])
            .await?;
        let result = embedded::migrations::runner()
            .run_async(&mut **client)
            .await
            .map_err(|e| DbError::Migration(e.to_string()));
        client
            .execute("SELECT pg_advisory_unlock(7262737001)", &[])
            .await?;
        Ok(result?.applied_migrations().len())
    }

    /// Whether PostgreSQL answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }
}
