//! The client's address, proxy-aware (issue 8, finding 10).
//!
//! Behind a reverse proxy every connection comes from the proxy. Only a peer listed in
//! `APPLINKS_TRUSTED_PROXIES` may name the client in `X-Forwarded-For` (or `Forwarded`):
//! the address taken is the right-most one that is not itself a trusted proxy, because a
//! client can put anything on the left of what its proxy appends. From any other peer the
//! headers are ignored, so nobody can pick an address to dodge throttling.

use std::net::{IpAddr, SocketAddr};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::HeaderMap;
use axum::http::request::Parts;
use ipnet::IpNet;

use crate::web::{AppError, AppState};

/// Who sent the request, as far as can be trusted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientAddr {
    pub ip: IpAddr,
    /// The request came through a trusted proxy (so it is not a direct local one, even if
    /// the proxy runs on this machine).
    pub via_proxy: bool,
}

impl ClientAddr {
    /// Resolves the client from the TCP peer and the forwarding headers.
    pub fn resolve(peer: IpAddr, headers: &HeaderMap, trusted: &[IpNet]) -> Self {
        let is_trusted = |ip: &IpAddr| trusted.iter().any(|net| net.contains(ip));
        if !is_trusted(&peer) {
            return Self {
                ip: peer,
                via_proxy: false,
            };
        }
        let forwarded = forwarded_for(headers);
        let client = forwarded.iter().rev().find(|ip| !is_trusted(ip)).copied();
        Self {
            // Only trusted proxies all the way: the left-most one is the closest to a client.
            ip: client.or(forwarded.first().copied()).unwrap_or(peer),
            via_proxy: !forwarded.is_empty(),
        }
    }

    /// A request made directly on this machine, not relayed by a proxy.
    pub fn is_direct_loopback(&self) -> bool {
        self.ip.is_loopback() && !self.via_proxy
    }
}

/// The addresses of `X-Forwarded-For`, or else of `Forwarded`'s `for=`, left to right.
/// Entries that are not addresses (obfuscated ids, `unknown`) are skipped.
fn forwarded_for(headers: &HeaderMap) -> Vec<IpAddr> {
    let values = |name: &str| {
        headers
            .get_all(name)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .map(str::to_string)
            .collect::<Vec<_>>()
    };
    let xff: Vec<IpAddr> = values("x-forwarded-for")
        .iter()
        .filter_map(|v| parse_node(v))
        .collect();
    if !xff.is_empty() {
        return xff;
    }
    values("forwarded")
        .iter()
        .flat_map(|element| element.split(';'))
        .filter_map(|pair| {
            let (key, value) = pair.trim().split_once('=')?;
            key.eq_ignore_ascii_case("for").then(|| parse_node(value))?
        })
        .collect()
}

/// `1.2.3.4`, `1.2.3.4:567`, `"[2001:db8::1]:80"`, `2001:db8::1`.
fn parse_node(text: &str) -> Option<IpAddr> {
    let text = text.trim().trim_matches('"');
    if let Ok(ip) = text.parse::<IpAddr>() {
        return Some(ip);
    }
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Some(addr.ip());
    }
    text.strip_prefix('[')
        .and_then(|rest| rest.split_once(']'))
        .and_then(|(ip, _)| ip.parse().ok())
}

impl FromRequestParts<AppState> for ClientAddr {
    type Rejection = AppError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, AppError> {
        let peer = parts
            .extensions
            .get::<ConnectInfo<SocketAddr>>()
            .map(|ConnectInfo(addr)| addr.ip())
            .ok_or_else(|| anyhow::anyhow!("the server runs without connect info"))?;
        Ok(Self::resolve(
            peer,
            &parts.headers,
            &state.settings.trusted_proxies,
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(*name, value.parse().unwrap());
        }
        map
    }

    #[test]
    fn forwarding_headers_count_only_from_trusted_proxies() {
        let proxy: IpAddr = "10.0.0.5".parse().unwrap();
        let trusted: Vec<IpNet> = vec!["10.0.0.0/24".parse().unwrap()];
        let spoofed = headers(&[("x-forwarded-for", "1.1.1.1, 203.0.113.9")]);

        let direct = ClientAddr::resolve("198.51.100.7".parse().unwrap(), &spoofed, &trusted);
        assert_eq!(
            direct.ip.to_string(),
            "198.51.100.7",
            "not a proxy: ignored"
        );
        assert!(!direct.via_proxy);

        let relayed = ClientAddr::resolve(proxy, &spoofed, &trusted);
        assert_eq!(
            relayed.ip.to_string(),
            "203.0.113.9",
            "right-most untrusted"
        );
        assert!(relayed.via_proxy);

        let chain = headers(&[("x-forwarded-for", "203.0.113.9, 10.0.0.7")]);
        assert_eq!(
            ClientAddr::resolve(proxy, &chain, &trusted).ip.to_string(),
            "203.0.113.9"
        );

        let rfc = headers(&[("forwarded", r#"for="[2001:db8::1]:4711";proto=https"#)]);
        assert_eq!(
            ClientAddr::resolve(proxy, &rfc, &trusted).ip.to_string(),
            "2001:db8::1"
        );

        let local_proxy = ClientAddr::resolve(
            "127.0.0.1".parse().unwrap(),
            &headers(&[("x-forwarded-for", "127.0.0.1")]),
            &["127.0.0.1/32".parse().unwrap()],
        );
        assert!(
            !local_proxy.is_direct_loopback(),
            "relayed, even from loopback"
        );
        assert!(
            ClientAddr::resolve("127.0.0.1".parse().unwrap(), &HeaderMap::new(), &[])
                .is_direct_loopback()
        );
    }
}
