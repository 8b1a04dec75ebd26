//! OTLP over gRPC (`LogsService/Export`), with the official client stubs: one call, and what
//! its status means for the batch, as the OTLP specification says.

use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceRequest;
use opentelemetry_proto::tonic::collector::logs::v1::logs_service_client::LogsServiceClient;
use prost::Message as _;
use tonic::Code;
use tonic::metadata::{MetadataKey, MetadataMap, MetadataValue};
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint};
use tonic_types::StatusExt as _;

use super::config::OtlpConfig;
use super::transport::Outcome;

pub struct GrpcTransport {
    /// The sender's own: exporting never competes with the pipeline's runtime.
    runtime: tokio::runtime::Runtime,
    client: LogsServiceClient<Channel>,
    metadata: MetadataMap,
    timeout: Option<Duration>,
}

impl GrpcTransport {
    pub fn new(config: &OtlpConfig) -> Result<GrpcTransport, String> {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|error| format!("starting the OTLP/gRPC client: {error}"))?;
        let mut endpoint = Endpoint::from_shared(config.url.clone())
            .map_err(|error| format!("OTLP endpoint `{}`: {error}", config.url))?
            .connect_timeout(Duration::from_secs(5));
        if let Some(timeout) = config.timeout {
            endpoint = endpoint.timeout(timeout);
        }
        if config.url.starts_with("https://") {
            endpoint = endpoint
                .tls_config(tls(config)?)
                .map_err(|error| format!("OTLP TLS: {error}"))?;
        }
        // Lazy: a collector that is down at start is tried at each export, not refused here.
        let channel = {
            let _inside = runtime.enter();
            endpoint.connect_lazy()
        };
        let mut client = LogsServiceClient::new(channel);
        if config.gzip {
            client = client.send_compressed(tonic::codec::CompressionEncoding::Gzip);
        }
        let mut metadata = MetadataMap::new();
        for (name, value) in &config.headers {
            let key = MetadataKey::from_bytes(name.to_ascii_lowercase().as_bytes())
                .map_err(|_| format!("OTLP header `{name}` is not a valid gRPC metadata name"))?;
            let value = MetadataValue::try_from(value.as_str())
                .map_err(|_| format!("OTLP header `{name}`: its value is not valid metadata"))?;
            metadata.insert(key, value);
        }
        Ok(GrpcTransport {
            runtime,
            client,
            metadata,
            timeout: config.timeout,
        })
    }

    /// Sends an encoded request: the official client takes it as its message, so it is
    /// decoded again (the price of the generated stubs; OTLP/HTTP sends the bytes as they are).
    pub fn send(&mut self, request: &[u8]) -> Outcome {
        let request = match ExportLogsServiceRequest::decode(request) {
            Ok(request) => request,
            Err(error) => {
                return Outcome::Refused(format!("a batch that does not decode: {error}"));
            }
        };
        let mut call = tonic::Request::new(request);
        *call.metadata_mut() = self.metadata.clone();
        if let Some(timeout) = self.timeout {
            call.set_timeout(timeout);
        }
        let client = &mut self.client;
        match self.runtime.block_on(client.export(call)) {
            Ok(answer) => Outcome::Sent {
                rejected: answer.into_inner().partial_success.map_or(0, |partial| {
                    partial.rejected_log_records.max(0).unsigned_abs()
                }),
            },
            Err(status) => {
                let after = status
                    .get_details_retry_info()
                    .and_then(|info| info.retry_delay);
                let why = format!(
                    "the collector answered {:?}: {}",
                    status.code(),
                    status.message()
                );
                match status.code() {
                    Code::Cancelled
                    | Code::DeadlineExceeded
                    | Code::Aborted
                    | Code::OutOfRange
                    | Code::Unavailable
                    | Code::DataLoss => Outcome::Retry { after, why },
                    // Only when the collector says when: otherwise it will not recover.
                    Code::ResourceExhausted if after.is_some() => Outcome::Retry { after, why },
                    _ => Outcome::Refused(why),
                }
            }
        }
    }
}

/// The system's roots (Mozilla's when it has none) and the extra CA file.
fn tls(config: &OtlpConfig) -> Result<ClientTlsConfig, String> {
    let mut tls = if rustls_native_certs::load_native_certs().certs.is_empty() {
        ClientTlsConfig::new().with_webpki_roots()
    } else {
        ClientTlsConfig::new().with_native_roots()
    };
    if let Some(path) = &config.certificate {
        let pem = std::fs::read(path).map_err(|error| {
            format!(
                "reading the OTLP certificate {}: {error}; OTEL_EXPORTER_OTLP_CERTIFICATE names a PEM file",
                path.display()
            )
        })?;
        tls = tls.ca_certificate(Certificate::from_pem(pem));
    }
    Ok(tls)
}
