use std::net::TcpListener;
use std::time::Duration;

use serde_json::Value;
use voxline_db::api_keys;
use voxline_standalone::Running;

use crate::TestEnv;

/// The whole system running in this process against a test's own database,
/// Redis namespace and storage folder, with an API key ready.
pub struct TestSystem {
    pub env: TestEnv,
    pub base: String,
    pub api_key: String,
    pub http: reqwest::Client,
    running: Option<Running>,
}

/// Starts the standalone system on a free port.
pub async fn spawn_system(mut env: TestEnv) -> anyhow::Result<TestSystem> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let base = format!("http://{}", listener.local_addr()?);
    env.settings.server.public_url = base.clone();
    env.settings.server.bind = listener.local_addr()?.to_string();
    let tenant = api_keys::ensure_tenant(&env.db, "tenant-a").await?;
    let api_key = api_keys::create(&env.db, tenant, "test").await?.secret;
    let running =
        voxline_standalone::start(env.settings.clone(), listener, voxline_queue_token()).await?;
    Ok(TestSystem {
        env,
        base,
        api_key,
        http: reqwest::Client::new(),
        running: Some(running),
    })
}

fn voxline_queue_token() -> voxline_standalone::CancellationToken {
    voxline_standalone::CancellationToken::new()
}

impl TestSystem {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A key of another tenant, for isolation tests.
    pub async fn key_for(&self, tenant: &str) -> anyhow::Result<String> {
        let id = api_keys::ensure_tenant(&self.env.db, tenant).await?;
        Ok(api_keys::create(&self.env.db, id, "test").await?.secret)
    }

    /// Uploads a file; returns the status and the JSON answer.
    pub async fn upload(&self, path: &std::path::Path) -> anyhow::Result<(u16, Value)> {
        let bytes = tokio::fs::read(path).await?;
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("f");
        let r = self
            .http
            .post(self.url("/v1/uploads"))
            .query(&[("filename", name)])
            .bearer_auth(&self.api_key)
            .body(bytes)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    /// POSTs JSON as this system's tenant.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .post(self.url(path))
            .bearer_auth(&self.api_key)
            .json(body)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<(u16, Value)> {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.api_key)
            .send()
            .await?;
        Ok((r.status().as_u16(), r.json().await.unwrap_or(Value::Null)))
    }

    /// Any call with any bearer token (or none); returns the status, the
    /// JSON answer (null if none) and the headers.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
    ) -> anyhow::Result<(u16, Value, reqwest::header::HeaderMap)> {
        let mut request = self.http.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        let r = request.send().await?;
        let status = r.status().as_u16();
        let headers = r.headers().clone();
        Ok((status, r.json().await.unwrap_or(Value::Null), headers))
    }

    /// Uploads `clip` and asks for a dub of it into `targets`; the job view
    /// of the 202.
    pub async fn dub(&self, clip: &std::path::Path, targets: &[&str]) -> anyhow::Result<Value> {
        let (s, upload) = self.upload(clip).await?;
        anyhow::ensure!(s == 201, "upload: {s} {upload}");
        let body = serde_json::json!({"kind": "dub", "source_upload_id": upload["id"],
                                      "target_languages": targets});
        let (s, job) = self.post("/v1/jobs", &body).await?;
        anyhow::ensure!(s == 202, "job creation: {s} {job}");
        Ok(job)
    }

    /// Polls a job until it ends or `timeout` passes; returns its last view.
    pub async fn wait_for_job(&self, id: &str, timeout: Duration) -> anyhow::Result<Value> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let (_, job) = self.get(&format!("/v1/jobs/{id}")).await?;
            if matches!(
                job["status"].as_str(),
                Some("completed" | "failed" | "cancelled")
            ) {
                return Ok(job);
            }
            anyhow::ensure!(
                tokio::time::Instant::now() < deadline,
                "job {id} did not end in time: {job}"
            );
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    }

    /// Whether every part of the system still runs (none stopped on its own).
    pub fn is_running(&self) -> bool {
        self.running.as_ref().is_some_and(|r| !r.task.is_finished())
    }

    /// Stops the system and waits for it.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        if let Some(r) = self.running.take() {
            r.stop().await?;
        }
        Ok(())
    }
}

impl Drop for TestSystem {
    fn drop(&mut self) {
        if let Some(r) = &self.running {
            r.shutdown.cancel();
        }
    }
}
