//! A fake OpenAI API: `/v1/audio/transcriptions` (multipart, `verbose_json`),
//! `/v1/chat/completions` (structured output) and `/v1/audio/speech`, with
//! `Authorization: Bearer <key>`.

use std::sync::{Arc, Mutex};

use serde_json::{Value, json};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::{Fault, Script, header, json_body, multipart, openai_error, text_field, tone};

pub struct FakeOpenAi {
    pub server: MockServer,
    pub script: Script,
    /// The lines transcriptions answer with: start, end, text.
    pub lines: Arc<Mutex<Vec<(f64, f64, String)>>>,
}

pub const KEY: &str = "sk-test-fake-openai";

impl FakeOpenAi {
    pub async fn start() -> Self {
        let server = MockServer::start().await;
        let script = Script::default();
        let lines = Arc::new(Mutex::new(vec![
            (0.1, 1.2, " Hello there.".to_owned()),
            (1.3, 2.4, " Welcome to the show.".to_owned()),
        ]));
        let wav = tone("wav");
        {
            let (script, lines) = (script.clone(), lines.clone());
            Mock::given(method("POST"))
                .and(path("/v1/audio/transcriptions"))
                .respond_with(move |req: &Request| {
                    let lines = lines.lock().unwrap().clone();
                    script.serve(
                        req,
                        check_transcription,
                        |_, _| transcription(&lines),
                        openai_error,
                    )
                })
                .mount(&server)
                .await;
        }
        {
            let script = script.clone();
            Mock::given(method("POST"))
                .and(path("/v1/chat/completions"))
                .respond_with(move |req: &Request| {
                    script.serve(req, check_chat, chat_reply, openai_error)
                })
                .mount(&server)
                .await;
        }
        {
            let script = script.clone();
            Mock::given(method("POST"))
                .and(path("/v1/audio/speech"))
                .respond_with(move |req: &Request| {
                    let wav = wav.clone();
                    script.serve(
                        req,
                        check_speech,
                        move |_, _| {
                            ResponseTemplate::new(200)
                                .insert_header("content-type", "audio/wav")
                                .set_body_bytes(wav)
                        },
                        openai_error,
                    )
                })
                .mount(&server)
                .await;
        }
        Self {
            server,
            script,
            lines,
        }
    }

    /// The base URL a client is configured with (`…/v1`).
    pub fn base_url(&self) -> String {
        format!("{}/v1", self.server.uri())
    }

    /// Vendor settings that lead to this fake, with `limits`.
    pub fn settings(&self, limits: voxline_config::VendorLimits) -> voxline_config::VendorSettings {
        voxline_config::VendorSettings::OpenAi(voxline_config::OpenAiSettings {
            base_url: self.base_url(),
            api_key: voxline_config::Secret::new(KEY),
            limits,
            ..Default::default()
        })
    }
}

fn bearer(req: &Request) -> Result<(), String> {
    match header(req, "authorization")? {
        v if v == format!("Bearer {KEY}") => Ok(()),
        v => Err(format!("authorization must be `Bearer <key>`, got `{v}`")),
    }
}

fn check_transcription(req: &Request) -> Result<Value, String> {
    bearer(req)?;
    let parts = multipart::parse(header(req, "content-type")?, &req.body)?;
    let field = |name: &str| {
        parts
            .iter()
            .find(|p| p.name == name)
            .map(|p| String::from_utf8_lossy(&p.data).into_owned())
    };
    let file = parts
        .iter()
        .find(|p| p.name == "file")
        .ok_or("the `file` part is missing")?;
    let filename = file.filename.as_deref().unwrap_or_default();
    let known = [
        "flac", "mp3", "mp4", "mpeg", "mpga", "m4a", "ogg", "wav", "webm",
    ];
    if !known
        .iter()
        .any(|ext| filename.ends_with(&format!(".{ext}")))
    {
        return Err(format!(
            "`file` needs a filename with a supported extension, got `{filename}`"
        ));
    }
    if !file.data.starts_with(b"OggS") {
        return Err("`file` is not Ogg audio as its name says".into());
    }
    if field("model").unwrap_or_default().is_empty() {
        return Err("`model` is required".into());
    }
    if field("response_format").as_deref() != Some("verbose_json") {
        return Err("timed segments need response_format=verbose_json".into());
    }
    if field("timestamp_granularities[]").as_deref() != Some("segment") {
        return Err("timestamp_granularities[] should ask for segment".into());
    }
    if let Some(l) = field("language")
        && l.len() != 2
    {
        return Err(format!("`language` must be ISO 639-1, got `{l}`"));
    }
    Ok(json!({"model": field("model"), "language": field("language"), "bytes": file.data.len()}))
}

fn transcription(lines: &[(f64, f64, String)]) -> ResponseTemplate {
    let segments: Vec<Value> = lines
        .iter()
        .enumerate()
        .map(|(i, (start, end, text))| {
            json!({"id": i, "seek": 0, "start": start, "end": end, "text": text,
                   "tokens": [1, 2], "temperature": 0.0, "avg_logprob": -0.2,
                   "compression_ratio": 1.1, "no_speech_prob": 0.01})
        })
        .collect();
    let text: String = lines.iter().map(|l| l.2.as_str()).collect();
    ResponseTemplate::new(200).set_body_json(json!({
        "task": "transcribe", "language": "english", "duration": lines.last().map_or(0.0, |l| l.1),
        "text": text, "segments": segments,
        "usage": {"type": "duration", "seconds": 3}
    }))
}

fn check_chat(req: &Request) -> Result<Value, String> {
    bearer(req)?;
    let body = json_body(req)?;
    text_field(&body, "model")?;
    let messages = body["messages"]
        .as_array()
        .ok_or("`messages` must be an array")?;
    if messages.is_empty()
        || messages
            .iter()
            .any(|m| m["role"].as_str().is_none() || m["content"].as_str().is_none())
    {
        return Err("each message needs a `role` and string `content`".into());
    }
    if body["response_format"]["type"] != "json_schema"
        || body["response_format"]["json_schema"]["schema"].is_null()
        || body["response_format"]["json_schema"]["name"]
            .as_str()
            .is_none()
    {
        return Err(
            "structured output needs response_format.type json_schema with a name and schema"
                .into(),
        );
    }
    if body["stream"] == true {
        return Err("stream must not be true here".into());
    }
    let user = messages
        .iter()
        .rev()
        .find(|m| m["role"] == "user")
        .and_then(|m| m["content"].as_str())
        .ok_or("no user message")?;
    let lines: Value = serde_json::from_str(user)
        .map_err(|_| "the user message should carry the lines as JSON")?;
    if !lines
        .as_array()
        .is_some_and(|a| a.iter().all(|l| l["id"].is_u64() && l["text"].is_string()))
    {
        return Err("lines must be objects with an integer id and a text".into());
    }
    let system = messages
        .iter()
        .find(|m| m["role"] == "system")
        .and_then(|m| m["content"].as_str())
        .unwrap_or_default();
    Ok(json!({"model": body["model"], "lines": lines,
              "schema": body["response_format"]["json_schema"]["name"], "system": system}))
}

/// What a model asked to say a line "in at most N characters" answers:
/// its first words, as many as fit.
fn shortened(text: &str, system: &str) -> String {
    let most: usize = system
        .split("at most ")
        .nth(1)
        .and_then(|rest| rest.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(usize::MAX);
    let mut out = String::new();
    for word in text.split_whitespace() {
        if !out.is_empty() && out.chars().count() + 1 + word.chars().count() > most {
            break;
        }
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out
}

/// Translates each line the fake's way ("Hola" would be better) and keeps
/// the ids, unless told to lose or merge lines.
fn chat_reply(body: &Value, fault: Option<&Fault>) -> ResponseTemplate {
    let mut lines: Vec<Value> = body["lines"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|l| {
            let text = l["text"].as_str().unwrap_or("");
            let answer = if body["schema"] == "shortened_lines" {
                shortened(text, body["system"].as_str().unwrap_or_default())
            } else {
                format!("{text} (translated)")
            };
            json!({"id": l["id"], "text": answer})
        })
        .collect();
    match fault {
        Some(Fault::LoseLine) => {
            lines.pop();
        }
        Some(Fault::MergeLines) if lines.len() > 1 => {
            let second = lines.remove(1);
            lines[0]["text"] = json!(format!(
                "{} {}",
                lines[0]["text"].as_str().unwrap(),
                second["text"].as_str().unwrap()
            ));
        }
        _ => {}
    }
    let content = json!({ "lines": lines }).to_string();
    let prompt = body["lines"].to_string().len() as u64 / 4 + 60;
    let completion = content.len() as u64 / 4;
    ResponseTemplate::new(200).set_body_json(json!({
        "id": "chatcmpl-fake", "object": "chat.completion", "created": 1_764_000_000u64,
        "model": body["model"],
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": content, "refusal": null}}],
        "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}
    }))
}

fn check_speech(req: &Request) -> Result<Value, String> {
    bearer(req)?;
    let body = json_body(req)?;
    text_field(&body, "model")?;
    text_field(&body, "input")?;
    text_field(&body, "voice")?;
    if body["input"].as_str().unwrap_or_default().chars().count() > 4096 {
        return Err("`input` is longer than 4096 characters".into());
    }
    if let Some(f) = body["response_format"].as_str()
        && !["mp3", "opus", "aac", "flac", "wav", "pcm"].contains(&f)
    {
        return Err(format!("unknown response_format `{f}`"));
    }
    Ok(body)
}
