//! Any OpenAI-compatible endpoint, through async-openai with Voxline's own
//! transport underneath (shared limits, retries honouring `Retry-After`):
//! transcription as `verbose_json` with segment timings, translation by a
//! chat model that returns every line under its id (structured output,
//! checked and asked again when lines go missing or merge), and speech.
//!
//! Replies are read leniently (only the fields Voxline uses), since
//! compatible servers differ in what else they send.

use std::future::Future;
use std::path::Path;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use async_openai::Client;
use async_openai::config::OpenAIConfig;
use async_openai::error::OpenAIError;
use async_openai::middleware::HttpRequestFactory;
use async_openai::types::audio::{
    AudioInput, AudioResponseFormat, CreateSpeechRequestArgs, CreateTranscriptionRequestArgs,
    SpeechModel, SpeechResponseFormat, TimestampGranularity, Voice,
};
use serde::Deserialize;
use serde_json::json;
use voxline_config::{Capability, OpenAiSettings};
use voxline_core::{Language, Segment, Transcript};
use voxline_media::audio;

use super::gate::VendorGate;
use super::http::VendorHttp;
use super::{decode_speech, languages_of};
use crate::calls::meter;
use crate::{ProviderError, SpeechToText, Synthesizer, Translator};

/// Lines per chat request: enough context for a good translation, few
/// enough that a reply stays well inside a model's output limit.
const LINES_PER_REQUEST: usize = 40;

pub struct OpenAi {
    name: String,
    settings: OpenAiSettings,
    languages: Vec<&'static str>,
    client: Client<OpenAIConfig>,
    http: Arc<VendorHttp>,
}

impl OpenAi {
    pub fn new(
        name: &str,
        settings: &OpenAiSettings,
        gate: Arc<dyn VendorGate>,
    ) -> Result<Self, String> {
        let http = Arc::new(VendorHttp::new(name, &settings.limits, gate));
        let config = OpenAIConfig::new()
            .with_api_base(settings.base_url.trim_end_matches('/'))
            .with_api_key(settings.api_key.expose());
        let client = Client::with_config(config).with_http_service(Transport(http.clone()));
        Ok(Self {
            name: name.to_owned(),
            settings: settings.clone(),
            languages: languages_of(&settings.languages, None)?,
            client,
            http,
        })
    }

    pub fn offers(&self, capability: Capability) -> bool {
        self.settings.capabilities.contains(&capability)
    }

    /// Unwraps the transport's own classification; anything else
    /// async-openai reports is this engine's failure.
    fn failure(&self, e: OpenAIError) -> ProviderError {
        match e {
            OpenAIError::Boxed(inner) => match inner.downcast::<ProviderError>() {
                Ok(classified) => *classified,
                Err(other) => self.engine_error(other.to_string()),
            },
            OpenAIError::JSONDeserialize(e, _) => self.http.malformed(e),
            other => self.engine_error(other.to_string()),
        }
    }

    fn engine_error(&self, message: String) -> ProviderError {
        ProviderError::Engine {
            engine: self.name.clone(),
            message,
        }
    }

    /// One chat call translating `lines`; `None` when the reply does not
    /// give back exactly these ids, in order.
    async fn translate_batch(
        &self,
        lines: &[Segment],
        from: &Language,
        to: &Language,
    ) -> Result<Option<Vec<String>>, ProviderError> {
        let system = format!(
            "You translate dubbing lines from {} to {}. You receive a JSON array of lines, each with an id. \
             Return every line, in the same order and under the same id, translated; never merge, split, \
             drop or add lines. Keep each translation about as long as its original, so it can be spoken \
             in the same time. Keep names, numbers and the speaker's register.",
            from.name, to.name
        );
        let input: Vec<(u32, &str)> = lines.iter().map(|s| (s.id, s.text.as_str())).collect();
        self.ask_lines(&system, "translated_lines", &input).await
    }

    /// Asks the chat model to rewrite `lines` (`[{id, text}]`) as `system`
    /// says, with structured output; `None` when the reply loses, merges
    /// or renumbers lines (the caller may ask again).
    async fn ask_lines(
        &self,
        system: &str,
        schema_name: &str,
        lines: &[(u32, &str)],
    ) -> Result<Option<Vec<String>>, ProviderError> {
        let input: Vec<_> = lines
            .iter()
            .map(|(id, text)| json!({"id": id, "text": text}))
            .collect();
        let request = json!({
            "model": self.settings.translate_model,
            "temperature": 0.2,
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": serde_json::to_string(&input).unwrap_or_default()},
            ],
            "response_format": {
                "type": "json_schema",
                "json_schema": {
                    "name": schema_name,
                    "strict": true,
                    "schema": {
                        "type": "object",
                        "additionalProperties": false,
                        "required": ["lines"],
                        "properties": {"lines": {"type": "array", "items": {
                            "type": "object",
                            "additionalProperties": false,
                            "required": ["id", "text"],
                            "properties": {"id": {"type": "integer"}, "text": {"type": "string"}}
                        }}}
                    }
                }
            }
        });
        let reply: ChatReply = self
            .client
            .chat()
            .create_byot(request)
            .await
            .map_err(|e| self.failure(e))?;
        if let Some(usage) = &reply.usage {
            meter("tokens", usage.total_tokens as f64);
        }
        let content = reply
            .choices
            .first()
            .and_then(|c| c.message.content.as_deref())
            .ok_or_else(|| self.http.malformed("no message in the reply"))?;
        let Ok(parsed) = serde_json::from_str::<TranslatedLines>(strip_fences(content)) else {
            return Ok(None);
        };
        let same_ids = parsed.lines.len() == lines.len()
            && parsed
                .lines
                .iter()
                .zip(lines)
                .all(|(t, (id, _))| t.id == *id);
        Ok(same_ids.then(|| parsed.lines.into_iter().map(|l| l.text).collect()))
    }
}

#[async_trait::async_trait]
impl SpeechToText for OpenAi {
    fn name(&self) -> &str {
        &self.name
    }

    fn languages(&self) -> Vec<&'static str> {
        if self.offers(Capability::Transcribe) {
            self.languages.clone()
        } else {
            Vec::new()
        }
    }

    fn detects_language(&self) -> bool {
        self.offers(Capability::Transcribe)
    }

    async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
    ) -> Result<Transcript, ProviderError> {
        let dir = tempfile::tempdir().map_err(|e| self.engine_error(e.to_string()))?;
        let upload = dir.path().join("speech.ogg");
        audio::encode_speech_upload(media, &upload)
            .await
            .map_err(|e| ProviderError::from_media(&self.name, e))?;
        let seconds = audio::duration(&upload)
            .await
            .map_err(|e| ProviderError::from_media(&self.name, e))?;
        let bytes = tokio::fs::read(&upload)
            .await
            .map_err(|e| self.engine_error(e.to_string()))?;
        let mut request = CreateTranscriptionRequestArgs::default();
        request
            .file(AudioInput::from_vec_u8("speech.ogg".into(), bytes))
            .model(self.settings.transcribe_model.clone())
            .response_format(AudioResponseFormat::VerboseJson)
            .timestamp_granularities(vec![TimestampGranularity::Segment]);
        if let Some(l) = language {
            request.language(l.code);
        }
        let request = request
            .build()
            .map_err(|e| self.engine_error(e.to_string()))?;
        let raw = self
            .client
            .audio()
            .transcription()
            .create_raw(request)
            .await
            .map_err(|e| self.failure(e))?;
        let reply: Verbose = serde_json::from_slice(&raw).map_err(|e| self.http.malformed(e))?;
        transcript_of(reply, language, seconds, &self.name)
    }
}

#[async_trait::async_trait]
impl Translator for OpenAi {
    fn name(&self) -> &str {
        &self.name
    }

    fn pairs(&self) -> Vec<(&'static str, &'static str)> {
        if !self.offers(Capability::Translate) {
            return Vec::new();
        }
        let l = &self.languages;
        l.iter()
            .flat_map(|f| l.iter().filter(move |t| *t != f).map(move |t| (*f, *t)))
            .collect()
    }

    fn supports(&self, from: &str, to: &str) -> bool {
        self.offers(Capability::Translate)
            && from != to
            && self.languages.contains(&from)
            && self.languages.contains(&to)
    }

    async fn translate(
        &self,
        segments: &[Segment],
        from: &Language,
        to: &Language,
    ) -> Result<Vec<Segment>, ProviderError> {
        let mut out = Vec::with_capacity(segments.len());
        for batch in segments.chunks(LINES_PER_REQUEST) {
            let mut texts = None;
            for attempt in 1..=self.settings.translate_attempts {
                texts = self.translate_batch(batch, from, to).await?;
                if texts.is_some() {
                    break;
                }
                tracing::warn!(engine = %self.name, attempt, lines = batch.len(), "the translation lost, merged or renumbered lines; asking again");
            }
            let texts = texts.ok_or_else(|| {
                self.engine_error(format!(
                    "did not return the {} lines it was given under their ids in {} tries",
                    batch.len(),
                    self.settings.translate_attempts
                ))
            })?;
            out.extend(batch.iter().zip(texts).map(|(s, text)| Segment {
                text: text.trim().to_owned(),
                ..s.clone()
            }));
        }
        Ok(out)
    }

    fn shortens(&self) -> bool {
        self.offers(Capability::Translate)
    }

    async fn shorten(
        &self,
        text: &str,
        language: &Language,
        max_chars: usize,
    ) -> Result<String, ProviderError> {
        let system = format!(
            "You shorten dubbing lines in {}: the line you receive is too long to be spoken in the time \
             its speaker took. Return it under the same id, in {}, said in at most {max_chars} characters, \
             keeping its meaning, names and numbers; drop filler words first, and never return an empty line.",
            language.name, language.name
        );
        self.ask_lines(&system, "shortened_lines", &[(1, text)])
            .await?
            .and_then(|mut lines| lines.pop())
            .ok_or_else(|| {
                self.engine_error("did not return the line it was asked to shorten".into())
            })
    }
}

#[async_trait::async_trait]
impl Synthesizer for OpenAi {
    fn name(&self) -> &str {
        &self.name
    }

    fn languages(&self) -> Vec<&'static str> {
        if self.offers(Capability::Synthesize) {
            self.languages.clone()
        } else {
            Vec::new()
        }
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let voice = self
            .settings
            .voices
            .get(language.code)
            .unwrap_or(&self.settings.voice);
        let request = CreateSpeechRequestArgs::default()
            .input(text)
            .model(SpeechModel::Other(self.settings.speech_model.clone()))
            .voice(Voice::Other(voice.clone()))
            .response_format(SpeechResponseFormat::Wav)
            .build()
            .map_err(|e| self.engine_error(e.to_string()))?;
        let reply = self
            .client
            .audio()
            .speech()
            .create(request)
            .await
            .map_err(|e| self.failure(e))?;
        decode_speech(&self.name, &reply.bytes, out_wav).await
    }
}

/// Lets async-openai's requests ride Voxline's vendor transport: the
/// request is rebuilt per try from its factory, and a reply only comes back
/// once it is a 2xx; every other outcome is already classified.
#[derive(Clone)]
struct Transport(Arc<VendorHttp>);

impl tower::Service<HttpRequestFactory> for Transport {
    type Response = reqwest::Response;
    type Error = OpenAIError;
    type Future = Pin<Box<dyn Future<Output = Result<reqwest::Response, OpenAIError>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, factory: HttpRequestFactory) -> Self::Future {
        let http = self.0.clone();
        Box::pin(async move {
            let reply = http
                .send(|| {
                    let factory = factory.clone();
                    let vendor = http.vendor.clone();
                    async move {
                        factory.build().await.map_err(|e| ProviderError::Engine {
                            engine: vendor,
                            message: format!("cannot build the request: {e}"),
                        })
                    }
                })
                .await
                .map_err(|e| OpenAIError::Boxed(Box::new(e)))?;
            let mut response = http::Response::new(reply.body);
            *response.status_mut() = reply.status;
            *response.headers_mut() = reply.headers;
            Ok(reqwest::Response::from(response))
        })
    }
}

#[derive(Deserialize)]
struct Verbose {
    language: Option<String>,
    #[serde(default)]
    text: String,
    segments: Option<Vec<VerboseSegment>>,
}

#[derive(Deserialize)]
struct VerboseSegment {
    start: f64,
    end: f64,
    text: String,
}

#[derive(Deserialize)]
struct ChatReply {
    choices: Vec<ChatChoice>,
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct ChatChoice {
    message: ChatMessage,
}

#[derive(Deserialize)]
struct ChatMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChatUsage {
    total_tokens: u64,
}

#[derive(Deserialize)]
struct TranslatedLines {
    lines: Vec<TranslatedLine>,
}

#[derive(Deserialize)]
struct TranslatedLine {
    id: u32,
    text: String,
}

/// A reply wrapped in a Markdown code fence, as some models send even when
/// asked for JSON, without its fence.
fn strip_fences(content: &str) -> &str {
    let t = content.trim();
    match t.strip_prefix("```") {
        Some(rest) => rest
            .trim_start_matches("json")
            .trim_end()
            .trim_end_matches("```")
            .trim(),
        None => t,
    }
}

/// The lines of a `verbose_json` reply, checked: times in order and inside
/// the audio, empty lines dropped, ids from 1.
fn transcript_of(
    reply: Verbose,
    asked: Option<&Language>,
    seconds: f64,
    engine: &str,
) -> Result<Transcript, ProviderError> {
    let language = match asked {
        Some(l) => l.code.to_owned(),
        None => {
            let said = reply.language.unwrap_or_default();
            if said.trim().is_empty() {
                return Err(ProviderError::Engine {
                    engine: engine.into(),
                    message: "sent a reply Voxline cannot read: no language was detected".into(),
                });
            }
            language_code(&said)
                .ok_or_else(|| {
                    ProviderError::BadInput(format!(
                        "the speech is in a language Voxline cannot dub ({engine} heard `{said}`)"
                    ))
                })?
                .to_owned()
        }
    };
    let lines: Vec<(f64, f64, String)> = match reply.segments {
        Some(segments) => segments
            .into_iter()
            .map(|s| (s.start, s.end, s.text))
            .collect(),
        None if !reply.text.trim().is_empty() => vec![(0.0, seconds, reply.text)],
        None => Vec::new(),
    };
    let mut segments = Vec::with_capacity(lines.len());
    for (start, end, text) in lines {
        if !(start.is_finite() && end.is_finite() && start >= 0.0 && end >= start) {
            return Err(ProviderError::Engine {
                engine: engine.into(),
                message: format!("sent a line timed {start}–{end} s, which cannot be"),
            });
        }
        let text = text.trim();
        if text.is_empty() {
            continue;
        }
        segments.push(Segment {
            id: segments.len() as u32 + 1,
            start: start.min(seconds),
            end: end.min(seconds),
            text: text.to_owned(),
            speaker: None,
        });
    }
    let note = segments.is_empty().then(|| "no speech detected".to_owned());
    Ok(Transcript {
        language,
        engine: engine.into(),
        duration: seconds,
        segments,
        note,
        words: Vec::new(),
        speakers: Vec::new(),
        speakers_note: None,
        stems: None,
        stems_note: None,
        clones_note: None,
    })
}

/// A language as transcription servers name it: `en`, `en-US` or `english`.
fn language_code(said: &str) -> Option<&'static str> {
    let said = said.trim();
    let base = said.split(['-', '_']).next().unwrap_or(said);
    Language::parse(base).ok().map(|l| l.code).or_else(|| {
        Language::all()
            .iter()
            .find(|l| l.name.eq_ignore_ascii_case(said))
            .map(|l| l.code)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn languages_come_as_codes_or_names() {
        assert_eq!(language_code("english"), Some("en"));
        assert_eq!(language_code("Spanish"), Some("es"));
        assert_eq!(language_code("pt-BR"), Some("pt"));
        assert_eq!(language_code("klingon"), None);
    }

    #[test]
    fn fenced_replies_are_unwrapped() {
        assert_eq!(
            strip_fences("```json\n{\"lines\":[]}\n```"),
            "{\"lines\":[]}"
        );
        assert_eq!(strip_fences(" {\"lines\":[]} "), "{\"lines\":[]}");
    }

    #[test]
    fn verbose_replies_become_checked_lines() {
        let reply: Verbose = serde_json::from_str(
            r#"{"language":"english","duration":3.0,"text":"Hi there. Bye.",
                "segments":[{"id":0,"start":0.0,"end":1.2,"text":" Hi there."},
                            {"id":1,"start":1.2,"end":1.4,"text":"  "},
                            {"id":2,"start":1.5,"end":3.4,"text":" Bye."}]}"#,
        )
        .unwrap();
        let t = transcript_of(reply, None, 3.0, "openai").unwrap();
        assert_eq!(t.language, "en");
        let lines: Vec<_> = t
            .segments
            .iter()
            .map(|s| (s.id, s.end, s.text.as_str()))
            .collect();
        assert_eq!(lines, vec![(1, 1.2, "Hi there."), (2, 3.0, "Bye.")]);
        let backwards: Verbose =
            serde_json::from_str(r#"{"segments":[{"start":2.0,"end":1.0,"text":"x"}]}"#).unwrap();
        let en = Language::parse("en").unwrap();
        assert!(matches!(
            transcript_of(backwards, Some(&en), 3.0, "openai"),
            Err(ProviderError::Engine { .. })
        ));
    }
}
