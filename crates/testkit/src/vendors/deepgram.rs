//! A fake Deepgram: `POST /v1/listen` (pre-recorded audio in the body,
//! options in the query) and `POST /v1/speak` (Aura), with
//! `Authorization: Token <key>`.

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{Script, header, json_body, query, text_field, tone};

pub struct FakeDeepgram {
    pub server: MockServer,
    pub script: Script,
}

pub const KEY: &str = "dg-test-fake-key";

fn error(message: &str) -> Value {
    json!({"err_code": "Bad Request", "err_msg": message, "request_id": "fake"})
}

fn token(req: &Request) -> Result<(), String> {
    match header(req, "authorization")? {
        v if v == format!("Token {KEY}") => Ok(()),
        v => Err(format!("authorization must be `Token <key>`, got `{v}`")),
    }
}

impl FakeDeepgram {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let script = Script::default();
        {
            let script = script.clone();
            Mock::given(method("POST"))
                .and(path("/v1/listen"))
                .respond_with(move |req: &Request| {
                    script.serve(req, check_listen, |body, _| listen(body), error)
                })
                .mount(&server)
                .await;
        }
        let mp3 = tone("mp3");
        {
            let script = script.clone();
            Mock::given(method("POST"))
                .and(path("/v1/speak"))
                .respond_with(move |req: &Request| {
                    let mp3 = mp3.clone();
                    script.serve(
                        req,
                        check_speak,
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
        }
        Self { server, script }
    }

    pub fn base_url(&self) -> String {
        self.server.uri()
    }
}

fn check_listen(req: &Request) -> Result<Value, String> {
    token(req)?;
    if !header(req, "content-type")?.starts_with("audio/") {
        return Err("pre-recorded audio is sent with an audio/* content-type".into());
    }
    if !req.body.starts_with(b"OggS") {
        return Err("the body is not the Ogg audio its content-type says".into());
    }
    let model = query(req, "model").ok_or("`model` query parameter is missing")?;
    if query(req, "utterances").as_deref() != Some("true") {
        return Err("timed lines need utterances=true".into());
    }
    let language = query(req, "language");
    let detect = query(req, "detect_language").as_deref() == Some("true");
    if language.is_some() == detect {
        return Err("send either language or detect_language=true".into());
    }
    Ok(json!({"model": model, "language": language, "detect": detect}))
}

fn listen(body: &Value) -> ResponseTemplate {
    let language = body["language"].as_str().unwrap_or("en");
    let utterances = [
        (0.1, 1.2, "Hello there."),
        (1.3, 2.4, "Welcome to the show."),
    ];
    let mut channel = json!({"alternatives": [{"transcript": "Hello there. Welcome to the show.", "confidence": 0.98}]});
    if body["detect"] == true {
        channel["detected_language"] = json!(language);
        channel["language_confidence"] = json!(0.97);
    }
    ResponseTemplate::new(200).set_body_json(json!({
        "metadata": {"request_id": "fake", "duration": 2.5, "channels": 1, "models": [body["model"]]},
        "results": {
            "channels": [channel],
            "utterances": utterances.iter().enumerate().map(|(i, (s, e, t))| json!({
                "start": s, "end": e, "confidence": 0.97, "channel": 0,
                "transcript": t, "words": [], "id": format!("utt-{i}")
            })).collect::<Vec<_>>()
        }
    }))
}

fn check_speak(req: &Request) -> Result<Value, String> {
    token(req)?;
    let body = json_body(req)?;
    text_field(&body, "text")?;
    if body["text"].as_str().unwrap_or_default().chars().count() > 2000 {
        return Err("`text` is longer than 2000 characters".into());
    }
    let model = query(req, "model").ok_or("`model` query parameter is missing")?;
    if !model.starts_with("aura") {
        return Err(format!("`{model}` is not an Aura voice"));
    }
    Ok(json!({"model": model, "text": body["text"]}))
}
