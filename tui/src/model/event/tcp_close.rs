//! The end of a TCP session: its ends, how long it lasted, what it carried.

use serde::{Deserialize, Serialize};

use super::addrs::{SockAddrs, endpoint};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TcpClose {
    pub addrs: SockAddrs,
    pub duration_ns: u64,
    /// `None` when the kernel has no BTF to find the counters.
    pub tx_bytes: Option<u64>,
    pub rx_bytes: Option<u64>,
}

impl TcpClose {
    pub fn summary(&self) -> String {
        let remote = self.addrs.remote.map(endpoint).unwrap_or_default();
        let bytes = match (self.tx_bytes, self.rx_bytes) {
            (Some(tx), Some(rx)) => format!(" tx {tx} rx {rx}"),
            _ => String::new(),
        };
        format!("{remote} {:.1} ms{bytes}", self.duration_ns as f64 / 1e6)
    }

    pub fn addrs(&self) -> Option<&SockAddrs> {
        Some(&self.addrs)
    }
}
