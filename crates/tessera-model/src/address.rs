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
/// An IPv6 address that carries an IPv4 address the network will reach (IPv4-mapped
/// `::ffff:0:0/96`, IPv4-compatible `::/96`, NAT64 `64:ff9b::/96` (RFC 6052), 6to4
/// `2002::/16` (RFC 3056)) is judged as that IPv4 address.
pub fn refused_address(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(v4) => refused_v4(v4),
        IpAddr::V6(v6) => match embedded_v4(v6) {
            Some(v4) => refused_v4(v4),
            None => refused_v6(v6),
        },
    }
}

/// The IPv4 address an IPv6 address stands for, in the prefixes that embed one.
fn embedded_v4(ip: Ipv6Addr) -> Option<Ipv4Addr> {
    let s = ip.segments();
    let low = Ipv4Addr::from((u32::from(s[6]) << 16) | u32::from(s[7]));
    match s {
        [0, 0, 0, 0, 0, 0xffff, _, _] => Some(low),
        // `::` and `::1` are IPv6's own unspecified and loopback addresses.
        [0, 0, 0, 0, 0, 0, _, _] if u128::from(ip) > 1 => Some(low),
        [0x64, 0xff9b, 0, 0, 0, 0, _, _] => Some(low),
        [0x2002, high, low16, ..] => {
            Some(Ipv4Addr::from((u32::from(high) << 16) | u32::from(low16)))
        }
        _ => None,
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
    } else if ip.is_multicast() {
        Some("multicast")
    } else if a >= 240 {
        Some("reserved (240.0.0.0/4)")
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
    } else if ip.is_multicast() {
        Some("multicast")
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
            "224.0.0.1",
            "240.0.0.1",
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
            "::10.0.0.1",
            "64:ff9b::169.254.169.254",
            "2002:7f00:1::",
            "2002:a9fe:a9fe::1",
            "ff02::1",
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
        for allowed in [
            "2606:4700::1111",
            "::ffff:8.8.8.8",
            "fec0::1",
            "64:ff9b::8.8.8.8",
            "2002:808:808::1",
        ] {
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
        (0xe000_0000, 4),  // 224/4 multicast
        (0xf000_0000, 4),  // 240/4 reserved, with the broadcast address
    ];
    const REFUSED_V6: &[(u128, u32)] = &[
        (0, 128),            // ::
        (1, 128),            // ::1
        (0xfc00 << 112, 7),  // fc00::/7
        (0xfe80 << 112, 10), // fe80::/10
        (0xff00 << 112, 8),  // ff00::/8 multicast
    ];

    fn in_v4(ip: u32, ranges: &[(u32, u32)]) -> bool {
        ranges
            .iter()
            .any(|&(net, len)| (ip ^ net).checked_shr(32 - len).unwrap_or(0) == 0)
    }

    fn in_v6(ip: u128) -> bool {
        let v4_in = |bits: u128| in_v4(bits as u32, REFUSED_V4);
        // ::ffff:0:0/96, ::/96 (but :: and ::1), 64:ff9b::/96, 2002::/16.
        if ip >> 32 == 0xffff || (ip >> 32 == 0 && ip > 1) || ip >> 32 == 0x0064_ff9b_u128 << 64 {
            return v4_in(ip);
        }
        if ip >> 112 == 0x2002 {
            return v4_in(ip >> 80);
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
        fn every_refused_v6_address_is_in_a_refused_range(bits in any::<u128>(), mapped in any::<u32>(), pick in 0u8..8) {
            let bits = match pick {
                0 => bits,
                1 => (0xffff_u128 << 32) | u128::from(mapped),
                2 => (0xfc00_u128 << 112) | (bits >> 7),
                3 => (0xfe80_u128 << 112) | (bits >> 10),
                4 => u128::from(mapped),
                5 => (0x0064_ff9b_u128 << 96) | u128::from(mapped),
                6 => (0x2002_u128 << 112) | (u128::from(mapped) << 80) | (bits >> 48),
                _ => (0xff00_u128 << 112) | (bits >> 8),
            };
            let refused = refused_address(IpAddr::V6(Ipv6Addr::from(bits))).is_some();
            prop_assert_eq!(refused, in_v6(bits));
        }

    }
}
