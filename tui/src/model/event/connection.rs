//! A connect (on a socket of any family) or an accept (TCP): the socket's ends and the call's
//! result.

use serde::{Deserialize, Serialize};

use super::addrs::{SockAddrs, endpoint};
use super::socket::Socket;
use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SockInfo {
    pub addrs: SockAddrs,
    /// connect: 0 or `-errno`; accept: the new fd or `-errno`.
    pub ret: i32,
    pub fd: i32,
    pub latency_ns: u64,
    /// The socket's family, transport and type; a unix socket's address.
    pub socket: Socket,
}

impl SockInfo {
    /// A connect: where it went; a transport other than TCP, or a family other than IP,
    /// is named first (`udp 10.0.0.2:53`, `unix /run/nscd/socket`).
    pub fn connect_summary(&self) -> String {
        let remote = self.addrs.remote.map(endpoint);
        let place = remote
            .or_else(|| self.addrs.local.map(endpoint))
            .unwrap_or_default();
        if let Some(path) = self.socket.unix_path() {
            return format!("unix {}", printable(&path));
        }
        let prefix = match self.socket.proto_name() {
            Some(proto) if proto == "tcp" => return place,
            Some(proto) => proto,
            None if self.socket.is_ip() => return place,
            None => self.socket.family_name(),
        };
        if place.is_empty() {
            prefix.into_owned()
        } else {
            format!("{prefix} {place}")
        }
    }

    /// An accept: who came in, and where.
    pub fn accept_summary(&self) -> String {
        match (
            self.addrs.local.map(endpoint),
            self.addrs.remote.map(endpoint),
        ) {
            (Some(local), Some(remote)) => format!("{remote} -> {local}"),
            (local, remote) => remote.or(local).unwrap_or_default(),
        }
    }

    pub fn ret(&self) -> Option<i32> {
        Some(self.ret)
    }

    pub fn addrs(&self) -> Option<&SockAddrs> {
        Some(&self.addrs)
    }

    /// What `unix` filters look at.
    pub fn unix_path(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        self.socket.unix_path()
    }
}
