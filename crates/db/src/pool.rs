use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use deadpool_postgres::{GenericClient, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use tokio_postgres::types::ToSql;
use tokio_postgres::{NoTls, Row};

use crate::DbError;
use crate::query::Query;

mod embedded {
    refinery::embed_migrations!("../../migrations");
}

/// A pool of PostgreSQL connections, cheap to clone.
#[derive(Clone)]
pub struct Db {
    pool: Pool,
    /// Where the pool connects, for connections outside it ([`Db::listen`]).
    config: Arc<tokio_postgres::Config>,
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
            config.clone(),
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
        Ok(Self {
            pool,
            config: Arc::new(config),
        })
    }

    pub(crate) fn config(&self) -> &tokio_postgres::Config {
        &self.config
    }

    /// A connection from the pool. Its prepared statements stay with it, so
    /// each query is parsed and planned once per connection.
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
        let applied = result?.applied_migrations().len();
        if applied > 0 {
            // Enum types made by the migrations are unknown to connections
            // opened before them; start afresh.
            drop(client);
            self.pool.retain(|_, _| false);
        }
        Ok(applied)
    }

    /// Whether PostgreSQL answers.
    pub async fn ping(&self) -> Result<(), DbError> {
        self.client().await?.execute("SELECT 1", &[]).await?;
        Ok(())
    }

    /// Runs `query` on a pooled connection: every row it answers.
    pub(crate) async fn rows(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Vec<Row>, DbError> {
        rows(&self.client().await?, query, params).await
    }

    /// Runs `query` on a pooled connection: its one row, or `None`.
    pub(crate) async fn row(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<Option<Row>, DbError> {
        row(&self.client().await?, query, params).await
    }

    /// Runs `query` on a pooled connection: how many rows it changed.
    pub(crate) async fn execute(
        &self,
        query: &Query,
        params: &[&(dyn ToSql + Sync)],
    ) -> Result<u64, DbError> {
        execute(&self.client().await?, query, params).await
    }
}

/// Runs `query` (prepared once per connection) on `client`.
pub(crate) async fn rows(
    client: &impl GenericClient,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Vec<Row>, DbError> {
    let statement = client.prepare_cached(query.sql).await?;
    Ok(client.query(&statement, params).await?)
}

/// Runs `query` on `client`: its one row, or `None`.
pub(crate) async fn row(
    client: &impl GenericClient,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<Option<Row>, DbError> {
    let statement = client.prepare_cached(query.sql).await?;
    Ok(client.query_opt(&statement, params).await?)
}

/// Runs `query` on `client`: how many rows it changed.
pub(crate) async fn execute(
    client: &impl GenericClient,
    query: &Query,
    params: &[&(dyn ToSql + Sync)],
) -> Result<u64, DbError> {
    let statement = client.prepare_cached(query.sql).await?;
    Ok(client.execute(&statement, params).await?)
}
