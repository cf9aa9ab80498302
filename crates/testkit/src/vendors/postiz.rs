//! A fake Postiz public API: `GET /integrations`, `POST /upload`
//! (multipart `file`) and `POST /posts`, with the API key as the bare
//! `Authorization` header. Posts are checked against the channels it has
//! and the media it holds, with each platform's required settings.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{Script, header, json_body, multipart};

pub const KEY: &str = "postiz-test-fake-key";

pub struct FakePostiz {
    pub server: MockServer,
    pub script: Script,
    /// Media uploaded: (id, path, bytes).
    pub media: Arc<Mutex<Vec<Held>>>,
}

/// A media file the fake holds: id, path, size in bytes.
pub type Held = (String, String, usize);

/// The channels the fake workspace has connected.
fn channels() -> Value {
    json!([
        {"id": "yt-1", "name": "Voxline Shows", "identifier": "youtube", "picture": "", "disabled": false, "profile": "voxline"},
        {"id": "x-1", "name": "Voxline", "identifier": "x", "picture": "", "disabled": false, "profile": "voxline"},
        {"id": "tt-1", "name": "Voxline Clips", "identifier": "tiktok", "picture": "", "disabled": false, "profile": "voxline"},
        {"id": "li-old", "name": "Old page", "identifier": "linkedin-page", "picture": "", "disabled": true, "profile": "old"}
    ])
}

fn error(message: &str) -> Value {
    json!({"message": message, "statusCode": 400})
}

fn key(req: &Request) -> Result<(), String> {
    match header(req, "authorization")? {
        KEY => Ok(()),
        v if v.starts_with("Bearer ") => {
            Err("the API key goes in Authorization bare, without Bearer".into())
        }
        _ => Err("Authorization is not the workspace's API key".into()),
    }
}

impl FakePostiz {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let script = Script::default();
        let media: Arc<Mutex<Vec<Held>>> = Arc::default();
        {
            let script = script.clone();
            Mock::given(method("GET"))
                .and(path("/public/v1/integrations"))
                .respond_with(move |req: &Request| {
                    script.serve(
                        req,
                        |r| key(r).map(|_| Value::Null),
                        |_, _| ResponseTemplate::new(200).set_body_json(channels()),
                        error,
                    )
                })
                .mount(&server)
                .await;
        }
        {
            let (script, media) = (script.clone(), media.clone());
            let base = server.uri();
            Mock::given(method("POST"))
                .and(path("/public/v1/upload"))
                .respond_with(move |req: &Request| {
                    let media = media.clone();
                    let base = base.clone();
                    script.serve(
                        req,
                        check_upload,
                        move |body, _| {
                            let mut held = media.lock().unwrap();
                            let id = format!("media-{}", held.len() + 1);
                            let path = format!("{base}/uploads/{id}.mp4");
                            held.push((
                                id.clone(),
                                path.clone(),
                                body["bytes"].as_u64().unwrap_or(0) as usize,
                            ));
                            ResponseTemplate::new(201).set_body_json(json!({
                                "id": id, "name": body["name"], "path": path,
                                "organizationId": "org-1", "createdAt": "2026-11-25T00:00:00.000Z"
                            }))
                        },
                        error,
                    )
                })
                .mount(&server)
                .await;
        }
        {
            let (script, held) = (script.clone(), media.clone());
            Mock::given(method("POST"))
                .and(path("/public/v1/posts"))
                .respond_with(move |req: &Request| {
                    let held = held.lock().unwrap().clone();
                    script.serve(
                        req,
                        |r| check_posts(r, &held),
                        |body, _| {
                            let answer: Vec<Value> = body["posts"]
                                .as_array()
                                .unwrap()
                                .iter()
                                .enumerate()
                                .map(|(i, p)| json!({"postId": format!("post-{i}"), "integration": p["integration"]["id"]}))
                                .collect();
                            ResponseTemplate::new(201).set_body_json(answer)
                        },
                        error,
                    )
                })
                .mount(&server)
                .await;
        }
        Self {
            server,
            script,
            media,
        }
    }

    /// The base URL a client is configured with (`…/public/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/public/v1", self.server.uri())
    }

    /// The bodies of every post request, in order.
    pub fn posts(&self) -> Vec<Value> {
        self.script
            .seen()
            .into_iter()
            .filter(|s| s.path.ends_with("/posts"))
            .map(|s| s.body)
            .collect()
    }
}

fn check_upload(req: &Request) -> Result<Value, String> {
    key(req)?;
    let parts = multipart::parse(header(req, "content-type")?, &req.body)?;
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or("the `file` part is missing")?;
    let name = file.filename.clone().ok_or("`file` needs a filename")?;
    if file.data.len() < 12 || &file.data[4..8] != b"ftyp" {
        return Err("`file` is not an MP4 video".into());
    }
    Ok(json!({"name": name, "bytes": file.data.len()}))
}

fn check_posts(req: &Request, media: &[Held]) -> Result<Value, String> {
    key(req)?;
    let body = json_body(req)?;
    let kind = body["type"].as_str().unwrap_or_default();
    if !["now", "schedule", "draft"].contains(&kind) {
        return Err("`type` must be now, schedule or draft".into());
    }
    let date = body["date"].as_str().ok_or("`date` is required")?;
    chrono::DateTime::parse_from_rfc3339(date).map_err(|_| "`date` must be an ISO 8601 time")?;
    if !body["tags"].is_array() {
        return Err("`tags` must be an array".into());
    }
    let posts = body["posts"]
        .as_array()
        .filter(|p| !p.is_empty())
        .ok_or("`posts` must list at least one post")?;
    let known = channels();
    for post in posts {
        let id = post["integration"]["id"]
            .as_str()
            .ok_or("each post needs integration.id")?;
        let channel = known
            .as_array()
            .unwrap()
            .iter()
            .find(|c| c["id"] == id && c["disabled"] == false)
            .ok_or(format!("integration `{id}` is not a connected channel"))?;
        let platform = channel["identifier"].as_str().unwrap();
        let value = post["value"]
            .as_array()
            .filter(|v| !v.is_empty())
            .ok_or("each post needs a value array")?;
        for v in value {
            if !v["content"].is_string() {
                return Err("each value needs a content string".into());
            }
            for image in v["image"]
                .as_array()
                .ok_or("each value needs an image array")?
            {
                let found = media.iter().any(|(mid, path, _)| {
                    image["id"] == mid.as_str() && image["path"] == path.as_str()
                });
                if !found {
                    return Err(format!("image {image} is not uploaded media"));
                }
            }
        }
        let settings = &post["settings"];
        if settings["__type"] != platform {
            return Err(format!(
                "settings.__type must be `{platform}` for integration `{id}`"
            ));
        }
        let required: &[&str] = match platform {
            "x" => &["who_can_reply_post"],
            "youtube" => &["title", "type"],
            "tiktok" => &[
                "privacy_level",
                "duet",
                "stitch",
                "comment",
                "autoAddMusic",
                "brand_content_toggle",
                "brand_organic_toggle",
                "content_posting_method",
            ],
            "instagram" | "instagram-standalone" => &["post_type"],
            _ => &[],
        };
        if let Some(missing) = required.iter().find(|k| settings[**k].is_null()) {
            return Err(format!("{platform} posts need settings.{missing}"));
        }
    }
    Ok(body)
}
