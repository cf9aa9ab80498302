//! Where user-supplied URLs (webhooks) may lead. Voxline's services run
//! inside a private network beside PostgreSQL, Redis and a cloud metadata
//! endpoint; a URL a user hands in must not reach them (SSRF). A URL is
//! checked when it is given (a literal address, then what its host
//! resolves to) and again at every connection: the HTTP client resolves
//! names through the same policy, so a name that resolves differently
//! later (DNS rebinding) still cannot reach a private address, and every
//! redirect hop is checked before it is followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use url::{Host, Url};
use voxline_config::OutboundSettings;

/// Redirects followed at most.
const MAX_REDIRECTS: usize = 5;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum OutboundError {
    #[error("`{0}` is not an http(s) URL")]
    Scheme(String),
    #[error("{0} is a private, loopback or link-local address, which Voxline does not call")]
    Private(String),
    #[error(
        "{0} resolves only to private, loopback or link-local addresses, which Voxline does not call"
    )]
    ResolvesPrivate(String),
    #[error("{0} does not resolve")]
    Unresolvable(String),
}

/// The outbound policy: public addresses only, unless configured otherwise.
#[derive(Debug, Clone, Default)]
pub struct OutboundPolicy {
    allow_private: bool,
    allowed_hosts: Arc<Vec<String>>,
}

impl OutboundPolicy {
    pub fn from_settings(settings: &OutboundSettings) -> Self {
        Self {
            allow_private: settings.allow_private_networks,
            allowed_hosts: Arc::new(
                settings
                    .allowed_hosts
                    .iter()
                    .map(|h| h.trim().to_ascii_lowercase())
                    .collect(),
            ),
        }
    }

    fn host_allowed(&self, host: &str) -> bool {
        self.allow_private
            || self
                .allowed_hosts
                .iter()
                .any(|h| h.eq_ignore_ascii_case(host.trim_end_matches('.')))
    }

    fn address_allowed(&self, ip: IpAddr) -> bool {
        self.allow_private || is_public(ip)
    }

    /// What can be told from the URL alone: scheme and literal addresses.
    pub fn check_url(&self, url: &Url) -> Result<(), OutboundError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(OutboundError::Scheme(url.scheme().to_owned()));
        }
        let literal = match url.host() {
            Some(Host::Ipv4(ip)) => IpAddr::V4(ip),
            Some(Host::Ipv6(ip)) => IpAddr::V6(ip),
            Some(Host::Domain(_)) => return Ok(()),
            None => return Err(OutboundError::Scheme(url.scheme().to_owned())),
        };
        if self.address_allowed(literal) || self.host_allowed(&literal.to_string()) {
            Ok(())
        } else {
            Err(OutboundError::Private(literal.to_string()))
        }
    }

    /// [`OutboundPolicy::check_url`], then what the host resolves to now.
    pub async fn check(&self, url: &Url) -> Result<(), OutboundError> {
        self.check_url(url)?;
        if let Some(Host::Domain(name)) = url.host() {
            let port = url.port_or_known_default().unwrap_or(443);
            self.resolve(name, port).await?;
        }
        Ok(())
    }

    async fn resolve(&self, name: &str, port: u16) -> Result<Vec<SocketAddr>, OutboundError> {
        let found: Vec<SocketAddr> = tokio::net::lookup_host((name, port))
            .await
            .map_err(|_| OutboundError::Unresolvable(name.to_owned()))?
            .collect();
        if found.is_empty() {
            return Err(OutboundError::Unresolvable(name.to_owned()));
        }
        if self.host_allowed(name) {
            return Ok(found);
        }
        let public: Vec<SocketAddr> = found
            .into_iter()
            .filter(|a| self.address_allowed(a.ip()))
            .collect();
        if public.is_empty() {
            return Err(OutboundError::ResolvesPrivate(name.to_owned()));
        }
        Ok(public)
    }

    /// An HTTP client that holds to this policy at every connection and
    /// every redirect. Literal addresses never reach a resolver: check the
    /// first URL with [`OutboundPolicy::check_url`] before sending.
    pub fn client(&self, timeout: Duration) -> reqwest::Client {
        let redirects = self.clone();
        reqwest::Client::builder()
            .timeout(timeout)
            // A proxy would resolve and connect on our behalf, past this policy.
            .no_proxy()
            .dns_resolver(Arc::new(self.clone()))
            .redirect(reqwest::redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= MAX_REDIRECTS {
                    return attempt.error(format!("more than {MAX_REDIRECTS} redirects"));
                }
                match redirects.check_url(attempt.url()) {
                    Ok(()) => attempt.follow(),
                    Err(e) => attempt.error(format!("redirect refused: {e}")),
                }
            }))
            .build()
            .expect("an HTTP client with default TLS")
    }
}

impl Resolve for OutboundPolicy {
    fn resolve(&self, name: Name) -> Resolving {
        let policy = self.clone();
        Box::pin(async move {
            let found = OutboundPolicy::resolve(&policy, name.as_str(), 0).await?;
            Ok(Box::new(found.into_iter()) as Addrs)
        })
    }
}

/// Whether an address is on the public internet: not loopback, private,
/// shared (CGNAT), link-local (cloud metadata lives there), multicast,
/// documentation, benchmarking or reserved space, in v4 or v6 (including
/// v4 addresses embedded in v6 ones).
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_private()
        || ip.is_link_local()
        || ip.is_broadcast()
        || ip.is_multicast()
        || ip.is_documentation()
        || a == 0
        || (a == 100 && (64..128).contains(&b)) // shared address space (CGNAT)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || a >= 240) // reserved
}

fn is_public_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    let s = ip.segments();
    let embedded_v4 =
        || Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
    if s[0] == 0x64 && s[1] == 0xff9b {
        return is_public_v4(embedded_v4()); // NAT64
    }
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_public_v4(v4); // 6to4
    }
    !(ip.is_unspecified()
        || ip.is_loopback()
        || ip.is_multicast()
        || (s[0] & 0xfe00) == 0xfc00 // unique local
        || (s[0] & 0xffc0) == 0xfe80 // link-local
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || s[..6].iter().all(|&x| x == 0)) // v4-compatible and other embedded forms
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn private_and_special_addresses_are_not_public() {
        for ip in [
            "127.0.0.1",
            "10.1.2.3",
            "172.16.0.1",
            "192.168.1.1",
            "169.254.169.254",
            "100.64.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "198.18.0.1",
            "240.0.0.1",
            "::1",
            "::",
            "fd00::1",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:7f00:1::",
            "::127.0.0.1",
            "2001:db8::1",
        ] {
            assert!(!is_public(ip.parse().unwrap()), "{ip} is not public");
        }
        for ip in [
            "93.184.216.34",
            "8.8.8.8",
            "2606:4700::1111",
            "::ffff:8.8.8.8",
        ] {
            assert!(is_public(ip.parse().unwrap()), "{ip} is public");
        }
    }

    #[tokio::test]
    async fn urls_to_private_places_are_refused() {
        let policy = OutboundPolicy::default();
        for url in [
            "http://127.0.0.1:8080/hook",
            "http://[::1]/hook",
            "http://169.254.169.254/latest/meta-data",
            "http://10.0.0.7/",
            "http://localhost:9/hook",
        ] {
            assert!(
                policy.check(&Url::parse(url).unwrap()).await.is_err(),
                "{url}"
            );
        }
        assert!(matches!(
            policy
                .check(&Url::parse("ftp://example.com/").unwrap())
                .await,
            Err(OutboundError::Scheme(_))
        ));
        let allowed = OutboundPolicy::from_settings(&OutboundSettings {
            allow_private_networks: false,
            allowed_hosts: vec!["localhost".into()],
        });
        assert!(
            allowed
                .check(&Url::parse("http://localhost:9/").unwrap())
                .await
                .is_ok()
        );
        assert!(
            allowed
                .check(&Url::parse("http://127.0.0.1:9/").unwrap())
                .await
                .is_err()
        );
    }
}
