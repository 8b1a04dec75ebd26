//! What a socket is, beyond its IP ends: its family, transport and type, and a unix socket's
//! address. Connects are reported on sockets of every family, not only TCP ones.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

const AF_UNSPEC: u16 = 0;
const AF_UNIX: u16 = ringside_common::AF_UNIX;
const AF_INET: u16 = ringside_common::AF_INET;
const AF_INET6: u16 = ringside_common::AF_INET6;

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Socket {
    /// `AF_*` as the kernel numbers it; 0 (`AF_UNSPEC`) when unknown.
    pub family: u16,
    /// IP sockets: `IPPROTO_*`; 0 when unknown.
    pub proto: u16,
    /// `SOCK_*`; 0 when unknown.
    pub sock_type: u16,
    /// A unix socket's address. Boxed: events stay within their size (unix connects are not
    /// the hot path).
    pub unix_addr: Option<Box<UnixAddr>>,
}

/// A unix socket's address as the caller passed it: `sun_path`, as long as its `addrlen` said;
/// an abstract name starts with a NUL.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct UnixAddr {
    pub addr: Box<[u8]>,
    /// A relative path made absolute, resolved in the kernel at the connect.
    pub abs_path: Option<super::AbsPath>,
}

impl From<&[u8]> for Box<UnixAddr> {
    fn from(addr: &[u8]) -> Self {
        Box::new(UnixAddr {
            addr: addr.into(),
            abs_path: None,
        })
    }
}

impl Socket {
    /// A TCP socket over IPv4 or IPv6.
    #[cfg(test)]
    pub fn tcp(v6: bool) -> Self {
        Self {
            family: if v6 { AF_INET6 } else { AF_INET },
            proto: 6,
            sock_type: 1,
            unix_addr: None,
        }
    }

    pub fn is_ip(&self) -> bool {
        self.family == AF_INET || self.family == AF_INET6
    }

    /// `inet`, `inet6`, `unix`, ... or `af<N>` for a family without a name here.
    pub fn family_name(&self) -> Cow<'static, str> {
        let name = match self.family {
            AF_UNSPEC => "unspec",
            AF_UNIX => "unix",
            AF_INET => "inet",
            AF_INET6 => "inet6",
            16 => "netlink",
            17 => "packet",
            31 => "bluetooth",
            38 => "alg",
            40 => "vsock",
            44 => "xdp",
            other => return Cow::Owned(format!("af{other}")),
        };
        Cow::Borrowed(name)
    }

    /// An IP socket's transport: `tcp`, `udp`, ... or its number; `None` when unknown or not IP.
    pub fn proto_name(&self) -> Option<Cow<'static, str>> {
        if !self.is_ip() || self.proto == 0 {
            return None;
        }
        let name = match self.proto {
            1 => "icmp",
            6 => "tcp",
            17 => "udp",
            58 => "icmpv6",
            132 => "sctp",
            136 => "udplite",
            255 => "raw",
            262 => "mptcp",
            other => return Some(Cow::Owned(other.to_string())),
        };
        Some(Cow::Borrowed(name))
    }

    /// `stream`, `dgram`, `seqpacket`, `raw`; `None` when unknown.
    pub fn type_name(&self) -> Option<&'static str> {
        match self.sock_type {
            1 => Some("stream"),
            2 => Some("dgram"),
            3 => Some("raw"),
            5 => Some("seqpacket"),
            _ => None,
        }
    }

    /// A unix socket's address as people write it: the path up to its NUL, or an abstract
    /// name as `@name`.
    pub fn unix_path(&self) -> Option<Cow<'_, [u8]>> {
        let addr = &self.unix_addr.as_deref()?.addr;
        Some(match addr.split_first() {
            Some((0, name)) => {
                let mut text = Vec::with_capacity(addr.len());
                text.push(b'@');
                text.extend_from_slice(name);
                Cow::Owned(text)
            }
            _ => {
                let end = addr.iter().position(|&b| b == 0).unwrap_or(addr.len());
                Cow::Borrowed(&addr[..end])
            }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unix(addr: &[u8]) -> Socket {
        Socket {
            family: AF_UNIX,
            proto: 0,
            sock_type: 1,
            unix_addr: Some(addr.into()),
        }
    }

    #[test]
    fn a_path_ends_at_its_nul_and_an_abstract_name_is_written_with_an_at() {
        let path = unix(b"/run/nscd/socket\0\0junk");
        assert_eq!(path.unix_path().as_deref(), Some(&b"/run/nscd/socket"[..]));
        let abstract_name = unix(b"\0dbus-x\0y");
        assert_eq!(
            abstract_name.unix_path().as_deref(),
            Some(&b"@dbus-x\0y"[..])
        );
    }

    #[test]
    fn transports_are_named_only_for_ip_sockets() {
        let udp = Socket {
            family: AF_INET6,
            proto: 17,
            sock_type: 2,
            unix_addr: None,
        };
        assert_eq!(udp.proto_name().as_deref(), Some("udp"));
        assert_eq!(udp.family_name(), "inet6");
        assert_eq!(unix(b"/x").proto_name(), None);
        let odd = Socket {
            family: 99,
            proto: 17,
            ..Socket::default()
        };
        assert_eq!(odd.family_name(), "af99");
        assert_eq!(odd.proto_name(), None);
    }
}
