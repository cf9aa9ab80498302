//! Identity for tests: an issuer that signs JWTs the way Supabase (HS256)
//! and an OIDC provider (RS256, ES256 from a JWKS URL) do, with its keys
//! made by `openssl` on the spot, and the JWKS server publishing them.

use std::net::TcpListener;
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use actix_web::{App, HttpResponse, HttpServer, web};
use jsonwebtoken::jwk::{Jwk, JwkSet};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

/// Supabase's documented example secret length: at least 32 characters.
pub const HS_SECRET: &str = "test-only-jwt-secret-of-at-least-thirty-two-chars";

/// Keys and the tokens they sign.
pub struct Issuer {
    rsa: EncodingKey,
    /// The RSA public key in PEM: what an attacker would use as an HMAC
    /// secret in an algorithm-confusion attack.
    pub rsa_public_pem: Vec<u8>,
    ec: EncodingKey,
}

fn openssl(args: &[&str]) -> anyhow::Result<Vec<u8>> {
    let out = Command::new("openssl").args(args).output()?;
    anyhow::ensure!(out.status.success(), "openssl {args:?} failed");
    Ok(out.stdout)
}

impl Issuer {
    pub fn new(dir: &std::path::Path) -> anyhow::Result<Self> {
        let rsa_path = dir.join("rsa.pem");
        let rsa_path = rsa_path.to_str().unwrap_or_default();
        openssl(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:2048",
            "-out",
            rsa_path,
        ])?;
        let rsa_public_pem = openssl(&["pkey", "-in", rsa_path, "-pubout"])?;
        let ec_pem = openssl(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ])?;
        Ok(Self {
            rsa: EncodingKey::from_rsa_pem(&std::fs::read(rsa_path)?)?,
            rsa_public_pem,
            ec: EncodingKey::from_ec_pem(&ec_pem)?,
        })
    }

    /// The public keys, as a JWKS document, under the given key ids.
    pub fn jwks(&self, rsa_kid: &str, ec_kid: &str) -> anyhow::Result<Value> {
        let mut rsa = Jwk::from_encoding_key(&self.rsa, Algorithm::RS256)?;
        rsa.common.key_id = Some(rsa_kid.into());
        let mut ec = Jwk::from_encoding_key(&self.ec, Algorithm::ES256)?;
        ec.common.key_id = Some(ec_kid.into());
        Ok(serde_json::to_value(JwkSet {
            keys: vec![rsa, ec],
        })?)
    }

    pub fn hs256(&self, claims: &Value) -> String {
        hs256_with(HS_SECRET.as_bytes(), claims)
    }

    pub fn rs256(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::RS256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.rsa).expect("rs256 signs")
    }

    pub fn es256(&self, kid: &str, claims: &Value) -> String {
        let mut header = Header::new(Algorithm::ES256);
        header.kid = Some(kid.into());
        jsonwebtoken::encode(&header, claims, &self.ec).expect("es256 signs")
    }
}

/// An HS256 token signed with any secret (forgeries, confusion attacks).
pub fn hs256_with(secret: &[u8], claims: &Value) -> String {
    jsonwebtoken::encode(
        &Header::new(Algorithm::HS256),
        claims,
        &EncodingKey::from_secret(secret),
    )
    .expect("hs256 signs")
}

/// Claims of a signed-in Supabase user, valid for five minutes.
pub fn user_claims(sub: &str) -> Value {
    let now = chrono::Utc::now().timestamp();
    json!({"sub": sub, "aud": "authenticated", "role": "authenticated",
           "email": format!("{sub}@example.com"), "iat": now, "exp": now + 300})
}

/// Serves a JWKS document that tests can change (key rotation), and counts
/// how often it was fetched.
pub struct JwksServer {
    pub url: String,
    document: Arc<Mutex<Value>>,
    fetches: Arc<AtomicUsize>,
    server: actix_web::dev::ServerHandle,
}

impl JwksServer {
    pub fn start(document: Value) -> anyhow::Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let url = format!("http://{}/.well-known/jwks.json", listener.local_addr()?);
        let document = Arc::new(Mutex::new(document));
        let fetches = Arc::new(AtomicUsize::new(0));
        let (doc, count) = (document.clone(), fetches.clone());
        let server = HttpServer::new(move || {
            let (doc, count) = (doc.clone(), count.clone());
            App::new().route(
                "/.well-known/jwks.json",
                web::get().to(move || {
                    let (doc, count) = (doc.clone(), count.clone());
                    async move {
                        count.fetch_add(1, Ordering::SeqCst);
                        let body = doc.lock().expect("jwks lock").clone();
                        HttpResponse::Ok().json(body)
                    }
                }),
            )
        })
        .workers(1)
        .listen(listener)?
        .disable_signals()
        .run();
        let handle = server.handle();
        tokio::spawn(server);
        Ok(Self {
            url,
            document,
            fetches,
            server: handle,
        })
    }

    pub fn publish(&self, document: Value) {
        *self.document.lock().expect("jwks lock") = document;
    }

    pub fn fetches(&self) -> usize {
        self.fetches.load(Ordering::SeqCst)
    }
}

impl Drop for JwksServer {
    fn drop(&mut self) {
        let handle = self.server.clone();
        tokio::spawn(async move { handle.stop(false).await });
    }
}
