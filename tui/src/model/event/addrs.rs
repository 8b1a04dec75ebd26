//! The two ends of a socket, shared by connects, accepts and TCP closes.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

/// Both ends of an IP socket; `None` where the kernel could not tell, or the socket is not IP.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockAddrs {
    pub local: Option<(IpAddr, u16)>,
    pub remote: Option<(IpAddr, u16)>,
}

impl SockAddrs {
    /// `inet` or `inet6`, from whichever end is known.
    pub fn family(&self) -> &'static str {
        match self.local.or(self.remote) {
            Some((IpAddr::V6(_), _)) => "inet6",
            _ => "inet",
        }
    }

    /// The known ends, local first.
    pub fn ends(&self) -> impl Iterator<Item = (IpAddr, u16)> {
        self.local.into_iter().chain(self.remote)
    }
}

/// `1.2.3.4:80` or `[::1]:80`.
pub fn endpoint((ip, port): (IpAddr, u16)) -> String {
    match ip {
        IpAddr::V6(v6) => format!("[{v6}]:{port}"),
        IpAddr::V4(v4) => format!("{v4}:{port}"),
    }
}
