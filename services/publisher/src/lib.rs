//! The publisher service: delivers a finished language's results to the
//! configured targets: a local folder, social channels through Postiz, and
//! an HMAC-signed webhook (last, so it can say where the work went).

mod folder;
mod social;
mod webhook;

use std::sync::Arc;

use voxline_config::{PublishSettings, Settings};
use voxline_core::Stage;
use voxline_db::artifacts;
use voxline_db::runs::Completion;
use voxline_providers::VendorGate;
use voxline_providers::outbound::OutboundPolicy;
use voxline_providers::vendor::Postiz;
use voxline_worker::{StageContext, StageError, StageHandler};

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
    /// The configured Postiz vendor, for jobs that ask for social posts.
    postiz: Option<Postiz>,
}

impl Publish {
    /// Vendor requests (Postiz) go through `gate`.
    pub fn new(settings: &Settings, gate: Arc<dyn VendorGate>) -> Self {
        let http = reqwest::Client::builder()
            .timeout(WEBHOOK_TIMEOUT)
            .build()
            .expect("an HTTP client with default TLS");
        let policy = OutboundPolicy::from_settings(&settings.outbound);
        let postiz = settings.vendors.iter().find_map(|(name, v)| match v {
            voxline_config::VendorSettings::Postiz(s) => Some(Postiz::new(name, s, gate.clone())),
            _ => None,
        });
        Self {
            settings: settings.publish.clone(),
            http,
            guarded: policy.client(WEBHOOK_TIMEOUT),
            policy,
            postiz,
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
        if let Some(options) = &ctx.job().options.social {
            targets.push(social::post(ctx, self.postiz.as_ref(), options, &files).await?);
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
    let gate = voxline_worker::vendor_gate(&settings).await?;
    let handler = Arc::new(Publish::new(&settings, gate));
    voxline_worker::run_service(settings, "publisher", handler).await?;
    Ok(())
}
