//! Which network addresses Tessera refuses to call: the server-side request forgery guard
//! shared by the places that take an outbound URL (webhook subscriptions in `tessera-core`,
//! the delivery worker in `tessera-webhooks`).
//!
//! This is only the pure judgement of one address. Resolving a name is I/O and happens in the
//! callers: core when a URL is registered, the worker again at connection time (a name may
//! resolve differently later, DNS rebinding), so that the address judged is the address
//! connected to.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// Why an address may not be an outbound target, or `None` if it may. Pure: no resolution.
/// IPv4 addresses written as IPv6 (`::ffff:a.b.c.d`) are judged as the IPv4 address.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => refused_v4(v4),
            None => refused_v6(v6),
        },
    }
}

fn refused_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, ..] = ip.octets();
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_broadcast() {
        Some("broadcast")
    } else if a == 0 {
        Some("unspecified")
    } else if ip.is_private() {
        Some("private (RFC 1918)")
    } else if ip.is_link_local() {
        Some("link-local (cloud metadata)")
    } else if a == 100 && (b & 0xc0) == 64 {
        Some("shared (CGNAT 100.64.0.0/10)")
    } else {
        None
    }
}

fn refused_v6(ip: Ipv6Addr) -> Option<&'static str> {
    let first = ip.segments()[0];
    if ip.is_loopback() {
        Some("loopback")
    } else if ip.is_unspecified() {
        Some("unspecified")
    } else if (first & 0xfe00) == 0xfc00 {
        Some("private (unique local fc00::/7)")
    } else if (first & 0xffc0) == 0xfe80 {
        Some("link-local")
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn v4(text: &str) -> IpAddr {
        IpAddr::V4(text.parse().unwrap())
    }

    fn v6(text: &str) -> IpAddr {
        IpAddr::V6(text.parse().unwrap())
    }

    #[test]
    fn internal_addresses_are_refused_and_public_ones_are_not() {
        for refused in [
            "127.0.0.1",
            "127.255.0.9",
            "10.1.2.3",
            "172.16.0.1",
            "172.31.255.255",
            "192.168.1.1",
            "169.254.169.254",
            "169.254.0.1",
            "0.0.0.0",
            "255.255.255.255",
            "100.64.0.1",
            "100.127.255.255",
        ] {
            assert!(refused_address(v4(refused)).is_some(), "{refused}");
        }
        for refused in [
            "::1",
            "::",
            "fc00::1",
            "fd12:3456::1",
            "fe80::1",
            "::ffff:127.0.0.1",
        ] {
            assert!(refused_address(v6(refused)).is_some(), "{refused}");
        }
        assert_eq!(
            refused_address(v4("169.254.169.254")),
            Some("link-local (cloud metadata)")
        );
        for allowed in [
            "93.184.215.14",
            "172.32.0.1",
            "100.128.0.1",
            "8.8.8.8",
            "203.0.113.10",
        ] {
            assert_eq!(refused_address(v4(allowed)), None, "{allowed}");
        }
        for allowed in ["2606:4700::1111", "::ffff:8.8.8.8", "fec0::1"] {
            assert_eq!(refused_address(v6(allowed)), None, "{allowed}");
        }
    }

    /// `(network, prefix length)` pairs, written out independently of the function.
    const REFUSED_V4: &[(u32, u32)] = &[
        (0x0000_0000, 8),  // 0.0.0.0/8
        (0x0a00_0000, 8),  // 10/8
        (0x6440_0000, 10), // 100.64/10
        (0x7f00_0000, 8),  // 127/8
        (0xa9fe_0000, 16), // 169.254/16
        (0xac10_0000, 12), // 172.16/12
        (0xc0a8_0000, 16), // 192.168/16
        (0xffff_ffff, 32), // broadcast
    ];
    const REFUSED_V6: &[(u128, u32)] = &[
        (0, 128),            // ::
        (1, 128),            // ::1
        (0xfc00 << 112, 7),  // fc00::/7
        (0xfe80 << 112, 10), // fe80::/10
    ];

    fn in_v4(ip: u32, ranges: &[(u32, u32)]) -> bool {
        ranges
            .iter()
            .any(|&(net, len)| (ip ^ net).checked_shr(32 - len).unwrap_or(0) == 0)
    }

    fn in_v6(ip: u128) -> bool {
        if ip >> 32 == 0xffff {
            return in_v4(ip as u32, REFUSED_V4);
        }
        REFUSED_V6
            .iter()
            .any(|&(net, len)| (ip ^ net).checked_shr(128 - len).unwrap_or(0) == 0)
    }

    proptest! {
        #[test]
        fn every_refused_v4_address_is_in_a_refused_range(bits in any::<u32>()) {
            let refused = refused_address(IpAddr::V4(Ipv4Addr::from(bits))).is_some();
            prop_assert_eq!(refused, in_v4(bits, REFUSED_V4));
        }

        #[test]
        fn every_refused_v6_address_is_in_a_refused_range(bits in any::<u128>(), mapped in any::<u32>(), pick in 0u8..4) {
            let bits = match pick {
                0 => bits,
                1 => (0xffff_u128 << 32) | u128::from(mapped),
                2 => (0xfc00_u128 << 112) | (bits >> 7),
                _ => (0xfe80_u128 << 112) | (bits >> 10),
            };
            let refused = refused_address(IpAddr::V6(Ipv6Addr::from(bits))).is_some();
            prop_assert_eq!(refused, in_v6(bits));
        }

    }
}
