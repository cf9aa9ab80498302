//! A fake ElevenLabs: `POST /v1/text-to-speech/{voice_id}` with the
//! `xi-api-key` header, `output_format` in the query and the model and
//! voice settings in the JSON body; instant voice cloning, `POST
//! /v1/voices/add` (multipart: a `name` and one or more audio `files`),
//! which answers a new `voice_id`, and `DELETE /v1/voices/{voice_id}`.

use serde_json::{Value, json};
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{Script, header, json_body, multipart, query, text_field, tone};

pub struct FakeElevenLabs {
    pub server: MockServer,
    pub script: Script,
}

pub const KEY: &str = "xi-test-fake-key";

fn error(message: &str) -> Value {
    json!({"detail": {"status": "invalid_request", "message": message}})
}

impl FakeElevenLabs {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let script = Script::default();
        let mp3 = tone("mp3");
        let s = script.clone();
        Mock::given(method("POST"))
            .and(path_regex("^/v1/text-to-speech/[^/]+$"))
            .respond_with(move |req: &Request| {
                let mp3 = mp3.clone();
                s.serve(
                    req,
                    check,
                    move |_, _| {
                        ResponseTemplate::new(200)
                            .insert_header("content-type", "audio/mpeg")
                            .set_body_bytes(mp3)
                    },
                    error,
                )
            })
            .mount(&server)
            .await;
        let s = script.clone();
        Mock::given(method("POST"))
            .and(path("/v1/voices/add"))
            .respond_with(move |req: &Request| {
                let made = s.count("/v1/voices/add");
                s.serve(
                    req,
                    check_clone,
                    move |_, _| {
                        ResponseTemplate::new(200).set_body_json(json!({
                            "voice_id": format!("cloned{made:04}"),
                            "requires_verification": false,
                        }))
                    },
                    error,
                )
            })
            .mount(&server)
            .await;
        let s = script.clone();
        Mock::given(method("DELETE"))
            .and(path_regex("^/v1/voices/[^/]+$"))
            .respond_with(move |req: &Request| {
                s.serve(
                    req,
                    |req| {
                        if header(req, "xi-api-key")? != KEY {
                            return Err("`xi-api-key` is not the account's key".into());
                        }
                        Ok(json!({"voice": req.url.path().rsplit('/').next()}))
                    },
                    |_, _| ResponseTemplate::new(200).set_body_json(json!({"status": "ok"})),
                    error,
                )
            })
            .mount(&server)
            .await;
        Self { server, script }
    }

    /// The ids of the voices deleted, in order.
    pub fn deleted_voices(&self) -> Vec<String> {
        self.script
            .seen()
            .iter()
            .filter(|s| s.body.get("voice").is_some() && s.path.starts_with("/v1/voices/"))
            .filter_map(|s| s.body["voice"].as_str().map(str::to_owned))
            .collect()
    }

    pub fn base_url(&self) -> String {
        self.server.uri()
    }
}

/// A voice to clone: a name and at least one audio file of speech.
fn check_clone(req: &Request) -> Result<Value, String> {
    if header(req, "xi-api-key")? != KEY {
        return Err("`xi-api-key` is not the account's key".into());
    }
    let parts = multipart::parse(header(req, "content-type")?, &req.body)?;
    let name = parts
        .iter()
        .find(|p| p.name == "name" && p.filename.is_none())
        .map(|p| String::from_utf8_lossy(&p.data).into_owned())
        .filter(|n| !n.trim().is_empty())
        .ok_or("`name` is required")?;
    let files: Vec<_> = parts.iter().filter(|p| p.name == "files").collect();
    if files.is_empty() {
        return Err("`files` is required: one or more audio samples".into());
    }
    let mut seconds = 0.0;
    for file in &files {
        if file.filename.is_none() {
            return Err("each of `files` must be a file".into());
        }
        seconds += audio_seconds(&file.data)?;
    }
    Ok(json!({"name": name, "files": files.len(), "seconds": seconds}))
}

/// The length of an audio file, read by ffprobe.
fn audio_seconds(data: &[u8]) -> Result<f64, String> {
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let path = dir.path().join("sample");
    std::fs::write(&path, data).map_err(|e| e.to_string())?;
    let out = std::process::Command::new("ffprobe")
        .args([
            "-v",
            "error",
            "-show_entries",
            "format=duration",
            "-of",
            "csv=p=0",
        ])
        .arg(&path)
        .output()
        .map_err(|e| e.to_string())?;
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|s| *s > 0.0)
        .ok_or_else(|| "the sample is not audio".into())
}

fn check(req: &Request) -> Result<Value, String> {
    if header(req, "xi-api-key")? != KEY {
        return Err("`xi-api-key` is not the account's key".into());
    }
    let body = json_body(req)?;
    text_field(&body, "text")?;
    text_field(&body, "model_id")?;
    let settings = &body["voice_settings"];
    for key in ["stability", "similarity_boost", "style"] {
        match settings[key].as_f64() {
            Some(v) if (0.0..=1.0).contains(&v) => {}
            _ => return Err(format!("voice_settings.{key} must be a number from 0 to 1")),
        }
    }
    if !settings["use_speaker_boost"].is_boolean() {
        return Err("voice_settings.use_speaker_boost must be a boolean".into());
    }
    let format = query(req, "output_format").unwrap_or_else(|| "mp3_44100_128".into());
    if !["mp3_", "pcm_", "ulaw_", "opus_"]
        .iter()
        .any(|p| format.starts_with(p))
    {
        return Err(format!("unknown output_format `{format}`"));
    }
    let voice = req
        .url
        .path()
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_owned();
    Ok(json!({"voice": voice, "body": body, "output_format": format}))
}
