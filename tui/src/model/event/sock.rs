//! A connect or an accept: the socket's ends and the call's result.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use super::addrs::{SockAddrs, endpoint};
use crate::output::json::fields::result;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SockInfo {
    pub addrs: SockAddrs,
    /// connect: 0 or `-errno`; accept: the new fd or `-errno`.
    pub ret: i32,
    pub fd: i32,
    pub latency_ns: u64,
}

impl SockInfo {
    /// A connect: where it went.
    pub fn connect_summary(&self) -> String {
        let remote = self.addrs.remote.map(endpoint);
        remote
            .or_else(|| self.addrs.local.map(endpoint))
            .unwrap_or_default()
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

    pub fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        self.addrs.json_fields(map)?;
        map.serialize_entry("fd", &self.fd)?;
        result(map, self.ret)?;
        map.serialize_entry("latency_ns", &self.latency_ns)
    }
}
