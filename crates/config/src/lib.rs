//! Layered settings: built-in defaults, then an optional TOML file, then
//! `VOXLINE__SECTION__KEY` environment variables. Invalid settings fail at
//! start with a message naming the key.

mod cli;
mod secret;
mod sections;
mod security;
mod vendors;

use std::path::Path;

pub use cli::load_for;
pub use secret::Secret;
pub use sections::*;
pub use security::*;
pub use vendors::*;

/// Why the settings could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("configuration: {0}")]
    Load(#[from] config::ConfigError),
    #[error("configuration key `{key}`: {message}")]
    Invalid { key: &'static str, message: String },
}

impl Settings {
    /// Loads defaults, then `file` if given, then the environment.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        Self::load_from(file, std::env::vars())
    }

    /// Like [`Settings::load`], with the environment given explicitly (tests).
    pub fn load_from(
        file: Option<&Path>,
        env: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, ConfigError> {
        let mut builder = config::Config::builder();
        if let Some(path) = file {
            builder = builder.add_source(config::File::from(path).required(true));
        }
        let vars: config::Map<String, String> = env
            .into_iter()
            .filter(|(k, _)| k.starts_with("VOXLINE__"))
            .collect();
        builder = builder.add_source(
            config::Environment::with_prefix("VOXLINE")
                .prefix_separator("__")
                .separator("__")
                .try_parsing(true)
                .list_separator(",")
                .with_list_parse_key("server.cors_allowed_origins")
                .with_list_parse_key("auth.issuers")
                .with_list_parse_key("auth.audiences")
                .with_list_parse_key("outbound.allowed_hosts")
                .with_list_parse_key("engines.transcribe")
                .with_list_parse_key("engines.translate")
                .with_list_parse_key("engines.synthesize")
                .source(Some(vars)),
        );
        let settings: Settings = builder.build()?.try_deserialize()?;
        settings.validate()?;
        Ok(settings)
    }

    fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| {
            Err(ConfigError::Invalid {
                key,
                message: message.to_owned(),
            })
        };
        if url::Url::parse(&self.server.public_url).is_err() {
            return invalid(
                "server.public_url",
                "must be an absolute URL such as http://127.0.0.1:8080",
            );
        }
        if self.storage.backend == StorageBackend::S3 && self.storage.s3.bucket.is_empty() {
            return invalid(
                "storage.s3.bucket",
                "is required when storage.backend = \"s3\"",
            );
        }
        if self.runner.max_attempts == 0 {
            return invalid("runner.max_attempts", "must be at least 1");
        }
        if self.runner.lease_seconds < 3 {
            return invalid("runner.lease_seconds", "must be at least 3");
        }
        if self.queue.consumer_timeout_seconds < 3 {
            return invalid("queue.consumer_timeout_seconds", "must be at least 3");
        }
        if self.queue.fetch_wait_seconds == 0
            || self.queue.fetch_wait_seconds > self.queue.consumer_timeout_seconds / 3
        {
            // An idle consumer signs of life only between waits.
            return invalid(
                "queue.fetch_wait_seconds",
                "must be at least 1 and at most a third of queue.consumer_timeout_seconds, or an idle consumer looks dead",
            );
        }
        if !(self.queue.priority_step_seconds.is_finite()
            && self.queue.priority_step_seconds >= 0.0)
        {
            return invalid(
                "queue.priority_step_seconds",
                "must be zero or more seconds",
            );
        }
        if !(1..=32).contains(&self.engines.lines_at_once) {
            return invalid("engines.lines_at_once", "must be between 1 and 32");
        }
        if !(1.0..=2.0).contains(&self.engines.max_tempo) {
            return invalid("engines.max_tempo", "must be between 1.0 and 2.0");
        }
        if self.profile == Profile::Production && self.auth.dev_token {
            return invalid(
                "auth.dev_token",
                "accepts `Bearer dev-token` from anyone; it is refused in the production profile",
            );
        }
        if self.profile == Profile::Production && self.outbound.allow_private_networks {
            return invalid(
                "outbound.allow_private_networks",
                "lets user-supplied webhook URLs reach internal services; it is refused in the production profile",
            );
        }
        if !self.auth.jwks_url.is_empty() && url::Url::parse(&self.auth.jwks_url).is_err() {
            return invalid("auth.jwks_url", "must be an absolute URL");
        }
        if self.auth.tenant_claim.trim().is_empty() {
            return invalid("auth.tenant_claim", "must name a claim, such as `sub`");
        }
        for origin in &self.server.cors_allowed_origins {
            if origin != "*" && url::Url::parse(origin).is_err() {
                return invalid(
                    "server.cors_allowed_origins",
                    "each entry must be an origin such as https://app.example.com",
                );
            }
        }
        if self.profile == Profile::Production
            && self.storage.signing_key.expose() == DEV_SIGNING_KEY
        {
            return invalid(
                "storage.signing_key",
                "must be set to a long random secret in the production profile",
            );
        }
        for (name, vendor) in &self.vendors {
            if let Err(message) = vendor.check() {
                return Err(ConfigError::Invalid {
                    key: "vendors",
                    message: format!("[vendors.{name}]: {message}"),
                });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn defaults_load_and_env_overrides() {
        let s = Settings::load_from(
            None,
            env(&[
                ("VOXLINE__SERVER__BIND", "0.0.0.0:9000"),
                ("VOXLINE__RUNNER__MAX_ATTEMPTS", "7"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.bind, "0.0.0.0:9000");
        assert_eq!(s.runner.max_attempts, 7);
        assert_eq!(s.storage.backend, StorageBackend::Local);
    }

    #[test]
    fn invalid_values_name_the_key() {
        let err =
            Settings::load_from(None, env(&[("VOXLINE__RUNNER__MAX_ATTEMPTS", "0")])).unwrap_err();
        assert!(err.to_string().contains("runner.max_attempts"), "{err}");
        let err =
            Settings::load_from(None, env(&[("VOXLINE__STORAGE__BACKEND", "s3")])).unwrap_err();
        assert!(err.to_string().contains("storage.s3.bucket"), "{err}");
        let err = Settings::load_from(None, env(&[("VOXLINE__RUNNER__LEASE_SECONDS", "many")]))
            .unwrap_err();
        assert!(err.to_string().contains("lease_seconds"), "{err}");
        let err = Settings::load_from(None, env(&[("VOXLINE__QUEUE__FETCH_WAIT_SECONDS", "10")]))
            .unwrap_err();
        assert!(
            err.to_string().contains("queue.fetch_wait_seconds"),
            "{err}"
        );
    }

    #[test]
    fn lists_come_comma_separated() {
        let s = Settings::load_from(
            None,
            env(&[
                (
                    "VOXLINE__SERVER__CORS_ALLOWED_ORIGINS",
                    "https://a.example,https://b.example",
                ),
                ("VOXLINE__AUTH__AUDIENCES", "authenticated"),
            ]),
        )
        .unwrap();
        assert_eq!(s.server.cors_allowed_origins.len(), 2);
        assert_eq!(s.auth.audiences, vec!["authenticated".to_owned()]);
    }

    #[test]
    fn production_refuses_development_shortcuts() {
        let base = [
            ("VOXLINE__PROFILE", "production"),
            (
                "VOXLINE__STORAGE__SIGNING_KEY",
                "a-long-random-production-secret",
            ),
        ];
        let mut with_dev_token = env(&base);
        with_dev_token.extend(env(&[("VOXLINE__AUTH__DEV_TOKEN", "true")]));
        let err = Settings::load_from(None, with_dev_token).unwrap_err();
        assert!(err.to_string().contains("auth.dev_token"), "{err}");
        let mut with_private = env(&base);
        with_private.extend(env(&[(
            "VOXLINE__OUTBOUND__ALLOW_PRIVATE_NETWORKS",
            "true",
        )]));
        let err = Settings::load_from(None, with_private).unwrap_err();
        assert!(
            err.to_string().contains("outbound.allow_private_networks"),
            "{err}"
        );
        assert!(Settings::load_from(None, env(&base)).is_ok());
    }

    #[test]
    fn secrets_do_not_print() {
        let s = Settings::load_from(
            None,
            env(&[("VOXLINE__STORAGE__SIGNING_KEY", "hunter2hunter2")]),
        )
        .unwrap();
        assert!(!format!("{s:?}").contains("hunter2"));
    }

    #[test]
    fn vendors_come_by_name_with_their_kind() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("voxline.toml");
        std::fs::write(
            &file,
            r#"
[vendors.groq]
kind = "openai"
base_url = "https://api.groq.com/openai/v1"
capabilities = ["transcribe", "translate"]
transcribe_model = "whisper-large-v3"

[vendors.elevenlabs]
kind = "elevenlabs"
api_key = "xi-key"
voices = { es = "spanish-voice" }
limits = { max_concurrency = 2, requests_per_minute = 60 }
"#,
        )
        .unwrap();
        let s = Settings::load_from(
            Some(&file),
            env(&[("VOXLINE__VENDORS__GROQ__API_KEY", "gsk-from-env")]),
        )
        .unwrap();
        let VendorSettings::OpenAi(groq) = &s.vendors["groq"] else {
            panic!("groq is an OpenAI-compatible vendor")
        };
        assert_eq!(groq.api_key.expose(), "gsk-from-env");
        assert_eq!(groq.transcribe_model, "whisper-large-v3");
        assert_eq!(groq.capabilities.len(), 2);
        let VendorSettings::ElevenLabs(eleven) = &s.vendors["elevenlabs"] else {
            panic!("elevenlabs kind")
        };
        assert_eq!((eleven.stability, eleven.style), (0.57, 0.22));
        assert_eq!(eleven.limits.max_concurrency, 2);
        assert_eq!(eleven.limits.timeout_seconds, 120);

        std::fs::write(&file, "[vendors.dg]\nkind = \"deepgram\"\n").unwrap();
        let err = Settings::load_from(Some(&file), env(&[])).unwrap_err();
        assert!(
            err.to_string().contains("[vendors.dg]") && err.to_string().contains("api_key"),
            "{err}"
        );
        std::fs::write(&file, "[vendors.x]\nkind = \"babelfish\"\n").unwrap();
        assert!(Settings::load_from(Some(&file), env(&[])).is_err());
        std::fs::write(&file, "[vendors.x]\nkind = \"openai\"\nmodel = \"typo\"\n").unwrap();
        let err = Settings::load_from(Some(&file), env(&[])).unwrap_err();
        assert!(err.to_string().contains("model"), "{err}");
    }
}
