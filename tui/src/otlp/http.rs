//! OTLP over HTTP with protobuf bodies (`POST …/v1/logs`): one request, and what its answer
//! means for the batch (sent, worth retrying, or refused for good), as the OTLP specification
//! says.

use std::io::Write as _;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::logs::v1::ExportLogsServiceResponse;
use prost::Message as _;

use super::config::OtlpConfig;
use super::transport::Outcome;

/// The most of an answer's body read.
const MAX_ANSWER: u64 = 4 << 20;

pub struct HttpTransport {
    agent: ureq::Agent,
    url: String,
    headers: Vec<(String, String)>,
    gzip: bool,
}

impl HttpTransport {
    pub fn new(config: &OtlpConfig) -> Result<HttpTransport, String> {
        let mut builder = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(config.timeout)
            .user_agent(format!("ringside/{}", env!("CARGO_PKG_VERSION")));
        if config.url.starts_with("https://") {
            let tls = ureq::tls::TlsConfig::builder()
                .root_certs(roots(config.certificate.as_deref())?)
                .build();
            builder = builder.tls_config(tls);
        }
        Ok(HttpTransport {
            agent: builder.build().into(),
            url: config.url.clone(),
            headers: config.headers.clone(),
            gzip: config.gzip,
        })
    }

    /// Posts one encoded `ExportLogsServiceRequest`.
    pub fn send(&self, request: &[u8]) -> Outcome {
        let body = if self.gzip {
            match gzip(request) {
                Ok(body) => body,
                Err(error) => return Outcome::Refused(format!("compressing the batch: {error}")),
            }
        } else {
            request.to_vec()
        };
        let mut post = self
            .agent
            .post(&self.url)
            .header("Content-Type", "application/x-protobuf");
        if self.gzip {
            post = post.header("Content-Encoding", "gzip");
        }
        for (name, value) in &self.headers {
            post = post.header(name.as_str(), value.as_str());
        }
        let mut answer = match post.send(&body[..]) {
            Ok(answer) => answer,
            // Refused, reset, timed out, a name that does not resolve yet: the collector may
            // come; the batch waits.
            Err(error) => {
                return Outcome::Retry {
                    after: None,
                    why: error.to_string(),
                };
            }
        };
        let status = answer.status().as_u16();
        let retry_after = answer
            .headers()
            .get("retry-after")
            .and_then(|value| value.to_str().ok())
            .and_then(|seconds| seconds.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = answer
            .body_mut()
            .with_config()
            .limit(MAX_ANSWER)
            .read_to_vec()
            .unwrap_or_default();
        match status {
            200..=299 => {
                let rejected = ExportLogsServiceResponse::decode(&body[..])
                    .ok()
                    .and_then(|response| response.partial_success)
                    .map_or(0, |partial| {
                        partial.rejected_log_records.max(0).unsigned_abs()
                    });
                Outcome::Sent { rejected }
            }
            429 | 502 | 503 | 504 => Outcome::Retry {
                after: retry_after,
                why: format!("the collector answered {status}"),
            },
            _ => Outcome::Refused(format!(
                "the collector answered {status}{}",
                answer_text(&body)
            )),
        }
    }
}

/// The system's roots and the extra CA file; Mozilla's roots when the system has none.
fn roots(extra: Option<&std::path::Path>) -> Result<ureq::tls::RootCerts, String> {
    let mut certs: Vec<ureq::tls::Certificate<'static>> = rustls_native_certs::load_native_certs()
        .certs
        .iter()
        .map(|der| ureq::tls::Certificate::from_der(der.as_ref()).to_owned())
        .collect();
    if let Some(path) = extra {
        let pem = std::fs::read(path).map_err(|error| {
            format!(
                "reading the OTLP certificate {}: {error}; OTEL_EXPORTER_OTLP_CERTIFICATE names a PEM file",
                path.display()
            )
        })?;
        let before = certs.len();
        for item in ureq::tls::parse_pem(&pem).flatten() {
            if let ureq::tls::PemItem::Certificate(cert) = item {
                certs.push(cert.to_owned());
            }
        }
        if certs.len() == before {
            return Err(format!(
                "the OTLP certificate {} holds no PEM certificate",
                path.display()
            ));
        }
    }
    if certs.is_empty() {
        return Ok(ureq::tls::RootCerts::WebPki);
    }
    Ok(ureq::tls::RootCerts::Specific(Arc::new(certs)))
}

fn gzip(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    encoder.write_all(bytes)?;
    encoder.finish()
}

/// What a refusal's body says, when it is short text (a protobuf `Status` is shown as is,
/// made inert).
fn answer_text(body: &[u8]) -> String {
    if body.is_empty() {
        return String::new();
    }
    let text = crate::model::text::printable(&body[..body.len().min(200)]);
    format!(": {}", text.trim())
}
