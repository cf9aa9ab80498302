//! Who is calling. Every route that touches tenant data takes a `Caller`;
//! every scheme resolves to one here: API keys (`vx_...`), JWTs (HS256 with
//! the shared secret, RS256/ES256 from a JWKS URL) and, only when enabled
//! outside production, the frontend's `dev-token`.

mod jwks;
pub mod jwt;
mod keys;

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{FromRequest, HttpMessage, HttpRequest, dev::Payload, web};
use voxline_batch::Batcher;
use voxline_config::AuthSettings;
use voxline_core::{ApiKeyId, TenantId};
use voxline_db::api_keys::{self, KeyOwner};
use voxline_db::{Db, DbError};

use crate::error::{ApiError, Code};
use crate::limits::RouteClass;
use crate::state::AppState;
use jwt::{JwtError, JwtVerifier};

/// The authenticated tenant of a request.
#[derive(Debug, Clone, Copy)]
pub struct Caller {
    pub tenant: TenantId,
}

/// Resolves bearer tokens to tenants.
pub struct Authenticator {
    jwt: Option<JwtVerifier>,
    dev_token: bool,
    dev_tenant: String,
    keys: KeyChecks,
    /// Keys checked lately, forgotten when they change.
    checked: Arc<keys::KeyCache>,
    /// Tenants named by tokens, by name: a tenant is never renamed or
    /// deleted, so its id is looked up (or the tenant made) once.
    tenants: Mutex<HashMap<String, TenantId>>,
    /// When this process last recorded each key's use.
    recorded: Mutex<HashMap<ApiKeyId, Instant>>,
}

/// API keys checked together: the keys of requests that arrive in the same
/// moment go to PostgreSQL in one statement. A key checked lately is
/// trusted for `auth.key_cache_seconds` unless it changes ([`keys`]), so a
/// revoked key stops working at once.
type KeyChecks = Batcher<String, Result<Option<KeyOwner>, Arc<DbError>>>;

const DEV_TOKEN: &str = "dev-token";

/// How often a process writes a key's last use (it is informational).
const RECORD_USE_EVERY: Duration = Duration::from_secs(60);

impl Authenticator {
    pub fn new(settings: &AuthSettings, db: Db) -> Self {
        if settings.dev_token {
            tracing::warn!("auth.dev_token is on: `Bearer dev-token` is accepted from anyone");
        }
        let checked =
            keys::KeyCache::spawn(db.clone(), Duration::from_secs(settings.key_cache_seconds));
        let keys = Batcher::spawn(256, 1, move |presented: Vec<String>| {
            let db = db.clone();
            async move {
                let refs: Vec<&str> = presented.iter().map(String::as_str).collect();
                match api_keys::authenticate(&db, &refs).await {
                    Ok(owners) => owners.into_iter().map(Ok).collect(),
                    Err(e) => {
                        let e = Arc::new(e);
                        presented.iter().map(|_| Err(e.clone())).collect()
                    }
                }
            }
        });
        Self {
            jwt: JwtVerifier::from_settings(settings),
            dev_token: settings.dev_token,
            dev_tenant: settings.dev_tenant.clone(),
            keys,
            checked,
            tenants: Mutex::new(HashMap::new()),
            recorded: Mutex::new(HashMap::new()),
        }
    }

    /// The tenant an API key speaks for; records its use now and then.
    async fn key_owner(&self, db: &Db, token: &str) -> Result<TenantId, ApiError> {
        let owner = match self.checked.get(token) {
            Ok(owner) => owner,
            Err(ticket) => {
                let owner = self
                    .keys
                    .submit(token.to_owned())
                    .await
                    .ok_or_else(|| {
                        ApiError::internal("the key check was dropped", "batch dropped")
                    })?
                    .map_err(|e| ApiError::from(DbError::Shared(e)))?
                    .ok_or_else(|| ApiError::unauthorized("the API key is unknown or revoked"))?;
                self.checked.keep(ticket, token, owner);
                owner
            }
        };
        let due = {
            let mut recorded = self.recorded.lock().unwrap_or_else(|p| p.into_inner());
            let due = recorded
                .get(&owner.key)
                .is_none_or(|at| at.elapsed() >= RECORD_USE_EVERY);
            if due {
                recorded.insert(owner.key, Instant::now());
            }
            due
        };
        // Written before the answer, so a key's listing never lags the use
        // that answered: one write a minute per key and process.
        if due && let Err(e) = api_keys::record_use(db, owner.key).await {
            tracing::warn!(error = %e, "an API key's last use was not recorded");
        }
        Ok(owner.tenant)
    }

    /// The tenant called `name`, made on first sight; PostgreSQL is asked
    /// once per name and process.
    async fn tenant_named(&self, db: &Db, name: &str) -> Result<TenantId, ApiError> {
        /// Past this many names, the map starts over.
        const MOST_NAMES: usize = 100_000;
        let known = self
            .tenants
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .get(name)
            .copied();
        if let Some(tenant) = known {
            return Ok(tenant);
        }
        let tenant = api_keys::ensure_tenant(db, name).await?;
        let mut tenants = self.tenants.lock().unwrap_or_else(|p| p.into_inner());
        if tenants.len() >= MOST_NAMES {
            tenants.clear();
        }
        tenants.insert(name.to_owned(), tenant);
        Ok(tenant)
    }

    /// Forgets a key revoked through this gateway before the revocation is
    /// answered, without waiting for its announcement.
    pub fn forget_key(&self, prefix: &str) {
        self.checked.forget(prefix);
    }

    /// The tenant a bearer token speaks for.
    pub async fn tenant_of(&self, db: &Db, token: &str) -> Result<TenantId, ApiError> {
        if token.starts_with(api_keys::KEY_PREFIX) {
            return self.key_owner(db, token).await;
        }
        if token == DEV_TOKEN {
            if !self.dev_token {
                return Err(ApiError::unauthorized(
                    "`dev-token` is only accepted when development auth is enabled (auth.dev_token); sign in for a real token",
                ));
            }
            return self.tenant_named(db, &self.dev_tenant).await;
        }
        if token.matches('.').count() == 2 {
            let Some(jwt) = &self.jwt else {
                return Err(ApiError::unauthorized(
                    "JWT bearer tokens are not enabled on this server; use an API key (`vx_...`)",
                ));
            };
            let identity = jwt.verify(token).await.map_err(|e| match e {
                JwtError::KeysUnavailable(_) => {
                    ApiError::unavailable("the token's signing keys could not be fetched", e)
                        .retry_after(5)
                }
                e => ApiError::unauthorized(e.to_string()),
            })?;
            // A namespace of their own: a token's `sub` must never name a
            // tenant made for API keys or development.
            return self
                .tenant_named(db, &format!("jwt:{}", identity.tenant))
                .await;
        }
        Err(ApiError::unauthorized(
            "the bearer token is neither an API key (`vx_...`) nor a JWT",
        ))
    }
}

/// The outcome of authenticating a request ahead of its handler
/// ([`crate::middleware::authenticate_first`]).
struct Resolved(Result<Caller, ApiError>);

/// Authenticates `req` and applies its tenant's rate limit.
async fn resolve(req: &HttpRequest) -> Result<Caller, ApiError> {
    let state = req
        .app_data::<web::Data<AppState>>()
        .cloned()
        .ok_or_else(|| ApiError::internal("state missing", "no app data"))?;
    let token = bearer_token(req)?;
    let tenant = state.auth.tenant_of(&state.db, &token).await?;
    state
        .limiter
        .check_tenant(RouteClass::of(req), tenant)
        .await?;
    Ok(Caller { tenant })
}

/// Authenticates a request that carries a bearer token before its handler
/// reads the body, so a refused credential is answered 401 whatever the body
/// holds: a handler's extractors run together, and a key check that waits for
/// PostgreSQL would otherwise lose the race to a body found invalid at once.
/// The admin token is left to the admin routes.
pub(crate) async fn authenticate_first(req: &HttpRequest) {
    let Some(state) = req.app_data::<web::Data<AppState>>() else {
        return;
    };
    let admin = state.settings.auth.admin_token.expose();
    match bearer_token(req) {
        Ok(token)
            if !admin.is_empty()
                && api_keys::constant_time_eq(token.as_bytes(), admin.as_bytes()) => {}
        Err(_) => {}
        Ok(_) => {
            let resolved = resolve(req).await;
            req.extensions_mut().insert(Resolved(resolved));
        }
    }
}

impl FromRequest for Caller {
    type Error = ApiError;
    type Future = Pin<Box<dyn Future<Output = Result<Self, Self::Error>>>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        // One extraction per request, even when a handler asks twice.
        if let Some(caller) = req.extensions().get::<Caller>() {
            let caller = *caller;
            return Box::pin(async move { Ok(caller) });
        }
        let ahead = req.extensions_mut().remove::<Resolved>();
        let req = req.clone();
        Box::pin(async move {
            let caller = match ahead {
                Some(Resolved(result)) => result?,
                None => resolve(&req).await?,
            };
            req.extensions_mut().insert(caller);
            Ok(caller)
        })
    }
}

/// An administrator: the bearer token is `auth.admin_token`. When no admin
/// token is configured, the admin API does not exist (404).
pub struct Admin;

impl FromRequest for Admin {
    type Error = ApiError;
    type Future = std::future::Ready<Result<Self, Self::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let expected = req
            .app_data::<web::Data<AppState>>()
            .map(|s| s.settings.auth.admin_token.expose().to_owned())
            .unwrap_or_default();
        std::future::ready(bearer_token(req).and_then(|token| {
            if expected.is_empty() {
                Err(ApiError::not_found(
                    "admin API (set auth.admin_token to enable it)",
                ))
            } else if api_keys::constant_time_eq(token.as_bytes(), expected.as_bytes()) {
                Ok(Admin)
            } else {
                Err(ApiError::unauthorized(
                    "the admin API takes the admin token (auth.admin_token)",
                ))
            }
        }))
    }
}

/// API routes that take no bearer token: signed links.
const OPEN_API_PATHS: &[&str] = &["/v1/files", "/v1/packages/"];

/// The 401 of a request to an API route that needs a bearer token and
/// carries none. The address's rate limit answers it before its 429: it
/// costs no lookup, and a client told only to slow down would never learn
/// that it forgot its key (`docs/security.md`, the order of refusals).
pub(crate) fn missing_credentials(req: &HttpRequest) -> Option<ApiError> {
    let path = req.path();
    let api = path.starts_with("/v1/") || path.starts_with("/api/") || path == "/api";
    if !api || OPEN_API_PATHS.iter().any(|open| path.starts_with(open)) {
        return None;
    }
    bearer_token(req).err()
}

fn bearer_token(req: &HttpRequest) -> Result<String, ApiError> {
    let header = req
        .headers()
        .get(actix_web::http::header::AUTHORIZATION)
        .ok_or_else(|| {
            ApiError::unauthorized(
                "send `Authorization: Bearer <token>` with an API key (create one with `voxline keys create`) or a JWT",
            )
        })?;
    let text = header
        .to_str()
        .map_err(|_| ApiError::unauthorized("the Authorization header is not readable text"))?;
    let token = text
        .strip_prefix("Bearer ")
        .or_else(|| text.strip_prefix("bearer "))
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .ok_or_else(|| {
            ApiError::unauthorized("the Authorization header must be `Bearer <token>`")
        })?;
    if token.len() > 8192 {
        return Err(ApiError::new(
            Code::Unauthorized,
            "the bearer token is longer than 8192 characters",
        ));
    }
    Ok(token.to_owned())
}
