//! The public keys of a JWKS URL, cached. Keys older than
//! `auth.jwks_cache_seconds` keep serving while one refresh runs in the
//! background; a token naming an unknown `kid` (a key rotation) waits for a
//! refresh. Fetches happen at most once per `auth.jwks_min_refresh_seconds`,
//! so forged `kid`s cannot make the gateway hammer the key server. If a
//! refresh fails, the keys already held keep working.

use std::collections::HashMap;
use std::sync::Arc;
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

#[derive(Clone)]
pub struct Jwks {
    inner: Arc<Inner>,
}

struct Inner {
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
            inner: Arc::new(Inner {
                url: settings.jwks_url.clone(),
                http: reqwest::Client::builder()
                    .timeout(Duration::from_secs(5))
                    .build()
                    .expect("a plain HTTP client builds"),
                ttl: Duration::from_secs(settings.jwks_cache_seconds),
                min_refresh: Duration::from_secs(settings.jwks_min_refresh_seconds),
                cache: RwLock::new(Cache::default()),
                last_attempt: Mutex::new(None),
            }),
        }
    }

    /// The key that verifies a token with `kid` and `alg`.
    pub async fn key(&self, kid: Option<&str>, alg: Algorithm) -> Result<DecodingKey, JwtError> {
        let (found, fresh) = {
            let cache = self.inner.cache.read().await;
            let fresh = cache
                .fetched_at
                .is_some_and(|at| at.elapsed() < self.inner.ttl);
            (lookup(&cache, kid).cloned(), fresh)
        };
        if let Some(key) = found {
            if !fresh {
                // Serve the held key; refresh beside the request.
                let inner = self.inner.clone();
                tokio::spawn(async move {
                    if let Ok(last) = inner.last_attempt.try_lock() {
                        inner.refresh(last).await;
                    }
                });
            }
            return pinned(&key, alg);
        }
        // An unknown kid: wait for a refresh (or the one under way).
        let last = self.inner.last_attempt.lock().await;
        self.inner.refresh(last).await;
        let cache = self.inner.cache.read().await;
        if cache.fetched_at.is_none() {
            return Err(JwtError::KeysUnavailable(format!(
                "no keys could be fetched from {} yet",
                self.inner.url
            )));
        }
        lookup(&cache, kid).map_or(Err(JwtError::UnknownKey), |k| pinned(k, alg))
    }
}

impl Inner {
    /// Fetches the keys unless the last try was too recent; `last` is the
    /// held lock on the time of the last try.
    async fn refresh(&self, mut last: tokio::sync::MutexGuard<'_, Option<Instant>>) {
        if last.is_some_and(|at| at.elapsed() < self.min_refresh) {
            return;
        }
        *last = Some(Instant::now());
        match self.fetch().await {
            Ok(fetched) => *self.cache.write().await = fetched,
            Err(e) => tracing::warn!(url = %self.url, error = %e, "could not refresh the JWKS"),
        }
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
