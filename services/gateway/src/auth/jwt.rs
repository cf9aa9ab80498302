//! JWT bearer tokens: HS256 with the shared secret, RS256/ES256 with keys
//! from a JWKS URL. The algorithm is pinned per key (the secret only ever
//! verifies HS256, a JWKS key only the algorithm it was published for), so
//! `alg: none` and HS/RS confusion are refused before any signature check.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::errors::ErrorKind;
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};
use voxline_config::AuthSettings;

use super::jwks::Jwks;

/// Why a token was refused; each says what the caller can do about it.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("the bearer token is not a well-formed JWT")]
    Malformed,
    #[error("tokens signed with `{0}` are not accepted; use HS256, RS256 or ES256")]
    AlgorithmNotAllowed(String),
    #[error("{0} tokens are not accepted by this server ({1} is not configured)")]
    SchemeNotConfigured(&'static str, &'static str),
    #[error("the token's signature does not verify")]
    BadSignature,
    #[error("the token names a signing key (`kid`) this server does not know")]
    UnknownKey,
    #[error("the token has expired; sign in again")]
    Expired,
    #[error("the token is not valid yet (`nbf` is in the future)")]
    NotYetValid,
    #[error("the token's audience (`aud`) is not one this server accepts")]
    WrongAudience,
    #[error("the token's issuer (`iss`) is not one this server accepts")]
    WrongIssuer,
    #[error("the token lacks the `{0}` claim")]
    MissingClaim(String),
    #[error("the signing keys could not be fetched: {0}")]
    KeysUnavailable(String),
}

/// Who a verified token speaks for.
#[derive(Debug, Clone)]
pub struct Identity {
    /// The value of the configured tenant claim.
    pub tenant: String,
}

pub struct JwtVerifier {
    secret: Option<DecodingKey>,
    jwks: Option<Jwks>,
    settings: AuthSettings,
}

impl JwtVerifier {
    /// A verifier for the configured schemes; `None` when neither a secret
    /// nor a JWKS URL is set (then JWTs are simply not accepted).
    pub fn from_settings(settings: &AuthSettings) -> Option<Self> {
        let secret = (!settings.jwt_secret.expose().is_empty())
            .then(|| DecodingKey::from_secret(settings.jwt_secret.expose().as_bytes()));
        let jwks = (!settings.jwks_url.is_empty()).then(|| Jwks::new(settings));
        (secret.is_some() || jwks.is_some()).then(|| Self {
            secret,
            jwks,
            settings: settings.clone(),
        })
    }

    pub async fn verify(&self, token: &str) -> Result<Identity, JwtError> {
        let header = Header::peek(token)?;
        let (key, alg) = match header.alg.as_str() {
            "HS256" => match &self.secret {
                Some(key) => (key.clone(), Algorithm::HS256),
                None => return Err(JwtError::SchemeNotConfigured("HS256", "auth.jwt_secret")),
            },
            "RS256" | "ES256" => {
                let alg = if header.alg == "RS256" {
                    Algorithm::RS256
                } else {
                    Algorithm::ES256
                };
                match &self.jwks {
                    Some(jwks) => (jwks.key(header.kid.as_deref(), alg).await?, alg),
                    None => {
                        return Err(JwtError::SchemeNotConfigured(
                            "RS256/ES256",
                            "auth.jwks_url",
                        ));
                    }
                }
            }
            other => {
                return Err(JwtError::AlgorithmNotAllowed(
                    other.chars().take(20).collect(),
                ));
            }
        };
        let claims = jsonwebtoken::decode::<Map<String, Value>>(token, &key, &self.validation(alg))
            .map_err(|e| match e.kind() {
                ErrorKind::ExpiredSignature => JwtError::Expired,
                ErrorKind::ImmatureSignature => JwtError::NotYetValid,
                ErrorKind::InvalidAudience => JwtError::WrongAudience,
                ErrorKind::InvalidIssuer => JwtError::WrongIssuer,
                ErrorKind::MissingRequiredClaim(c) => JwtError::MissingClaim(c.clone()),
                ErrorKind::InvalidAlgorithm => JwtError::AlgorithmNotAllowed(header.alg.clone()),
                ErrorKind::InvalidSignature
                | ErrorKind::InvalidRsaKey(_)
                | ErrorKind::InvalidEcdsaKey
                | ErrorKind::InvalidKeyFormat => JwtError::BadSignature,
                _ => JwtError::Malformed,
            })?
            .claims;
        let claim = &self.settings.tenant_claim;
        let tenant = match claims.get(claim) {
            Some(Value::String(s)) if !s.trim().is_empty() && s.len() <= 200 => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => return Err(JwtError::MissingClaim(claim.clone())),
        };
        Ok(Identity { tenant })
    }

    fn validation(&self, alg: Algorithm) -> Validation {
        let mut v = Validation::new(alg);
        v.leeway = self.settings.leeway_seconds;
        v.validate_nbf = true;
        let mut required = vec!["exp"];
        if self.settings.audiences.is_empty() {
            v.validate_aud = false;
        } else {
            v.set_audience(&self.settings.audiences);
            required.push("aud");
        }
        if !self.settings.issuers.is_empty() {
            v.set_issuer(&self.settings.issuers);
            required.push("iss");
        }
        v.set_required_spec_claims(&required);
        v
    }
}

/// The token's header, read without trusting it, to pick the key.
struct Header {
    alg: String,
    kid: Option<String>,
}

impl Header {
    fn peek(token: &str) -> Result<Self, JwtError> {
        let mut parts = token.split('.');
        let (Some(head), Some(_), Some(_), None) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(JwtError::Malformed);
        };
        let bytes = URL_SAFE_NO_PAD
            .decode(head.trim_end_matches('='))
            .map_err(|_| JwtError::Malformed)?;
        let header: Map<String, Value> =
            serde_json::from_slice(&bytes).map_err(|_| JwtError::Malformed)?;
        let alg = header
            .get("alg")
            .and_then(Value::as_str)
            .ok_or(JwtError::Malformed)?
            .to_owned();
        let kid = header.get("kid").and_then(Value::as_str).map(str::to_owned);
        Ok(Self { alg, kid })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jsonwebtoken::{EncodingKey, encode};
    use serde_json::json;
    use voxline_config::Secret;

    fn verifier() -> JwtVerifier {
        let settings = AuthSettings {
            jwt_secret: Secret::new("super-secret-jwt-token-with-at-least-32-characters"),
            ..AuthSettings::default()
        };
        JwtVerifier::from_settings(&settings).unwrap()
    }

    fn hs256(claims: Value, secret: &str) -> String {
        encode(
            &jsonwebtoken::Header::new(Algorithm::HS256),
            &claims,
            &EncodingKey::from_secret(secret.as_bytes()),
        )
        .unwrap()
    }

    fn now() -> i64 {
        chrono::Utc::now().timestamp()
    }

    const SECRET: &str = "super-secret-jwt-token-with-at-least-32-characters";

    #[tokio::test]
    async fn supabase_style_tokens_verify() {
        let token = hs256(
            json!({"sub": "user-1", "aud": "authenticated", "email": "a@b.c", "exp": now() + 60}),
            SECRET,
        );
        assert_eq!(verifier().verify(&token).await.unwrap().tenant, "user-1");
    }

    #[tokio::test]
    async fn bad_tokens_are_refused_with_their_reason() {
        let v = verifier();
        let cases = [
            (
                json!({"sub": "u", "aud": "authenticated", "exp": now() - 300}),
                SECRET,
                JwtError::Expired,
            ),
            (
                json!({"sub": "u", "aud": "authenticated", "exp": now() + 60, "nbf": now() + 300}),
                SECRET,
                JwtError::NotYetValid,
            ),
            (
                json!({"sub": "u", "aud": "service_role", "exp": now() + 60}),
                SECRET,
                JwtError::WrongAudience,
            ),
            (
                json!({"sub": "u", "exp": now() + 60}),
                SECRET,
                JwtError::MissingClaim("aud".into()),
            ),
            (
                json!({"aud": "authenticated", "exp": now() + 60}),
                SECRET,
                JwtError::MissingClaim("sub".into()),
            ),
            (
                json!({"sub": "u", "aud": "authenticated"}),
                SECRET,
                JwtError::MissingClaim("exp".into()),
            ),
            (
                json!({"sub": "u", "aud": "authenticated", "exp": now() + 60}),
                "another-secret-of-enough-length-000000",
                JwtError::BadSignature,
            ),
        ];
        for (claims, secret, want) in cases {
            assert_eq!(
                v.verify(&hs256(claims.clone(), secret)).await.unwrap_err(),
                want,
                "{claims}"
            );
        }
    }

    #[tokio::test]
    async fn alg_none_and_unconfigured_schemes_are_refused() {
        let v = verifier();
        let body = URL_SAFE_NO_PAD
            .encode(json!({"sub": "u", "aud": "authenticated", "exp": now() + 60}).to_string());
        let none = format!(
            "{}.{body}.",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"none","typ":"JWT"}"#)
        );
        assert_eq!(
            v.verify(&none).await.unwrap_err(),
            JwtError::AlgorithmNotAllowed("none".into())
        );
        let rs = format!(
            "{}.{body}.c2ln",
            URL_SAFE_NO_PAD.encode(r#"{"alg":"RS256","typ":"JWT"}"#)
        );
        assert!(matches!(
            v.verify(&rs).await.unwrap_err(),
            JwtError::SchemeNotConfigured(..)
        ));
        assert_eq!(
            v.verify("not-a-jwt").await.unwrap_err(),
            JwtError::Malformed
        );
    }
}
