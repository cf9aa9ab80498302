//! The publisher service: delivers a finished language's results to the
//! configured targets: a local folder, and an HMAC-signed webhook.

mod folder;
mod webhook;

use std::sync::Arc;

use voxline_config::{PublishSettings, Settings};
use voxline_core::Stage;
use voxline_db::artifacts;
use voxline_db::runs::Completion;
use voxline_providers::outbound::OutboundPolicy;
use voxline_queue::{StageContext, StageError, StageHandler};

pub use webhook::{sign, verify_signature};

/// How long a webhook endpoint may take to answer.
const WEBHOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(15);

pub struct Publish {
    settings: PublishSettings,
    /// For the operator's own webhook URL (configuration is trusted).
    http: reqwest::Client,
    /// For URLs users hand in: public addresses only (outbound policy).
    guarded: reqwest::Client,
    policy: OutboundPolicy,
}

impl Publish {
    pub fn new(settings: &Settings) -> Self {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .expect("an HTTP client with default TLS");
        let policy = OutboundPolicy::from_settings(&settings.outbound);
        Self {
            settings: settings.publish.clone(),
            http,
            guarded: policy.client(WEBHOOK_TIMEOUT),
            policy,
        }
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
        let target = match (&ctx.job().options.webhook_url, &self.settings.webhook_url) {
            (Some(user), _) => {
                // The URL was checked when the job was made; the policy may
                // have tightened since, and a literal address meets no resolver.
                let parsed = url::Url::parse(user)
                    .map_err(|e| StageError::bad_input("webhook_url_not_allowed", e.to_string()))?;
                self.policy.check_url(&parsed).map_err(|e| {
                    StageError::bad_input(
                        "webhook_url_not_allowed",
                        format!("options.webhook_url: {e}"),
                    )
                })?;
                Some((user.clone(), &self.guarded))
            }
            (None, Some(operator)) => Some((operator.clone(), &self.http)),
            (None, None) => None,
        };
        if let Some((url, http)) = target {
            webhook::deliver(
                ctx,
                http,
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
    let handler = Arc::new(Publish::new(&settings));
    voxline_queue::run_service(settings, "publisher", handler).await?;
    Ok(())
}
