//! A small client of the native API, with retries that are safe because
//! creation calls carry an Idempotency-Key.

use std::path::Path;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use serde_json::Value;
use tokio_util::io::ReaderStream;

pub struct Client {
    http: reqwest::Client,
    base: String,
    key: String,
}

impl Client {
    pub fn new(server: &str, key: Option<String>) -> anyhow::Result<Self> {
        let key = key.ok_or_else(|| anyhow!("no API key: pass --api-key or set VOXLINE_API_KEY (create one with `voxline keys create`)"))?;
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .build()?;
        Ok(Self {
            http,
            base: server.trim_end_matches('/').to_owned(),
            key,
        })
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Streams a file to `POST /v1/uploads`.
    pub async fn upload(&self, file: &Path) -> anyhow::Result<Value> {
        let name = file
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("upload")
            .to_owned();
        let mut last = None;
        for attempt in 0..4 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            let f = tokio::fs::File::open(file)
                .await
                .with_context(|| format!("cannot read {}", file.display()))?;
            let len = f.metadata().await?.len();
            let response = self
                .http
                .post(self.url("/v1/uploads"))
                .query(&[("filename", &name)])
                .bearer_auth(&self.key)
                .header("content-type", "application/octet-stream")
                .header("content-length", len)
                .body(reqwest::Body::wrap_stream(ReaderStream::new(f)))
                .send()
                .await;
            match response {
                Ok(r) => return answer(r).await,
                Err(e) => last = Some(e),
            }
        }
        Err(anyhow!(
            "upload failed: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    pub async fn post(
        &self,
        path: &str,
        body: &Value,
        idempotency_key: Option<&str>,
    ) -> anyhow::Result<Value> {
        let mut last = None;
        for attempt in 0..4 {
            if attempt > 0 {
                tokio::time::sleep(Duration::from_secs(1 << attempt)).await;
            }
            let mut req = self
                .http
                .post(self.url(path))
                .bearer_auth(&self.key)
                .json(body);
            if let Some(k) = idempotency_key {
                req = req.header("idempotency-key", k);
            }
            match req.send().await {
                Ok(r) => return answer(r).await,
                // Without a key a retry could act twice; only retry with one.
                Err(e) if idempotency_key.is_some() => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(anyhow!(
            "{path}: {}",
            last.map(|e| e.to_string()).unwrap_or_default()
        ))
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(self.url(path))
            .bearer_auth(&self.key)
            .send()
            .await?;
        answer(r).await
    }

    /// Downloads a URL (a signed link: no auth header) into `dest`.
    pub async fn download(&self, url: &str, dest: &Path) -> anyhow::Result<u64> {
        use futures::StreamExt;
        use tokio::io::AsyncWriteExt;
        let response = self.http.get(url).send().await?;
        if !response.status().is_success() {
            bail!(
                "download of {} failed: {}",
                dest.display(),
                response.status()
            );
        }
        let mut out = tokio::fs::File::create(dest)
            .await
            .with_context(|| format!("cannot write {}", dest.display()))?;
        let mut stream = response.bytes_stream();
        let mut total = 0;
        while let Some(chunk) = stream.next().await {
            let chunk = chunk?;
            total += chunk.len() as u64;
            out.write_all(&chunk).await?;
        }
        out.flush().await?;
        Ok(total)
    }
}

/// The JSON of a 2xx answer, or the server's error message.
async fn answer(r: reqwest::Response) -> anyhow::Result<Value> {
    let status = r.status();
    let body: Value = r.json().await.unwrap_or(Value::Null);
    if status.is_success() {
        return Ok(body);
    }
    let code = body["error"]["code"].as_str().unwrap_or("error");
    let message = body["error"]["message"].as_str().unwrap_or("no details");
    bail!("the server answered {status} ({code}): {message}")
}
