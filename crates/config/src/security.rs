//! Who may call, how often, and where Voxline may call out to.

use serde::Deserialize;

use crate::Secret;

/// Bearer tokens besides API keys: JWTs signed with a shared secret (HS256,
/// Supabase's default) or with keys published at a JWKS URL (RS256, ES256).
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct AuthSettings {
    /// The HS256 secret (Supabase: the project's JWT secret). Empty: HS256
    /// tokens are refused.
    pub jwt_secret: Secret,
    /// Where the RS256/ES256 public keys are published. Empty: none.
    pub jwks_url: String,
    /// How long fetched keys are trusted before they are fetched again; an
    /// unknown `kid` fetches sooner (at most once per `jwks_min_refresh_seconds`).
    pub jwks_cache_seconds: u64,
    pub jwks_min_refresh_seconds: u64,
    /// Accepted `iss` values; empty accepts any issuer.
    pub issuers: Vec<String>,
    /// Accepted `aud` values; tokens must name one of them.
    pub audiences: Vec<String>,
    /// Clock skew tolerated on `exp` and `nbf`, in seconds.
    pub leeway_seconds: u64,
    /// The claim that names the tenant; the tenant is created on first sight.
    pub tenant_claim: String,
    /// Accept the literal `Bearer dev-token` (the frontend's development
    /// token) as tenant `dev_tenant`. Refused in the production profile.
    pub dev_token: bool,
    pub dev_tenant: String,
    /// The bearer token of the admin API (`/v1/admin/...`: granting
    /// credits). Empty: the admin API is off.
    pub admin_token: Secret,
    /// How long a gateway trusts an API key it has checked before checking
    /// it again. A key that is revoked or deleted is forgotten at once all
    /// the same: PostgreSQL announces every such change (`LISTEN
    /// voxline_api_keys`), and while a gateway cannot hear the
    /// announcements it checks every request. 0 checks every request; set
    /// 0 where the gateways reach PostgreSQL through a pooler that drops
    /// `LISTEN` (PgBouncer in transaction mode).
    pub key_cache_seconds: u64,
}

impl Default for AuthSettings {
    fn default() -> Self {
        Self {
            jwt_secret: Secret::new(""),
            jwks_url: String::new(),
            jwks_cache_seconds: 600,
            jwks_min_refresh_seconds: 10,
            issuers: vec![],
            audiences: vec!["authenticated".into()],
            leeway_seconds: 30,
            tenant_claim: "sub".into(),
            dev_token: false,
            dev_tenant: "dev".into(),
            admin_token: Secret::new(""),
            key_cache_seconds: 60,
        }
    }
}

/// Request budgets kept in Redis, so they hold across gateway replicas.
/// Each class has a budget per tenant and one per client IP address, per
/// minute; 0 turns that budget off.
#[derive(Debug, Clone, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateLimitSettings {
    pub enabled: bool,
    /// Reads: GET and HEAD.
    pub read: RateBudget,
    /// Changes: job creation, cancellation, keys.
    pub write: RateBudget,
    /// Media bodies: uploads.
    pub upload: RateBudget,
    /// Take the client address from the last `X-Forwarded-For` hop (behind
    /// a trusted load balancer) instead of the TCP peer.
    pub trust_forwarded_for: bool,
}

#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct RateBudget {
    pub per_tenant_per_minute: u32,
    pub per_ip_per_minute: u32,
}

impl Default for RateBudget {
    fn default() -> Self {
        Self {
            per_tenant_per_minute: 600,
            per_ip_per_minute: 1200,
        }
    }
}

impl Default for RateLimitSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            read: RateBudget::default(),
            write: RateBudget {
                per_tenant_per_minute: 120,
                per_ip_per_minute: 240,
            },
            upload: RateBudget {
                per_tenant_per_minute: 30,
                per_ip_per_minute: 60,
            },
            trust_forwarded_for: false,
        }
    }
}

/// URLs that users hand to Voxline (webhooks) may not reach the private
/// network the services run in, unless allowed here.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct OutboundSettings {
    /// Allow loopback, private, link-local and other non-public addresses
    /// (a laptop, the tests). Never in production.
    pub allow_private_networks: bool,
    /// Host names allowed whatever they resolve to (an internal receiver).
    pub allowed_hosts: Vec<String>,
}
