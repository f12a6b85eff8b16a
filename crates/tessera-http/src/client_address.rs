//! The client's network address, as the sign-in lockout counts it.
//!
//! The hosted sign-in page counts failed sign-ins per network address as well as per account
//! (`tessera_core`'s lockout: an IPv4 address, or an IPv6 /64), so that one machine trying
//! many accounts is stopped. That count is only as good as the address it is keyed by. Behind
//! a reverse proxy or load balancer, the TCP peer of every request is the proxy: every user
//! would share one counter, and one attacker's failures would lock everybody out.
//!
//! So a node can be told which peers are its proxies (`http.trusted_proxies`, CIDR ranges)
//! and then takes the client's address from what they forwarded. The rule, and what it
//! refuses:
//!
//! 1. **A header from an untrusted peer is ignored.** Anyone can send `X-Forwarded-For`; only
//!    a trusted proxy's word counts. With no trusted ranges (the default) or a peer outside
//!    them, the address is the peer's.
//! 2. **The chain is read from the right.** Each proxy appends the address it received the
//!    request from, so the rightmost entries were written by proxies and everything left of
//!    the first untrusted entry was written by the client, who may have written anything.
//!    The walk skips entries that are themselves trusted (the proxies between the first one
//!    and this node) and stops at the first untrusted one: that is the client. Taking the
//!    leftmost entry instead, as much software does, would let an attacker choose its
//!    address on every try — escaping its own address limit by rotating forged addresses,
//!    or writing a victim's address to lock the victim out.
//! 3. **If every entry is trusted**, the request came from inside (a trusted host that went
//!    through the proxies), and the address is the leftmost entry, the first hop.
//! 4. **An entry that is not an address stops the walk** (`unknown`, an obfuscated
//!    `_hidden`, a host name, a range, text that is not UTF-8): the address is then the last
//!    trusted hop read. Nothing left of an unreadable entry can be attributed to anyone, and
//!    guessing would be trusting text nobody vouched for; counting the failure under the
//!    proxy errs towards a coarser counter, never towards an attacker's choice. Empty list
//!    elements (`a,,b`) are skipped, as RFC 9110 §5.6.1.2 requires of a recipient.
//! 5. **`X-Forwarded-For` wins over `Forwarded`.** Every instance of the header is read, in
//!    order, as one comma-separated list. RFC 7239's `Forwarded` (its `for=` parameters) is
//!    read only when no `X-Forwarded-For` is present. A proxy that writes only `Forwarded`
//!    must therefore remove an incoming `X-Forwarded-For`, or the client's own would be read.
//! 6. **IPv4-mapped IPv6 addresses are IPv4.** A dual-stack listener reports an IPv4 peer as
//!    `::ffff:192.0.2.7`; peers, entries and trusted ranges (`::ffff:10.0.0.0/104`) are all
//!    compared as IPv4, so `10.0.0.0/8` trusts such a peer.
//!
//! A hop may carry a port (`192.0.2.7:4711`, `[2001:db8::1]:4711`), as some proxies write it;
//! the port is dropped. Only the address is taken from these headers: the scheme and host
//! Tessera answers under come from `public_url`, never from a request.
//!
//! The trusted ranges must cover the proxies and nothing else: a client inside a trusted range
//! can choose the address it is counted under. The server refuses `0.0.0.0/0` and `::/0` for
//! that reason.
//!
//! Events' [`tessera_model::RequestOrigin`] still records the TCP peer (`docs/events.md`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};
use std::sync::Arc;

use axum::extract::ConnectInfo;
use axum::http::{Extensions, HeaderMap, HeaderName, header};
use ipnet::{IpNet, Ipv4Net};

/// `X-Forwarded-For`: not in the `http` crate's list, being no standard.
const X_FORWARDED_FOR: HeaderName = HeaderName::from_static("x-forwarded-for");

/// Resolves a request's client address from its TCP peer and, when the peer is a trusted
/// proxy, the addresses the proxies forwarded (see the module docs for the rule).
#[derive(Clone, Debug, Default)]
pub(crate) struct ClientAddress {
    /// The trusted proxies' ranges, network addresses only, IPv4-mapped ranges as IPv4.
    /// Behind an `Arc`: the state holding it is cloned for every request.
    trusted: Arc<[IpNet]>,
}

impl ClientAddress {
    /// A resolver that trusts the proxies in `ranges`; with none, every request's address is
    /// its TCP peer.
    pub(crate) fn new(ranges: Vec<IpNet>) -> Self {
        Self {
            trusted: ranges.into_iter().map(canonical_range).collect(),
        }
    }

    /// The client's address: the peer's, unless the peer is a trusted proxy; then the
    /// rightmost untrusted hop of `X-Forwarded-For` (or `Forwarded`). `None` only without a
    /// peer: a header alone is never believed.
    pub(crate) fn resolve(&self, peer: Option<IpAddr>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.to_canonical();
        if !self.is_trusted(peer) {
            return Some(peer);
        }
        let mut client = peer;
        for hop in forwarded_hops(headers).into_iter().rev() {
            // Rule 4: an unreadable hop ends the walk at the last trusted one.
            let Some(hop) = hop else { break };
            client = hop.to_canonical();
            if !self.is_trusted(client) {
                break;
            }
        }
        Some(client)
    }

    fn is_trusted(&self, address: IpAddr) -> bool {
        self.trusted.iter().any(|range| range.contains(&address))
    }
}

/// The TCP peer's address, as `axum::serve` records it in the request's extensions (absent
/// when a router is called without a connection, as in tests).
pub(crate) fn peer(extensions: &Extensions) -> Option<IpAddr> {
    extensions
        .get::<ConnectInfo<SocketAddr>>()
        .map(|peer| peer.0.ip())
}

/// A range as addresses are compared against it: its network address (no host bits), and an
/// IPv4-mapped IPv6 range (`::ffff:10.0.0.0/104`) as the IPv4 range it maps. The
/// configuration judges a range by this form (`::ffff:0.0.0.0/96` is every IPv4 address).
pub fn canonical_range(range: IpNet) -> IpNet {
    let range = range.trunc();
    if let IpNet::V6(v6) = range
        && let Some(v4) = v6.addr().to_ipv4_mapped()
        && v6.prefix_len() >= 96
        && let Ok(mapped) = Ipv4Net::new(v4, v6.prefix_len() - 96)
    {
        return IpNet::V4(mapped);
    }
    range
}

/// The forwarded chain, leftmost (farthest from this node) first; `None` for a hop that is
/// not an address. From `X-Forwarded-For` if the request has one, else from `Forwarded`.
fn forwarded_hops(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let mut hops = Vec::new();
    if headers.contains_key(X_FORWARDED_FOR) {
        for value in headers.get_all(X_FORWARDED_FOR) {
            let entries = value.as_bytes().split(|byte| *byte == b',').map(trim);
            hops.extend(entries.filter(|e| !e.is_empty()).map(node));
        }
    } else {
        for value in headers.get_all(header::FORWARDED) {
            let elements = split_outside_quotes(value.as_bytes(), b',');
            let elements = elements.into_iter().map(trim);
            hops.extend(elements.filter(|e| !e.is_empty()).map(forwarded_for));
        }
    }
    hops
}

/// The node of one RFC 7239 forwarded-element's `for` parameter (§5.2), e.g. of
/// `for=192.0.2.60;proto=http;by=203.0.113.43` or `for="[2001:db8:cafe::17]:4711"`. `None`
/// when the element has no `for`, has it twice (§4: a parameter must not occur more than
/// once), or is malformed.
fn forwarded_for(element: &[u8]) -> Option<IpAddr> {
    let mut found = None;
    for pair in split_outside_quotes(element, b';') {
        let pair = trim(pair);
        if pair.is_empty() {
            continue;
        }
        let equals = pair.iter().position(|byte| *byte == b'=')?;
        if trim(&pair[..equals]).eq_ignore_ascii_case(b"for") {
            if found.is_some() {
                return None;
            }
            found = Some(trim(&pair[equals + 1..]));
        }
    }
    node(&unquote(found?)?)
}

/// One hop's address: `192.0.2.7`, `2001:db8::1`, `[2001:db8::1]`, or either with a port
/// (`192.0.2.7:4711`, `[2001:db8::1]:4711`). Anything else is `None`.
fn node(text: &[u8]) -> Option<IpAddr> {
    let text = std::str::from_utf8(trim(text)).ok()?;
    if let Ok(address) = text.parse::<IpAddr>() {
        return Some(address);
    }
    if let Ok(socket) = text.parse::<SocketAddr>() {
        return Some(socket.ip());
    }
    let bracketed = text.strip_prefix('[')?.strip_suffix(']')?;
    bracketed.parse::<Ipv6Addr>().ok().map(IpAddr::V6)
}

/// Splits at `separator` where it is not inside a quoted-string (RFC 9110 §5.6.4), so a
/// quoted value may hold commas and semicolons.
fn split_outside_quotes(text: &[u8], separator: u8) -> Vec<&[u8]> {
    let mut parts = Vec::new();
    let (mut start, mut quoted, mut escaped) = (0, false, false);
    for (i, &byte) in text.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if quoted && byte == b'\\' {
            escaped = true;
        } else if byte == b'"' {
            quoted = !quoted;
        } else if byte == separator && !quoted {
            parts.push(&text[start..i]);
            start = i + 1;
        }
    }
    parts.push(&text[start..]);
    parts
}

/// A token as it is, or a quoted-string's content with its quoted-pairs (`\x`) resolved;
/// `None` for an unterminated quoted-string.
fn unquote(value: &[u8]) -> Option<Vec<u8>> {
    let Some(inner) = value.strip_prefix(b"\"") else {
        return Some(value.to_vec());
    };
    let inner = inner.strip_suffix(b"\"")?;
    let mut out = Vec::with_capacity(inner.len());
    let mut bytes = inner.iter();
    while let Some(&byte) = bytes.next() {
        match byte {
            b'\\' => out.push(*bytes.next()?),
            // An unescaped quote inside means the value was not one quoted-string.
            b'"' => return None,
            _ => out.push(byte),
        }
    }
    Some(out)
}

/// Without the optional whitespace (spaces and tabs) around a list element or parameter.
fn trim(text: &[u8]) -> &[u8] {
    let is_ows = |byte: &u8| *byte == b' ' || *byte == b'\t';
    let start = text.iter().position(|b| !is_ows(b)).unwrap_or(text.len());
    let end = text
        .iter()
        .rposition(|b| !is_ows(b))
        .map_or(start, |i| i + 1);
    &text[start..end]
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::http::HeaderValue;
    use proptest::prelude::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    fn resolver(ranges: &[&str]) -> ClientAddress {
        ClientAddress::new(ranges.iter().map(|r| r.parse().unwrap()).collect())
    }

    /// The proxies of most tests: a private IPv4 and IPv6 network, and this machine.
    fn behind_proxies() -> ClientAddress {
        resolver(&["10.0.0.0/8", "fd00::/8", "127.0.0.1/32"])
    }

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        headers
    }

    fn xff(value: &str) -> HeaderMap {
        headers(&[("x-forwarded-for", value)])
    }

    fn forwarded(value: &str) -> HeaderMap {
        headers(&[("forwarded", value)])
    }

    #[test]
    fn without_trusted_proxies_the_address_is_the_peer() {
        let resolver = ClientAddress::default();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(resolver.resolve(peer, &xff("203.0.113.7")), peer);
        assert_eq!(resolver.resolve(peer, &HeaderMap::new()), peer);
        assert_eq!(resolver.resolve(peer, &forwarded("for=203.0.113.7")), peer);
    }

    #[test]
    fn a_forged_header_from_an_untrusted_peer_is_ignored() {
        let peer = Some(ip("198.51.100.9"));
        let resolver = behind_proxies();
        assert_eq!(resolver.resolve(peer, &xff("203.0.113.7")), peer);
        assert_eq!(resolver.resolve(peer, &xff("10.0.0.5")), peer);
        assert_eq!(resolver.resolve(peer, &forwarded("for=203.0.113.7")), peer);
    }

    #[test]
    fn without_a_peer_there_is_no_address_whatever_the_headers_say() {
        assert_eq!(behind_proxies().resolve(None, &xff("203.0.113.7")), None);
    }

    #[test]
    fn a_trusted_peer_forwards_the_client_address() {
        let resolver = behind_proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            resolver.resolve(peer, &xff("203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
        // Without a forwarded address, the trusted peer is all there is.
        assert_eq!(resolver.resolve(peer, &HeaderMap::new()), peer);
        assert_eq!(resolver.resolve(peer, &xff("")), peer);
    }

    #[test]
    fn the_chain_is_walked_from_the_right_past_trusted_hops_only() {
        let resolver = behind_proxies();
        let peer = Some(ip("10.0.0.1"));
        assert_eq!(
            resolver.resolve(peer, &xff("203.0.113.7, 10.0.0.3, 10.0.0.2")),
            Some(ip("203.0.113.7"))
        );
        // What the client wrote left of itself is never reached.
        assert_eq!(
            resolver.resolve(peer, &xff("192.0.2.1, 10.9.9.9, 203.0.113.7, 10.0.0.2")),
            Some(ip("203.0.113.7"))
        );
        // Several header instances are one list, in order.
        let split = headers(&[
            ("x-forwarded-for", "192.0.2.1, 203.0.113.7"),
            ("x-forwarded-for", "10.0.0.3"),
            ("x-forwarded-for", "10.0.0.2"),
        ]);
        assert_eq!(resolver.resolve(peer, &split), Some(ip("203.0.113.7")));
        // Empty list elements are no hops.
        assert_eq!(
            resolver.resolve(peer, &xff("192.0.2.1,,203.0.113.7 ,\t10.0.0.2,")),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn a_chain_of_trusted_hops_only_gives_its_first_hop() {
        let resolver = behind_proxies();
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &xff("10.1.2.3, 127.0.0.1, 10.0.0.2")),
            Some(ip("10.1.2.3"))
        );
    }

    #[test]
    fn an_unreadable_hop_stops_the_walk_at_the_last_trusted_one() {
        let resolver = behind_proxies();
        let peer = Some(ip("10.0.0.1"));
        for (chain, expected) in [
            ("203.0.113.7, garbage, 10.0.0.2", "10.0.0.2"),
            ("203.0.113.7, unknown", "10.0.0.1"),
            ("203.0.113.7, 10.0.0.3, _hidden, 10.0.0.2", "10.0.0.2"),
            ("203.0.113.7, host.example, 10.0.0.2", "10.0.0.2"),
            ("203.0.113.7, fe80::1%eth0", "10.0.0.1"),
            ("203.0.113.7, 999.1.1.1", "10.0.0.1"),
            ("203.0.113.7, 10.0.0.0/8", "10.0.0.1"),
            ("203.0.113.7, \"10.0.0.2\"", "10.0.0.1"),
            // Left of the first untrusted hop, garbage does not matter.
            ("garbage, 203.0.113.7, 10.0.0.2", "203.0.113.7"),
        ] {
            assert_eq!(
                resolver.resolve(peer, &xff(chain)),
                Some(ip(expected)),
                "{chain}"
            );
        }
        let mut not_utf8 = xff("203.0.113.7");
        not_utf8.append(
            X_FORWARDED_FOR,
            HeaderValue::from_bytes(b"\xff\xfe").unwrap(),
        );
        assert_eq!(resolver.resolve(peer, &not_utf8), peer);
    }

    #[test]
    fn hops_may_carry_a_port() {
        let resolver = behind_proxies();
        let peer = Some(ip("10.0.0.1"));
        for (chain, expected) in [
            ("203.0.113.7:4711", "203.0.113.7"),
            ("[2001:db8::1]:4711", "2001:db8::1"),
            ("[2001:db8::1]", "2001:db8::1"),
            ("203.0.113.7, 10.0.0.2:80", "203.0.113.7"),
        ] {
            assert_eq!(
                resolver.resolve(peer, &xff(chain)),
                Some(ip(expected)),
                "{chain}"
            );
        }
    }

    #[test]
    fn ipv6_peers_and_hops_are_resolved_like_ipv4_ones() {
        let resolver = behind_proxies();
        assert_eq!(
            resolver.resolve(Some(ip("fd00::1")), &xff("2001:db8::7, fd12::3")),
            Some(ip("2001:db8::7"))
        );
        assert_eq!(
            resolver.resolve(Some(ip("2001:db8::9")), &xff("203.0.113.7")),
            Some(ip("2001:db8::9"))
        );
    }

    #[test]
    fn ipv4_mapped_addresses_and_ranges_are_ipv4() {
        let resolver = behind_proxies();
        // A dual-stack listener's IPv4 peer is trusted by its IPv4 range ...
        assert_eq!(
            resolver.resolve(Some(ip("::ffff:10.0.0.1")), &xff("::ffff:203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
        // ... an untrusted one is still the answer, as IPv4 ...
        assert_eq!(
            resolver.resolve(Some(ip("::ffff:198.51.100.9")), &xff("203.0.113.7")),
            Some(ip("198.51.100.9"))
        );
        // ... and a mapped hop is trusted by an IPv4 range too.
        assert_eq!(
            resolver.resolve(Some(ip("10.0.0.1")), &xff("203.0.113.7, ::ffff:10.0.0.2")),
            Some(ip("203.0.113.7"))
        );
        let mapped = resolver_with_mapped_range();
        assert_eq!(
            mapped.resolve(Some(ip("10.0.0.1")), &xff("203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
        assert_eq!(
            mapped.resolve(Some(ip("::ffff:10.0.0.1")), &xff("203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
    }

    fn resolver_with_mapped_range() -> ClientAddress {
        resolver(&["::ffff:10.0.0.0/104"])
    }

    #[test]
    fn ranges_are_compared_by_their_network() {
        let resolver = resolver(&["10.1.2.3/8"]);
        assert_eq!(
            resolver.resolve(Some(ip("10.200.0.1")), &xff("203.0.113.7")),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn forwarded_is_read_in_its_rfc_7239_forms() {
        let resolver = behind_proxies();
        let peer = Some(ip("10.0.0.1"));
        for (value, expected) in [
            ("for=203.0.113.7", "203.0.113.7"),
            ("for=192.0.2.60;proto=http;by=203.0.113.43", "192.0.2.60"),
            ("For=\"[2001:db8:cafe::17]:4711\"", "2001:db8:cafe::17"),
            ("for=\"[2001:db8:cafe::17]\"", "2001:db8:cafe::17"),
            ("for=\"192.0.2.60:4711\"", "192.0.2.60"),
            ("for=192.0.2.43, for=198.51.100.17", "198.51.100.17"),
            (
                "for=192.0.2.43, for=198.51.100.17;by=10.0.0.2, for=10.0.0.2",
                "198.51.100.17",
            ),
            (" proto=https ; for = 192.0.2.43 ;; ", "192.0.2.43"),
            ("for=192.0.2.43;x=\"a,b;c\"", "192.0.2.43"),
            ("for=\"192.0.2.\\43\"", "192.0.2.43"),
            ("for=192.0.2.43,,", "192.0.2.43"),
            // Not addresses: the walk stops at the trusted peer.
            ("for=192.0.2.43, for=unknown", "10.0.0.1"),
            ("for=192.0.2.43, for=_hidden", "10.0.0.1"),
            ("for=192.0.2.43, proto=http", "10.0.0.1"),
            (
                "for=192.0.2.43, for=198.51.100.17;for=198.51.100.18",
                "10.0.0.1",
            ),
            ("for=192.0.2.43, for=\"198.51.100.17", "10.0.0.1"),
            ("for=192.0.2.43, for", "10.0.0.1"),
            ("for=192.0.2.43, for=\"1\"2\"", "10.0.0.1"),
        ] {
            assert_eq!(
                resolver.resolve(peer, &forwarded(value)),
                Some(ip(expected)),
                "{value}"
            );
        }
        let split = headers(&[
            ("forwarded", "for=192.0.2.43"),
            ("forwarded", "for=10.0.0.3"),
        ]);
        assert_eq!(resolver.resolve(peer, &split), Some(ip("192.0.2.43")));
    }

    #[test]
    fn x_forwarded_for_wins_over_forwarded() {
        let both = headers(&[
            ("forwarded", "for=192.0.2.43"),
            ("x-forwarded-for", "203.0.113.7"),
        ]);
        assert_eq!(
            behind_proxies().resolve(Some(ip("10.0.0.1")), &both),
            Some(ip("203.0.113.7"))
        );
    }

    #[test]
    fn the_peer_comes_from_the_connection_info() {
        let mut extensions = Extensions::new();
        assert_eq!(peer(&extensions), None);
        extensions.insert(ConnectInfo(SocketAddr::from(([192, 0, 2, 7], 4711))));
        assert_eq!(peer(&extensions), Some(ip("192.0.2.7")));
    }

    /// Through a real connection: `serve` records the peer where [`peer`] reads it, and the
    /// resolver then believes a header only from a trusted one (here, this machine).
    #[tokio::test]
    async fn a_served_request_is_resolved_from_its_real_peer() {
        async fn answer(resolver: ClientAddress, trusted: bool) -> Vec<String> {
            let router = axum::Router::new().route(
                "/",
                axum::routing::get(move |headers: HeaderMap, extensions: Extensions| {
                    let resolver = resolver.clone();
                    async move { format!("{:?}", resolver.resolve(peer(&extensions), &headers)) }
                }),
            );
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let url = format!("http://{}/", listener.local_addr().unwrap());
            let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
            let server = tokio::spawn(crate::serve_router(
                listener,
                router,
                async move {
                    let _ = stopped.await;
                },
                std::time::Duration::from_secs(5),
            ));
            let client = reqwest::Client::new();
            let mut answers = Vec::new();
            for forwarded in [None, Some("192.0.2.1, 203.0.113.7")] {
                let mut request = client.get(&url);
                if let Some(chain) = forwarded {
                    request = request.header("x-forwarded-for", chain);
                }
                answers.push(request.send().await.unwrap().text().await.unwrap());
            }
            stop.send(()).unwrap();
            server.await.unwrap().unwrap();
            assert_eq!(answers[0], "Some(127.0.0.1)", "trusted: {trusted}");
            answers
        }
        let trusted = answer(resolver(&["127.0.0.1/32"]), true).await;
        assert_eq!(trusted[1], "Some(203.0.113.7)");
        let untrusted = answer(ClientAddress::default(), false).await;
        assert_eq!(untrusted[1], "Some(127.0.0.1)");
    }

    /// Header values: any bytes a header value may hold, or lists built from addresses (some
    /// trusted, some mapped, some with ports or quoted) and junk, so that the walk goes deep.
    fn header_value() -> impl Strategy<Value = Vec<u8>> {
        let address = prop_oneof![
            Just("10.0.0.2".to_owned()),
            Just("fd00::5".to_owned()),
            Just("127.0.0.1".to_owned()),
            Just("::ffff:10.0.0.9".to_owned()),
            any::<[u8; 4]>().prop_map(|b| IpAddr::from(b).to_string()),
            any::<[u8; 16]>().prop_map(|b| IpAddr::from(b).to_string()),
            any::<[u8; 4]>().prop_map(|b| format!("{}:{}", IpAddr::from(b), b[0])),
            any::<[u8; 16]>().prop_map(|b| format!("[{}]:80", Ipv6Addr::from(b))),
        ];
        let hop = prop_oneof![
            4 => address.clone(),
            2 => address.clone().prop_map(|a| format!("for={a}")),
            2 => address.prop_map(|a| format!("for=\"{a}\";proto=https")),
            1 => "[ -~]{0,12}",
        ];
        prop_oneof![
            proptest::collection::vec(any::<u8>(), 0..48),
            proptest::collection::vec(hop, 0..6).prop_map(|hops| hops.join(", ").into_bytes()),
        ]
    }

    /// Every address that could be read out of `bytes`: the tokens between separators and
    /// brackets (quoted-pair backslashes removed), without an IPv6 zone or an IPv4 port, as
    /// IPv4 when mapped. An independent, looser reading than the parser's.
    fn addresses_in(bytes: &[u8]) -> Vec<IpAddr> {
        let unescaped: Vec<u8> = bytes.iter().copied().filter(|b| *b != b'\\').collect();
        let text = String::from_utf8_lossy(&unescaped);
        text.split([',', ';', '=', '"', ' ', '\t', '[', ']', '%'])
            .filter_map(|token| {
                token.parse::<IpAddr>().ok().or_else(|| {
                    let (address, _port) = token.rsplit_once(':')?;
                    address.parse::<std::net::Ipv4Addr>().ok().map(IpAddr::V4)
                })
            })
            .map(|address| address.to_canonical())
            .collect()
    }

    proptest! {
        /// Invariants: never panics; the answer is the peer, or an address written in a
        /// header; and a header from an untrusted peer changes nothing.
        #[test]
        fn resolve_answers_the_peer_or_an_address_from_the_headers(
            peer in prop_oneof![
                Just(ip("10.0.0.1")),
                Just(ip("::ffff:127.0.0.1")),
                Just(ip("fd00::1")),
                any::<[u8; 4]>().prop_map(IpAddr::from),
                any::<[u8; 16]>().prop_map(IpAddr::from),
            ],
            values in proptest::collection::vec(
                (prop_oneof![Just("x-forwarded-for"), Just("forwarded")], header_value()),
                0..4,
            ),
        ) {
            let mut headers = HeaderMap::new();
            let mut written = Vec::new();
            for (name, bytes) in &values {
                if let Ok(value) = HeaderValue::from_bytes(bytes) {
                    headers.append(*name, value);
                    written.extend(addresses_in(bytes));
                }
            }
            let resolver = behind_proxies();
            let resolved = resolver.resolve(Some(peer), &headers);
            let peer = peer.to_canonical();
            let resolved = resolved.expect("with a peer there is always an address");
            prop_assert!(
                resolved == peer || written.contains(&resolved),
                "{resolved} is neither the peer nor in {headers:?}"
            );
            if !resolver.is_trusted(peer) {
                prop_assert_eq!(resolved, peer);
            }
            prop_assert_eq!(ClientAddress::default().resolve(Some(peer), &headers), Some(peer));
        }

        /// Against a model: behind a trusted peer, with readable hops (in one
        /// `X-Forwarded-For` line or spread over two), the client is the rightmost hop that is
        /// not a trusted proxy, or the first hop when all are. So nothing a client writes to
        /// the left of the hop the proxies saw it as can become its address.
        #[test]
        fn the_client_is_the_rightmost_hop_that_is_not_a_trusted_proxy(
            hops in proptest::collection::vec(
                prop_oneof![
                    Just(ip("10.0.0.2")),
                    Just(ip("fd00::5")),
                    Just(ip("127.0.0.1")),
                    Just(ip("::ffff:10.0.0.9")),
                    any::<[u8; 4]>().prop_map(IpAddr::from),
                    any::<[u8; 16]>().prop_map(IpAddr::from),
                ],
                1..7,
            ),
            split in any::<proptest::sample::Index>(),
        ) {
            let resolver = behind_proxies();
            let written: Vec<String> = hops.iter().map(ToString::to_string).collect();
            let (first, second) = written.split_at(split.index(written.len() + 1));
            let mut headers = HeaderMap::new();
            for line in [first, second].into_iter().filter(|line| !line.is_empty()) {
                headers.append(X_FORWARDED_FOR, HeaderValue::from_str(&line.join(", ")).unwrap());
            }
            // The proxies of `behind_proxies`, written out apart from the resolver's ranges.
            let is_proxy = |address: &IpAddr| match address {
                IpAddr::V4(v4) => v4.octets()[0] == 10 || v4 == &std::net::Ipv4Addr::LOCALHOST,
                IpAddr::V6(v6) => v6.octets()[0] == 0xfd,
            };
            let canonical: Vec<IpAddr> = hops.iter().map(IpAddr::to_canonical).collect();
            let expected = canonical
                .iter()
                .rev()
                .find(|hop| !is_proxy(hop))
                .unwrap_or(&canonical[0]);
            prop_assert_eq!(
                resolver.resolve(Some(ip("10.0.0.1")), &headers),
                Some(*expected),
                "{:?}",
                headers
            );
        }
    }
}
