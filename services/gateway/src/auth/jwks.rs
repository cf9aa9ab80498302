//! The public keys of a JWKS URL, cached. Keys are fetched again when the
//! cache is older than `auth.jwks_cache_seconds`, or sooner when a token
//! names an unknown `kid` (a key rotation), but never more often than once
//! per `auth.jwks_min_refresh_seconds`, so forged `kid`s cannot make the
//! gateway hammer the key server. If a refresh fails, the keys already held
//! keep working.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, JwkSet, KeyAlgorithm, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use tokio::sync::{Mutex, RwLock};
use voxline_config::AuthSettings;

use super::jwt::JwtError;

/// Largest JWKS document read.
const MAX_DOCUMENT: usize = 256 * 1024;

/// A usable key and the one algorithm it may verify.
#[derive(Clone)]
struct PinnedKey {
    key: DecodingKey,
    alg: Algorithm,
}

#[derive(Default)]
struct Cache {
    keys: HashMap<String, PinnedKey>,
    /// Keys published without a `kid`.
    unnamed: Vec<PinnedKey>,
    fetched_at: Option<Instant>,
}

pub struct Jwks {
    url: String,
    http: reqwest::Client,
    ttl: Duration,
    min_refresh: Duration,
    cache: RwLock<Cache>,
    /// When the last fetch was tried; held while fetching, so concurrent
    /// misses wait for one fetch instead of each starting their own.
    last_attempt: Mutex<Option<Instant>>,
}

impl Jwks {
    pub fn new(settings: &AuthSettings) -> Self {
        Self {
            url: settings.jwks_url.clone(),
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(5))
                .build()
                .expect("a plain HTTP client builds"),
            ttl: Duration::from_secs(settings.jwks_cache_seconds),
            min_refresh: Duration::from_secs(settings.jwks_min_refresh_seconds),
            cache: RwLock::new(Cache::default()),
            last_attempt: Mutex::new(None),
        }
    }

    /// The key that verifies a token with `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwtError> {
        if let Some(key) = self.cached(kid, alg).await {
            return key;
        }
        // Unknown kid, or stale keys: one refresh at a time, rate-limited.
        let mut last = self.last_attempt.lock().await;
        if let Some(key) = self.cached(kid, alg).await {
            return key; // refreshed while this request waited
        }
        if last.is_none_or(|at| at.elapsed() >= self.min_refresh) {
            *last = Some(Instant::now());
            match self.fetch().await {
                Ok(fetched) => *self.cache.write().await = fetched,
                Err(e) => {
                    tracing::warn!(url = %self.url, error = %e, "could not refresh the JWKS");
                    if self.cache.read().await.fetched_at.is_none() {
                        return Err(JwtError::KeysUnavailable(e));
                    }
                }
            }
        }
        drop(last);
        let cache = self.cache.read().await;
        lookup(&cache, kid).map_or(Err(JwtError::UnknownKey), |k| pinned(k, alg))
    }

    /// The key from a fresh cache, if it has it.
    async fn cached(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Option<Result<DecodingKey, JwtError>> {
        let cache = self.cache.read().await;
        let fresh = cache.fetched_at.is_some_and(|at| at.elapsed() < self.ttl);
        fresh
            .then(|| lookup(&cache, kid))
            .flatten()
            .map(|k| pinned(k, alg))
    }

    async fn fetch(&self) -> Result<Cache, String> {
        let response = self
            .http
            .get(&self.url)
            .send()
            .await
            .map_err(|e| e.to_string())?;
        if !response.status().is_success() {
            return Err(format!("{} answered {}", self.url, response.status()));
        }
        let body = response.bytes().await.map_err(|e| e.to_string())?;
        if body.len() > MAX_DOCUMENT {
            return Err(format!("the JWKS is larger than {MAX_DOCUMENT} bytes"));
        }
        let set: JwkSet = serde_json::from_slice(&body).map_err(|e| format!("not a JWKS: {e}"))?;
        let mut cache = Cache {
            fetched_at: Some(Instant::now()),
            ..Cache::default()
        };
        for jwk in &set.keys {
            if jwk.common.public_key_use == Some(PublicKeyUse::Encryption) {
                continue;
            }
            let Some(alg) = algorithm_of(jwk) else {
                continue;
            };
            let Ok(key) = DecodingKey::from_jwk(jwk) else {
                continue;
            };
            let entry = PinnedKey { key, alg };
            match &jwk.common.key_id {
                Some(kid) => {
                    cache.keys.insert(kid.clone(), entry);
                }
                None => cache.unnamed.push(entry),
            }
        }
        tracing::info!(url = %self.url, keys = cache.keys.len() + cache.unnamed.len(), "fetched the JWKS");
        Ok(cache)
    }
}

/// The algorithm a published key is for: its `alg` if given, else what its
/// type implies. Keys for anything but RS256 and ES256 are skipped.
fn algorithm_of(jwk: &jsonwebtoken::jwk::Jwk) -> Option<Algorithm> {
    let implied = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => Algorithm::RS256,
        AlgorithmParameters::EllipticCurve(ec) if ec.curve == EllipticCurve::P256 => {
            Algorithm::ES256
        }
        _ => return None,
    };
    match jwk.common.key_algorithm {
        None => Some(implied),
        Some(KeyAlgorithm::RS256) if implied == Algorithm::RS256 => Some(implied),
        Some(KeyAlgorithm::ES256) if implied == Algorithm::ES256 => Some(implied),
        Some(_) => None,
    }
}

fn lookup<'a>(cache: &'a Cache, kid: Option<&str>) -> Option<&'a PinnedKey> {
    match kid {
        Some(kid) => cache.keys.get(kid),
        // A token without `kid` is only accepted when the set has one key.
        None => match (cache.keys.len(), cache.unnamed.len()) {
            (0, 1) => cache.unnamed.first(),
            (1, 0) => cache.keys.values().next(),
            _ => None,
        },
    }
}

fn pinned(found: &PinnedKey, alg: Algorithm) -> Result<DecodingKey, JwtError> {
    if found.alg == alg {
        Ok(found.key.clone())
    } else {
        Err(JwtError::AlgorithmNotAllowed(format!("{alg:?}")))
    }
}
