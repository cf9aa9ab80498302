//! Postiz's public API, for social publishing: the connected channels
//! (`GET /integrations`), media uploads (`POST /upload`) and posts
//! (`POST /posts`), with the API key as the bare `Authorization` header.
//!
//! A post is not idempotent, so it is sent with `send_once`: when Postiz's
//! answer is lost, the error says so (`Uncertain`) instead of posting again.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};
use voxline_config::PostizSettings;

use super::gate::VendorGate;
use super::http::VendorHttp;
use crate::ProviderError;

pub struct Postiz {
    name: String,
    settings: PostizSettings,
    http: VendorHttp,
}

/// A connected social account.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Channel {
    pub id: String,
    /// The platform, as Postiz names it: `x`, `youtube`, `tiktok`,
    /// `instagram`, `linkedin`, `linkedin-page`, ...
    #[serde(rename = "identifier")]
    pub platform: String,
    pub name: String,
    #[serde(default)]
    pub disabled: bool,
}

/// A file Postiz holds, to attach to posts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Media {
    pub id: String,
    pub path: String,
}

impl Postiz {
    pub fn new(name: &str, settings: &PostizSettings, gate: Arc<dyn VendorGate>) -> Self {
        Self {
            name: name.to_owned(),
            settings: settings.clone(),
            http: VendorHttp::new(name, &settings.limits, gate),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The longest a post can wait for its turn and then for Postiz's
    /// answer; a claim older than this got no answer.
    pub fn longest_post(&self) -> Duration {
        Duration::from_secs(self.settings.limits.timeout_seconds * 2 + 15)
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    fn request(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.http
            .client
            .request(method, self.url(path))
            .header("authorization", self.settings.api_key.expose())
    }

    fn build_error(&self, e: reqwest::Error) -> ProviderError {
        ProviderError::Engine {
            engine: self.name.clone(),
            message: format!("cannot build the request: {e}"),
        }
    }

    /// The social accounts connected to the Postiz workspace.
    pub async fn channels(&self) -> Result<Vec<Channel>, ProviderError> {
        let reply = self
            .http
            .send(|| {
                let r = self.request(reqwest::Method::GET, "/integrations").build();
                async move { r.map_err(|e| self.build_error(e)) }
            })
            .await?;
        self.http.json(&reply)
    }

    /// Uploads a file for posts to carry. Repeating an upload only leaves
    /// a spare copy in Postiz's media library, so it is retried freely.
    pub async fn upload(
        &self,
        file: &Path,
        file_name: &str,
        content_type: &str,
    ) -> Result<Media, ProviderError> {
        let bytes =
            bytes::Bytes::from(
                tokio::fs::read(file)
                    .await
                    .map_err(|e| ProviderError::Engine {
                        engine: self.name.clone(),
                        message: format!("cannot read {}: {e}", file.display()),
                    })?,
            );
        let reply = self
            .http
            .send(|| {
                let part = reqwest::multipart::Part::stream(bytes.clone())
                    .file_name(file_name.to_owned())
                    .mime_str(content_type);
                let r = part.map_err(|e| self.build_error(e)).and_then(|part| {
                    self.request(reqwest::Method::POST, "/upload")
                        .multipart(reqwest::multipart::Form::new().part("file", part))
                        .build()
                        .map_err(|e| self.build_error(e))
                });
                async move { r }
            })
            .await?;
        self.http.json(&reply)
    }

    /// Publishes `content` with `media` on every channel now, each with its
    /// platform's settings. Never repeated when the outcome is unknown.
    /// Returns Postiz's answer as it came (normally `[{postId,
    /// integration}]`): once Postiz said 2xx the post exists, whatever the
    /// body looks like.
    pub async fn post(
        &self,
        targets: &[(Channel, Map<String, Value>)],
        content: &str,
        media: &Media,
    ) -> Result<Value, ProviderError> {
        let posts: Vec<Value> = targets
            .iter()
            .map(|(channel, settings)| {
                json!({
                    "integration": {"id": channel.id},
                    "value": [{"content": content, "image": [{"id": media.id, "path": media.path}]}],
                    "settings": settings,
                })
            })
            .collect();
        let body = json!({
            "type": "now",
            "date": chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
            "shortLink": false,
            "tags": [],
            "posts": posts,
        });
        let reply = self
            .http
            .send_once(|| {
                let r = self
                    .request(reqwest::Method::POST, "/posts")
                    .json(&body)
                    .build();
                async move { r.map_err(|e| self.build_error(e)) }
            })
            .await?;
        Ok(serde_json::from_slice(&reply.body)
            .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&reply.body).into_owned())))
    }
}

/// The settings a platform needs for a video post, Postiz's `__type` first,
/// then what the caller gave for that platform over Voxline's defaults.
pub fn post_settings(platform: &str, title: &str, given: Option<&Value>) -> Map<String, Value> {
    let defaults = match platform {
        "x" => json!({"who_can_reply_post": "everyone"}),
        "youtube" => json!({"title": title, "type": "public"}),
        "tiktok" => json!({
            "privacy_level": "PUBLIC_TO_EVERYONE", "duet": false, "stitch": false,
            "comment": true, "autoAddMusic": "no", "brand_content_toggle": false,
            "brand_organic_toggle": false, "content_posting_method": "DIRECT_POST"
        }),
        "instagram" | "instagram-standalone" => json!({"post_type": "post"}),
        _ => json!({}),
    };
    let mut settings = Map::new();
    settings.insert("__type".into(), json!(platform));
    for source in [Some(&defaults), given] {
        if let Some(Value::Object(fields)) = source {
            for (k, v) in fields {
                if k != "__type" {
                    settings.insert(k.clone(), v.clone());
                }
            }
        }
    }
    settings
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn platform_settings_take_the_callers_over_the_defaults() {
        let given = json!({"type": "unlisted", "__type": "x"});
        let s = post_settings("youtube", "My show (Spanish)", Some(&given));
        assert_eq!(s["__type"], "youtube");
        assert_eq!(s["title"], "My show (Spanish)");
        assert_eq!(s["type"], "unlisted");
        assert_eq!(post_settings("bluesky", "t", None).len(), 1);
    }
}
