//! A fresh, migrated database per test, and jobs made straight in it.

use voxline_core::{JobId, JobKind, JobOptions, Priority, StageRunId, UploadId};
use voxline_db::jobs::{self, Created, NewJob};
use voxline_db::runs::{self, Claimed};
use voxline_db::{Db, api_keys, uploads};

/// A migrated database of its own, dropped with the value.
pub struct TestDb {
    pub db: Db,
    name: String,
}

fn server() -> String {
    std::env::var("VOXLINE_TEST_PG").unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".into())
}

impl TestDb {
    pub async fn new() -> Self {
        let name = format!(
            "voxline_db_test_{}",
            &uuid::Uuid::new_v4().simple().to_string()[..16]
        );
        let (admin, conn) =
            tokio_postgres::connect(&format!("{}/postgres", server()), tokio_postgres::NoTls)
                .await
                .expect("PostgreSQL on 127.0.0.1:5432 (scripts/setup.sh starts it)");
        tokio::spawn(conn);
        admin
            .execute(&format!("CREATE DATABASE {name}"), &[])
            .await
            .unwrap();
        let url = format!("{}/{name}", server());
        let db = Db::connect(&url, 8).unwrap();
        db.migrate().await.unwrap();
        Self { db, name }
    }

    /// One value from a query (tests look at rows directly).
    pub async fn one<T: for<'a> tokio_postgres::types::FromSql<'a>>(
        &self,
        sql: &str,
        params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
    ) -> T {
        self.db
            .client()
            .await
            .unwrap()
            .query_one(sql, params)
            .await
            .unwrap()
            .get(0)
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let name = self.name.clone();
        std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                if let Ok((admin, conn)) = tokio_postgres::connect(
                    &format!("{}/postgres", server()),
                    tokio_postgres::NoTls,
                )
                .await
                {
                    tokio::spawn(conn);
                    let _ = admin
                        .execute(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"), &[])
                        .await;
                }
            });
        })
        .join()
        .ok();
    }
}

/// A dub job into `targets` (publishing when `publish`) over a placeholder upload.
pub async fn dub_job(db: &Db, tenant: &str, targets: &[&str], publish: bool) -> Created {
    let tenant = api_keys::ensure_tenant(db, tenant).await.unwrap();
    let upload = uploads::Upload {
        id: UploadId::new(),
        tenant_id: tenant,
        object_key: "uploads/none".into(),
        file_name: "none.wav".into(),
        content_type: "audio/wav".into(),
        size_bytes: 1,
        duration: 1.0,
        media: serde_json::json!({}),
        created_at: chrono::Utc::now(),
    };
    uploads::insert(db, &upload).await.unwrap();
    jobs::create(
        db,
        &NewJob {
            id: JobId::new(),
            tenant_id: tenant,
            kind: JobKind::Dub,
            source_upload_id: upload.id,
            background_upload_id: None,
            source_language: "en".into(),
            target_languages: targets.iter().map(|t| t.to_string()).collect(),
            options: JobOptions::default(),
            publish,
            duration: 1.0,
            priority: Priority::Normal,
            idempotency_key: None,
            request_hash: "test".into(),
            max_attempts: 3,
            max_in_flight: None,
            prices: None,
            traceparent: String::new(),
            script: None,
        },
    )
    .await
    .unwrap()
}

/// Claims `run` for `owner`: the claimed run, or `None` when the claim
/// does not apply.
pub async fn claim_one(db: &Db, owner: &str, run: StageRunId) -> Option<Claimed> {
    runs::claim(db, owner, &[(run, String::new())])
        .await
        .unwrap()
        .pop()
        .unwrap()
}
