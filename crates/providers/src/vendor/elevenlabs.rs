//! ElevenLabs text-to-speech (`POST /v1/text-to-speech/{voice_id}` with the
//! `xi-api-key` header): model, voice settings and a voice per language;
//! and instant voice cloning (`POST /v1/voices/add` with samples of a
//! person's speech, `DELETE /v1/voices/{voice_id}`).

use std::path::Path;
use std::sync::Arc;

use serde_json::json;
use voxline_config::ElevenLabsSettings;
use voxline_core::Language;

use super::gate::VendorGate;
use super::http::VendorHttp;
use super::{decode_speech, languages_of};
use crate::{ProviderError, Synthesizer};

/// Languages Eleven Flash v2.5 and Turbo v2.5 speak (of those Voxline names).
const V2_5: &[&str] = &[
    "en", "es", "fr", "de", "it", "pt", "ru", "ja", "ko", "zh", "ar", "hi", "nl", "pl", "sv", "tr",
];

/// Whether `model` takes `language_code` (the v2.5 and v3 models do; the
/// others answer an error when given one, and detect the language).
fn takes_language_code(model: &str) -> bool {
    model.contains("_v2_5") || model.starts_with("eleven_v3")
}

pub struct ElevenLabs {
    name: String,
    settings: ElevenLabsSettings,
    languages: Vec<&'static str>,
    http: VendorHttp,
}

impl ElevenLabs {
    pub fn new(
        name: &str,
        settings: &ElevenLabsSettings,
        gate: Arc<dyn VendorGate>,
    ) -> Result<Self, String> {
        languages_of(
            &settings.voices.keys().cloned().collect::<Vec<_>>(),
            Some(&[]),
        )?;
        Ok(Self {
            name: name.to_owned(),
            settings: settings.clone(),
            languages: languages_of(&settings.languages, Some(V2_5))?,
            http: VendorHttp::new(name, &settings.limits, gate),
        })
    }
}

#[async_trait::async_trait]
impl Synthesizer for ElevenLabs {
    fn name(&self) -> &str {
        &self.name
    }

    fn languages(&self) -> Vec<&'static str> {
        self.languages.clone()
    }

    async fn synthesize(
        &self,
        text: &str,
        language: &Language,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let s = &self.settings;
        let voice = s.voices.get(language.code).unwrap_or(&s.voice);
        self.speak(text, language, voice, out_wav).await
    }

    fn clones_voices(&self) -> bool {
        true
    }

    async fn clone_voice(&self, name: &str, sample: &Path) -> Result<String, ProviderError> {
        let s = &self.settings;
        let url = format!("{}/v1/voices/add", s.base_url.trim_end_matches('/'));
        let bytes = tokio::fs::read(sample)
            .await
            .map_err(|e| self.failed(format!("{}: {e}", sample.display())))?;
        let file_name = sample
            .file_name()
            .map_or("sample.mp3".into(), |n| n.to_string_lossy().into_owned());
        // A clone is a new voice each time it is asked for: the request is
        // repeated only where ElevenLabs cannot have made it.
        let reply = self
            .http
            .send_once(|| {
                let part = reqwest::multipart::Part::bytes(bytes.clone())
                    .file_name(file_name.clone())
                    .mime_str("audio/mpeg")
                    .map_err(|e| self.failed(e.to_string()));
                let request = part.and_then(|part| {
                    let form = reqwest::multipart::Form::new()
                        .text("name", name.to_owned())
                        .text(
                            "description",
                            "Cloned by Voxline for one dub, with the speaker's consent; deleted when the dub's files expire.",
                        )
                        .text("remove_background_noise", "false")
                        .part("files", part);
                    self.http
                        .client
                        .post(&url)
                        .header("xi-api-key", s.api_key.expose())
                        .multipart(form)
                        .build()
                        .map_err(|e| self.failed(e.to_string()))
                });
                async move { request }
            })
            .await?;
        let created: serde_json::Value = serde_json::from_slice(&reply.body)
            .map_err(|e| self.failed(format!("answered a voice that is not JSON: {e}")))?;
        created["voice_id"]
            .as_str()
            .filter(|id| !id.is_empty())
            .map(str::to_owned)
            .ok_or_else(|| self.failed(format!("answered no voice_id: {created}")))
    }

    async fn delete_voice(&self, voice: &str) -> Result<(), ProviderError> {
        let s = &self.settings;
        let url = format!("{}/v1/voices/{voice}", s.base_url.trim_end_matches('/'));
        let reply = self
            .http
            .send(|| {
                let request = self
                    .http
                    .client
                    .delete(&url)
                    .header("xi-api-key", s.api_key.expose())
                    .build()
                    .map_err(|e| self.failed(e.to_string()));
                async move { request }
            })
            .await;
        match reply {
            Ok(_) => Ok(()),
            // Already gone (deleted by hand in ElevenLabs' dashboard).
            Err(ProviderError::Engine { message, .. }) if message.contains("404") => Ok(()),
            Err(e) => Err(e),
        }
    }

    async fn synthesize_as(
        &self,
        text: &str,
        language: &Language,
        voice: &str,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        self.speak(text, language, voice, out_wav).await
    }
}

impl ElevenLabs {
    fn failed(&self, message: String) -> ProviderError {
        ProviderError::Engine {
            engine: self.name.clone(),
            message,
        }
    }

    /// `text` in the voice with ElevenLabs' id `voice`.
    async fn speak(
        &self,
        text: &str,
        language: &Language,
        voice: &str,
        out_wav: &Path,
    ) -> Result<(), ProviderError> {
        let s = &self.settings;
        let url = format!(
            "{}/v1/text-to-speech/{voice}",
            s.base_url.trim_end_matches('/')
        );
        let mut body = json!({
            "text": text,
            "model_id": s.model,
            "voice_settings": {
                "stability": s.stability,
                "similarity_boost": s.similarity_boost,
                "style": s.style,
                "use_speaker_boost": s.use_speaker_boost,
            },
        });
        if takes_language_code(&s.model) {
            body["language_code"] = json!(language.code);
        }
        let reply = self
            .http
            .send(|| {
                let request = self
                    .http
                    .client
                    .post(&url)
                    .query(&[("output_format", s.output_format.as_str())])
                    .header("xi-api-key", s.api_key.expose())
                    .header("accept", "audio/mpeg")
                    .json(&body)
                    .build();
                async move {
                    request.map_err(|e| ProviderError::Engine {
                        engine: self.name.clone(),
                        message: e.to_string(),
                    })
                }
            })
            .await?;
        decode_speech(&self.name, &reply.body, out_wav).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_models_that_take_a_language_code_get_one() {
        assert!(takes_language_code("eleven_flash_v2_5"));
        assert!(takes_language_code("eleven_turbo_v2_5"));
        assert!(takes_language_code("eleven_v3"));
        assert!(!takes_language_code("eleven_multilingual_v2"));
    }
}
