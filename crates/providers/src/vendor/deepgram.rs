//! Deepgram: pre-recorded transcription (`POST /v1/listen`, one line per
//! utterance) and Aura text-to-speech (`POST /v1/speak`), with the
//! `Authorization: Token <key>` header Deepgram documents.

use std::path::Path;
use std::sync::Arc;

use serde::Deserialize;
use voxline_config::DeepgramSettings;
use voxline_core::{Language, Segment, Transcript};
use voxline_media::audio;

use super::gate::VendorGate;
use super::http::VendorHttp;
use super::{decode_speech, languages_of};
use crate::{ProviderError, SpeechToText, Synthesizer};

/// Languages Nova-3 transcribes (of those Voxline names).
const NOVA_3: &[&str] = &[
    "en", "es", "fr", "de", "it", "pt", "nl", "ja", "ko", "hi", "ru", "pl", "sv", "tr", "ca", "zh",
];

pub struct Deepgram {
    name: String,
    settings: DeepgramSettings,
    languages: Vec<&'static str>,
    http: VendorHttp,
}

impl Deepgram {
    pub fn new(
        name: &str,
        settings: &DeepgramSettings,
        gate: Arc<dyn VendorGate>,
    ) -> Result<Self, String> {
        // Voices must be for languages Voxline knows.
        languages_of(
            &settings.voices.keys().cloned().collect::<Vec<_>>(),
            Some(&[]),
        )?;
        Ok(Self {
            name: name.to_owned(),
            settings: settings.clone(),
            languages: languages_of(&settings.languages, Some(NOVA_3))?,
            http: VendorHttp::new(name, &settings.limits, gate),
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.settings.base_url.trim_end_matches('/'))
    }

    fn authorization(&self) -> String {
        format!("Token {}", self.settings.api_key.expose())
    }
}

#[async_trait::async_trait]
impl SpeechToText for Deepgram {
    fn name(&self) -> &str {
        &self.name
    }

    fn languages(&self) -> Vec<&'static str> {
        self.languages.clone()
    }

    fn detects_language(&self) -> bool {
        true
    }

    async fn transcribe(
        &self,
        media: &Path,
        language: Option<&Language>,
    ) -> Result<Transcript, ProviderError> {
        let dir = tempfile::tempdir().map_err(|e| engine_error(&self.name, e))?;
        let upload = dir.path().join("speech.ogg");
        audio::encode_speech_upload(media, &upload)
            .await
            .map_err(|e| ProviderError::from_media(&self.name, e))?;
        let seconds = audio::duration(&upload)
            .await
            .map_err(|e| ProviderError::from_media(&self.name, e))?;
        let body = bytes::Bytes::from(
            tokio::fs::read(&upload)
                .await
                .map_err(|e| engine_error(&self.name, e))?,
        );
        let mut query = vec![
            ("model", self.settings.model.clone()),
            ("utterances", "true".into()),
            ("smart_format", "true".into()),
            ("punctuate", "true".into()),
        ];
        match language {
            Some(l) => query.push(("language", l.code.into())),
            None => query.push(("detect_language", "true".into())),
        }
        let reply = self
            .http
            .send(|| {
                let request = self
                    .http
                    .client
                    .post(self.url("/v1/listen"))
                    .query(&query)
                    .header("authorization", self.authorization())
                    .header("content-type", "audio/ogg")
                    .body(body.clone())
                    .build();
                async move { request.map_err(|e| engine_error(&self.name, e)) }
            })
            .await?;
        let reply: Listen = self.http.json(&reply)?;
        let detected = reply
            .results
            .channels
            .first()
            .and_then(|c| c.detected_language.as_deref());
        let language = match (language, detected) {
            (Some(l), _) => l.code,
            (None, Some(code)) => Language::parse(code.split('-').next().unwrap_or(code))
                .map(|l| l.code)
                .map_err(|_| {
                    ProviderError::BadInput(format!(
                        "the speech is in a language Voxline cannot dub ({} heard `{code}`)",
                        self.name
                    ))
                })?,
            (None, None) => return Err(self.http.malformed("no language detected")),
        };
        let mut segments = Vec::new();
        // With `utterances=true` Deepgram always sends the list, empty for
        // silence: a reply without it is not one Voxline asked for.
        let utterances = reply
            .results
            .utterances
            .ok_or_else(|| self.http.malformed("no utterances in the reply"))?;
        for u in utterances {
            let text = u.transcript.trim();
            if text.is_empty() {
                continue;
            }
            if !(u.start.is_finite() && u.end.is_finite() && 0.0 <= u.start && u.start <= u.end) {
                return Err(self
                    .http
                    .malformed(format!("an utterance timed {}–{} s", u.start, u.end)));
            }
            segments.push(Segment {
                id: segments.len() as u32 + 1,
                start: u.start.min(seconds),
                end: u.end.min(seconds),
                text: text.to_owned(),
                speaker: None,
            });
        }
        let note = segments.is_empty().then(|| "no speech detected".to_owned());
        Ok(Transcript {
            language: language.to_owned(),
            engine: self.name.clone(),
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
}

#[async_trait::async_trait]
impl Synthesizer for Deepgram {
    fn name(&self) -> &str {
        &self.name
    }

    /// Only the languages a voice is configured for.
    fn languages(&self) -> Vec<&'static str> {
        Language::all()
            .iter()
            .map(|l| l.code)
            .filter(|code| self.settings.voices.contains_key(*code))
            .collect()
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let voice =
            self.settings
                .voices
                .get(language.code)
                .ok_or_else(|| ProviderError::Unsupported {
                    engine: self.name.clone(),
                    what: format!("speak {}", language.name),
                })?;
        let body = serde_json::json!({ "text": text });
        let reply = self
            .http
            .send(|| {
                let request = self
                    .http
                    .client
                    .post(self.url("/v1/speak"))
                    .query(&[("model", voice.as_str()), ("encoding", "mp3")])
                    .header("authorization", self.authorization())
                    .json(&body)
                    .build();
                async move { request.map_err(|e| engine_error(&self.name, e)) }
            })
            .await?;
        decode_speech(&self.name, &reply.body, out_wav).await
    }
}

fn engine_error(engine: &str, e: impl std::fmt::Display) -> ProviderError {
    ProviderError::Engine {
        engine: engine.into(),
        message: e.to_string(),
    }
}

#[derive(Deserialize)]
struct Listen {
    results: ListenResults,
}

#[derive(Deserialize)]
struct ListenResults {
    #[serde(default)]
    channels: Vec<ListenChannel>,
    utterances: Option<Vec<Utterance>>,
}

#[derive(Deserialize)]
struct ListenChannel {
    detected_language: Option<String>,
}

#[derive(Deserialize)]
struct Utterance {
    start: f64,
    end: f64,
    transcript: String,
}
