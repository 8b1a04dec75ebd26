//! A DNS lookup: the query a process sent to port 53 and what came back.

use serde::{Deserialize, Serialize};

use super::addrs::{SockAddrs, endpoint};
use crate::model::dns_names::{qtype_name, rcode_name};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Dns {
    /// The client's end (local) and the server's (remote).
    pub addrs: SockAddrs,
    /// The message id that pairs the response with the query.
    pub id: u16,
    /// The name asked for, printable (odd bytes as `\DDD`).
    pub query: String,
    pub qtype: u16,
    pub outcome: DnsOutcome,
    /// Addresses and CNAME targets, in the order the response gave them.
    pub answers: Vec<String>,
    /// The response's answers ran past the bytes copied of it (or did not parse): `answers`
    /// holds the first of them.
    pub answers_cut: bool,
    /// From the query leaving to the response arriving; `None` without a response.
    pub latency_ns: Option<u64>,
}

/// How a query ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum DnsOutcome {
    /// A response came, with this RCODE.
    Answered(u8),
    /// No response within [`crate::dns::pairing::TIMEOUT`].
    Timeout,
    /// Tracing stopped, or too many queries were waiting, before a response or the timeout.
    Unanswered,
}

impl DnsOutcome {
    /// `NOERROR`, `NXDOMAIN`, ... (`RCODE<n>` for others), `timeout` or `unanswered`.
    pub fn name(self) -> String {
        match self {
            DnsOutcome::Answered(rcode) => rcode_name(rcode)
                .map(str::to_owned)
                .unwrap_or_else(|| format!("RCODE{rcode}")),
            DnsOutcome::Timeout => "timeout".to_owned(),
            DnsOutcome::Unanswered => "unanswered".to_owned(),
        }
    }
}

impl Dns {
    /// `NOERROR`, `NXDOMAIN`, ... (`RCODE<n>` for others), `timeout` or `unanswered`.
    pub fn rcode(&self) -> String {
        self.outcome.name()
    }

    /// `A`, `AAAA`, ... or the number.
    pub fn qtype(&self) -> String {
        qtype_name(self.qtype)
            .map(str::to_owned)
            .unwrap_or_else(|| self.qtype.to_string())
    }

    /// Whether the lookup failed: anything but a `NOERROR` response.
    pub fn failed(&self) -> bool {
        self.outcome != DnsOutcome::Answered(0)
    }

    /// `A example.com → 93.184.216.34 (12 ms)`, or the RCODE in place of the answers.
    pub fn summary(&self) -> String {
        let result = if self.failed() || self.answers.is_empty() {
            self.rcode()
        } else {
            format!("→ {}", self.answers.join(", "))
        };
        let query = if self.query.is_empty() {
            "?"
        } else {
            &self.query
        };
        match self.latency_ns {
            Some(ns) => format!("{} {query} {result} ({})", self.qtype(), millis(ns)),
            None => format!("{} {query} {result}", self.qtype()),
        }
    }

    /// The server as `ADDR:PORT`.
    pub fn server(&self) -> Option<String> {
        self.addrs.remote.map(endpoint)
    }

    pub fn addrs(&self) -> Option<&SockAddrs> {
        Some(&self.addrs)
    }
}

/// `12 ms`, `0.4 ms`.
fn millis(ns: u64) -> String {
    let ms = ns as f64 / 1e6;
    if ms >= 10.0 {
        format!("{ms:.0} ms")
    } else {
        format!("{ms:.1} ms")
    }
}
