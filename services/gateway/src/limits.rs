//! Rate limits kept in Redis, so every gateway replica draws on the same
//! budget: per client address (before authentication, so floods of bad
//! tokens are limited too) and per tenant, for each class of route. Each
//! budget is a GCRA bucket (one key, one atomic script): `N` per minute,
//! with bursts up to `N`. When Redis does not answer within 250 ms the
//! request goes through: limits protect the service, they must not take it
//! down.

use std::net::IpAddr;
use std::time::Duration;

use actix_web::HttpRequest;
use actix_web::http::Method;
use redis::aio::ConnectionManager;
use voxline_config::{RateBudget, RateLimitSettings};
use voxline_core::TenantId;

use crate::error::{ApiError, Code};

/// Budgets are per class of route, so a polling client cannot starve its
/// own uploads and job creation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RouteClass {
    Read,
    Write,
    Upload,
}

impl RouteClass {
    pub fn of(req: &HttpRequest) -> Self {
        let path = req.path();
        if *req.method() == Method::GET || *req.method() == Method::HEAD {
            RouteClass::Read
        } else if path.ends_with("/uploads") || path.starts_with("/v1/files") {
            RouteClass::Upload
        } else {
            RouteClass::Write
        }
    }

    fn as_str(self) -> &'static str {
        match self {
            RouteClass::Read => "read",
            RouteClass::Write => "write",
            RouteClass::Upload => "upload",
        }
    }
}

#[derive(Clone)]
pub struct Limiter {
    conn: ConnectionManager,
    namespace: String,
    settings: RateLimitSettings,
}

impl Limiter {
    pub fn new(conn: ConnectionManager, namespace: &str, settings: &RateLimitSettings) -> Self {
        Self {
            conn,
            namespace: namespace.to_owned(),
            settings: settings.clone(),
        }
    }

    fn budget(&self, class: RouteClass) -> RateBudget {
        match class {
            RouteClass::Read => self.settings.read,
            RouteClass::Write => self.settings.write,
            RouteClass::Upload => self.settings.upload,
        }
    }

    pub async fn check_tenant(&self, class: RouteClass, tenant: TenantId) -> Result<(), ApiError> {
        let limit = self.budget(class).per_tenant_per_minute;
        self.check(class, &format!("tenant:{tenant}"), limit, "your account")
            .await
    }

    pub async fn check_address(&self, class: RouteClass, ip: IpAddr) -> Result<(), ApiError> {
        let limit = self.budget(class).per_ip_per_minute;
        self.check(
            class,
            &format!("ip:{}", network_of(ip)),
            limit,
            "your address",
        )
        .await
    }

    /// The client's address: the TCP peer, or the last `X-Forwarded-For`
    /// hop when the gateway sits behind a trusted proxy.
    pub fn client_address(&self, req: &HttpRequest) -> Option<IpAddr> {
        if self.settings.trust_forwarded_for
            && let Some(ip) = req
                .headers()
                .get_all("x-forwarded-for")
                .last()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|hop| parse_hop(hop.trim()))
        {
            return Some(ip);
        }
        req.peer_addr().map(|a| a.ip())
    }

    async fn check(
        &self,
        class: RouteClass,
        who: &str,
        per_minute: u32,
        whose: &str,
    ) -> Result<(), ApiError> {
        if !self.settings.enabled || per_minute == 0 {
            return Ok(());
        }
        let key = format!("{}:ratelimit:{}:{who}", self.namespace, class.as_str());
        let interval_ms = (60_000 / u64::from(per_minute)).max(1);
        let mut conn = self.conn.clone();
        let answer = tokio::time::timeout(
            Duration::from_millis(250),
            voxline_rate_limit::take(&mut conn, &key, interval_ms, 60_000),
        )
        .await;
        match answer {
            Ok(Ok(None)) => Ok(()),
            Ok(Ok(Some(wait_ms))) => {
                let seconds = wait_ms.div_ceil(1000).max(1);
                Err(ApiError::new(Code::RateLimited,
                    format!(
                        "too many {} requests from {whose} (the limit is {per_minute} a minute); try again in {seconds} s",
                        class.as_str()
                    ),
                )
                .retry_after(seconds))
            }
            Ok(Err(e)) => {
                tracing::warn!(error = %e, "rate limit check failed; letting the request through");
                Ok(())
            }
            Err(_) => {
                tracing::warn!("rate limit check timed out; letting the request through");
                Ok(())
            }
        }
    }
}

/// The budget's holder: an IPv4 address, or an IPv6 /64 (one subscriber's
/// whole network, which a client can hop around in at will).
fn network_of(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => {
            let s = v6.segments();
            IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
        }
    }
}

/// One `X-Forwarded-For` hop: an address, maybe with a port (`1.2.3.4:5`,
/// `[::1]:5`).
fn parse_hop(hop: &str) -> Option<IpAddr> {
    hop.parse()
        .ok()
        .or_else(|| hop.parse::<std::net::SocketAddr>().ok().map(|a| a.ip()))
}

#[cfg(test)]
mod tests {
    #[test]
    fn forwarded_hops_may_carry_ports() {
        for (hop, ip) in [
            ("203.0.113.9", "203.0.113.9"),
            ("203.0.113.9:4711", "203.0.113.9"),
            ("[2001:db8::1]:80", "2001:db8::1"),
        ] {
            assert_eq!(super::parse_hop(hop), ip.parse().ok(), "{hop}");
        }
        assert_eq!(super::parse_hop("unknown"), None);
    }

    #[test]
    fn ipv6_clients_share_their_64() {
        let a = super::network_of("2001:db8:1:2::a".parse().unwrap());
        let b = super::network_of("2001:db8:1:2:ffff::1".parse().unwrap());
        assert_eq!(a, b);
        assert_eq!(
            super::network_of("203.0.113.9".parse().unwrap()).to_string(),
            "203.0.113.9"
        );
    }
}
