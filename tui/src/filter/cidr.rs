//! `addr=` values: an IP address or a CIDR block, matched against socket addresses.
//!
//! A dual-stack socket reports IPv4 peers as IPv4-mapped IPv6 (`::ffff:10.0.0.1`); both the
//! block and the address are brought to their IPv4 form so `addr=10.0.0.0/8` finds them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct Cidr {
    /// With the host bits cleared.
    network: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `::1`, `fe80::/10`; host bits (`10.0.0.1/8`) are ignored.
    pub(super) fn parse(text: &str) -> Option<Cidr> {
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let address: IpAddr = address.parse().ok()?;
        let max = match address {
            IpAddr::V4(_) => 32,
            IpAddr::V6(_) => 128,
        };
        let prefix = match prefix {
            Some(digits) if !digits.is_empty() && digits.bytes().all(|b| b.is_ascii_digit()) => {
                digits.parse::<u8>().ok().filter(|&p| p <= max)?
            }
            Some(_) => return None,
            None => max,
        };
        Some(Self::new(address, prefix))
    }

    fn new(address: IpAddr, prefix: u8) -> Cidr {
        if let IpAddr::V6(v6) = address
            && prefix >= 96
            && let Some(v4) = v6.to_ipv4_mapped()
        {
            return Self::new(IpAddr::V4(v4), prefix - 96);
        }
        match address {
            IpAddr::V4(v4) => Cidr {
                network: IpAddr::V4(Ipv4Addr::from_bits(v4.to_bits() & mask32(prefix))),
                prefix,
            },
            IpAddr::V6(v6) => Cidr {
                network: IpAddr::V6(Ipv6Addr::from_bits(v6.to_bits() & mask128(prefix))),
                prefix,
            },
        }
    }

    /// The network address (host bits cleared) and the prefix length.
    pub(super) fn network_and_prefix(&self) -> (IpAddr, u8) {
        (self.network, self.prefix)
    }

    pub(super) fn contains(&self, address: IpAddr) -> bool {
        match (self.network, address.to_canonical()) {
            (IpAddr::V4(network), IpAddr::V4(ip)) => {
                ip.to_bits() & mask32(self.prefix) == network.to_bits()
            }
            (IpAddr::V6(network), IpAddr::V6(ip)) => {
                ip.to_bits() & mask128(self.prefix) == network.to_bits()
            }
            _ => false,
        }
    }
}

fn mask32(prefix: u8) -> u32 {
    u32::MAX
        .checked_shl(32 - u32::from(prefix.min(32)))
        .unwrap_or(0)
}

fn mask128(prefix: u8) -> u128 {
    u128::MAX
        .checked_shl(128 - u32::from(prefix.min(128)))
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(text: &str) -> IpAddr {
        text.parse().unwrap()
    }

    #[test]
    fn parses_addresses_and_blocks() {
        for good in [
            "10.0.0.0/8",
            "10.0.0.1",
            "0.0.0.0/0",
            "1.2.3.4/32",
            "::1",
            "::/0",
            "fe80::/10",
            "2001:db8::1/128",
            "::ffff:10.0.0.0/104",
        ] {
            assert!(Cidr::parse(good).is_some(), "{good}");
        }
        for bad in [
            "",
            "/8",
            "10.0.0.0/33",
            "::1/129",
            "10.0.0.0/",
            "10.0.0.0/+8",
            "10.0.0.0/8/8",
            "10.0.0",
            "10.0.0.256",
            "localhost",
            "10.0.0.0/-1",
            "10.0.0.0/999999999999",
        ] {
            assert!(Cidr::parse(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn contains() {
        let cases: &[(&str, &str, bool)] = &[
            ("10.0.0.0/8", "10.1.2.3", true),
            ("10.0.0.0/8", "11.0.0.0", false),
            ("10.9.9.9/8", "10.0.0.1", true),
            ("10.0.0.1", "10.0.0.1", true),
            ("10.0.0.1", "10.0.0.2", false),
            ("0.0.0.0/0", "255.255.255.255", true),
            ("0.0.0.0/0", "::1", false),
            ("::1", "::1", true),
            ("::1", "127.0.0.1", false),
            ("::/0", "2001:db8::1", true),
            ("fe80::/10", "fe80::1", true),
            ("fe80::/10", "fec0::1", false),
            // Mapped peers of dual-stack sockets count as IPv4, in either direction.
            ("10.0.0.0/8", "::ffff:10.0.0.7", true),
            ("::ffff:10.0.0.0/104", "10.0.0.7", true),
            ("::ffff:10.0.0.0/104", "::ffff:10.0.0.7", true),
            ("::ffff:10.0.0.0/104", "11.0.0.7", false),
        ];
        for &(net, address, expected) in cases {
            let cidr = Cidr::parse(net).unwrap();
            assert_eq!(cidr.contains(ip(address)), expected, "{net} ∋ {address}");
        }
    }
}
