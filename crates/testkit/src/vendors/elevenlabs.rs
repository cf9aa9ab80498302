//! A fake ElevenLabs: `POST /v1/text-to-speech/{voice_id}` with the
//! `xi-api-key` header, `output_format` in the query and the model and
//! voice settings in the JSON body.

use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{Script, header, json_body, query, text_field, tone};

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
        Self { server, script }
    }

    pub fn base_url(&self) -> String {
        self.server.uri()
    }
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
