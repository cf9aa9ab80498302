//! The publisher service: delivers a finished language's results to the
//! configured targets: a local folder, and an HMAC-signed webhook.

mod folder;
mod webhook;

use std::sync::Arc;

use voxline_config::{PublishSettings, Settings};
use voxline_core::Stage;
use voxline_db::artifacts;
use voxline_db::runs::Completion;
use voxline_queue::{StageContext, StageError, StageHandler};

pub use webhook::{sign, verify_signature};

pub struct Publish {
    settings: PublishSettings,
    http: reqwest::Client,
}

impl Publish {
    pub fn new(settings: PublishSettings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(15))
            .build()
            .expect("an HTTP client with default TLS");
        Self { settings, http }
    }
}

#[async_trait::async_trait]
impl StageHandler for Publish {
    fn stage(&self) -> Stage {
        Stage::Publish
    }

    async fn run(&self, ctx: &StageContext) -> Result<Completion, StageError> {
        let client = ctx.db.client().await.map_err(StageError::from)?;
        let files: Vec<_> = artifacts::for_job(&client, ctx.job().id)
            .await?
            .into_iter()
            .filter(|a| a.language == ctx.language() && a.stage != "publish")
            .collect();
        drop(client);
        let mut targets = Vec::new();
        if let Some(folder) = &self.settings.folder {
            let written = folder::copy(ctx, folder, &files).await?;
            targets.push(serde_json::json!({ "kind": "folder", "path": written }));
        }
        let url = ctx
            .job()
            .options
            .webhook_url
            .clone()
            .or_else(|| self.settings.webhook_url.clone());
        if let Some(url) = url {
            webhook::deliver(
                ctx,
                &self.http,
                &url,
                self.settings.webhook_secret.expose(),
                &files,
            )
            .await?;
            targets.push(serde_json::json!({ "kind": "webhook", "url": url }));
        }
        Ok(Completion {
            output: serde_json::json!({ "targets": targets }),
            engine: Some("publisher".into()),
            note: Some(format!("published to {} target(s)", targets.len())),
            ..Default::default()
        })
    }
}

/// Runs the publisher until SIGTERM.
pub async fn run(settings: Settings) -> anyhow::Result<()> {
    let handler = Arc::new(Publish::new(settings.publish.clone()));
    voxline_queue::run_service(settings, "publisher", handler).await?;
    Ok(())
}
