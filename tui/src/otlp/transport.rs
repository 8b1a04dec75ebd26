//! How a batch travels: OTLP/HTTP with protobuf bodies, or OTLP/gRPC.

use std::time::Duration;

use super::config::{OtlpConfig, Protocol};
use super::grpc::GrpcTransport;
use super::http::HttpTransport;

/// How an export attempt ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Outcome {
    /// Accepted; `rejected` of its records were refused all the same (a partial success).
    Sent { rejected: u64 },
    /// Worth trying again, after `after` when the collector said so.
    Retry {
        after: Option<Duration>,
        why: String,
    },
    /// Refused for good: retrying would not help.
    Refused(String),
}

pub enum Transport {
    Http(HttpTransport),
    Grpc(Box<GrpcTransport>),
}

impl Transport {
    pub fn new(config: &OtlpConfig) -> Result<Transport, String> {
        Ok(match config.protocol {
            Protocol::HttpProtobuf => Transport::Http(HttpTransport::new(config)?),
            Protocol::Grpc => Transport::Grpc(Box::new(GrpcTransport::new(config)?)),
        })
    }

    /// Sends an encoded `ExportLogsServiceRequest`.
    pub fn send(&mut self, request: &[u8]) -> Outcome {
        match self {
            Transport::Http(http) => http.send(request),
            Transport::Grpc(grpc) => grpc.send(request),
        }
    }

    pub fn name(&self) -> &'static str {
        match self {
            Transport::Http(_) => "OTLP/HTTP",
            Transport::Grpc(_) => "OTLP/gRPC",
        }
    }
}
