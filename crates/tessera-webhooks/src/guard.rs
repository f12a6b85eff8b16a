//! The server-side request forgery guard at connection time.
//!
//! Registration checks a target URL once (`tessera-core`), but a name may resolve differently
//! when the worker calls it. So the worker resolves names itself, through [`GuardedResolver`],
//! which drops every refused address ([`refused_address`]) before the HTTP client sees the
//! list: the address judged is the address connected to. A URL that names an IP address is
//! not resolved, so [`check_literal_host`] judges it before the request is made.

use std::net::{IpAddr, SocketAddr};

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use tessera_model::refused_address;

/// Why a target was refused, for the delivery's `last_error`.
pub fn refusal(ip: IpAddr) -> Option<String> {
    refused_address(ip).map(|range| format!("refused target: {ip} is a {range} address"))
}

/// A URL whose host is an IP address, judged; a name passes here (the resolver judges it).
pub fn check_literal_host(url: &url::Url) -> Result<(), String> {
    let ip = match url.host() {
        Some(url::Host::Ipv4(ip)) => IpAddr::V4(ip),
        Some(url::Host::Ipv6(ip)) => IpAddr::V6(ip),
        _ => return Ok(()),
    };
    refusal(ip).map_or(Ok(()), Err)
}

/// Resolves with the system resolver and keeps only addresses that are not refused.
#[derive(Debug, Default, Clone, Copy)]
pub struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        Box::pin(async move {
            let host = name.as_str().to_owned();
            let found: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let mut refused = None;
            let allowed: Vec<SocketAddr> = found
                .into_iter()
                .filter(|socket| match refusal(socket.ip()) {
                    Some(reason) => {
                        refused = Some(reason);
                        false
                    }
                    None => true,
                })
                .collect();
            if allowed.is_empty() {
                let reason = refused.unwrap_or_else(|| format!("{host} does not resolve"));
                return Err(reason.into());
            }
            let addrs: Addrs = Box::new(allowed.into_iter());
            Ok(addrs)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_hosts_are_judged_and_names_are_left_to_the_resolver() {
        let judged = |text: &str| check_literal_host(&url::Url::parse(text).unwrap());
        assert!(
            judged("http://127.0.0.1:8080/x")
                .unwrap_err()
                .contains("loopback")
        );
        assert!(judged("http://[::1]/x").is_err());
        assert!(
            judged("https://169.254.169.254/")
                .unwrap_err()
                .contains("metadata")
        );
        assert!(judged("https://93.184.215.14/").is_ok());
        assert!(
            judged("https://localhost/").is_ok(),
            "a name: the resolver's job"
        );
    }

    #[tokio::test]
    async fn the_resolver_drops_refused_addresses() {
        let resolved = GuardedResolver.resolve("localhost".parse().unwrap()).await;
        let error = resolved.err().expect("localhost is loopback only");
        assert!(error.to_string().contains("refused target"), "{error}");
    }
}
