//! An OTLP collector of the test's own on 127.0.0.1, over HTTP or gRPC: it decodes every
//! request with the official OpenTelemetry messages (and, for gRPC, the official service
//! stubs), keeps them, and answers as the test scripts it (503s, then 200s, say; over gRPC the
//! codes the OTLP specification pairs with them).
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

use std::collections::VecDeque;
use std::io::Read as _;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt as _, Full};
use hyper::body::{Bytes, Incoming};
use hyper::{Request, Response};
use opentelemetry_proto::tonic::collector::logs::v1::{
    ExportLogsPartialSuccess, ExportLogsServiceRequest, ExportLogsServiceResponse,
};
use opentelemetry_proto::tonic::common::v1::KeyValue;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::logs::v1::LogRecord;
use prost::Message as _;
use tonic_types::StatusExt as _;

/// A scripted answer: 200 with a partial success that rejects every record of the request.
pub const PARTIAL: u16 = 207;

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub gzip: bool,
    pub request: ExportLogsServiceRequest,
    /// What the receiver answered.
    pub status: u16,
}

impl Received {
    pub fn records(&self) -> impl Iterator<Item = &LogRecord> {
        self.request
            .resource_logs
            .iter()
            .flat_map(|resource| &resource.scope_logs)
            .flat_map(|scope| &scope.log_records)
    }

    pub fn resource_attribute(&self, key: &str) -> Option<String> {
        self.request
            .resource_logs
            .first()?
            .resource
            .as_ref()?
            .attributes
            .iter()
            .find(|kv| kv.key == key)
            .and_then(string_of)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }
}

/// A record's attribute as text (strings as they are, numbers printed).
pub fn attribute(record: &LogRecord, key: &str) -> Option<String> {
    record
        .attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(string_of)
}

fn string_of(kv: &KeyValue) -> Option<String> {
    match kv.value.as_ref()?.value.as_ref()? {
        Any::StringValue(text) => Some(text.clone()),
        Any::IntValue(n) => Some(n.to_string()),
        Any::BoolValue(flag) => Some(flag.to_string()),
        other => Some(format!("{other:?}")),
    }
}

pub struct Receiver {
    addr: SocketAddr,
    scheme: &'static str,
    received: Arc<Mutex<Vec<Received>>>,
    totals: Arc<Mutex<Totals>>,
    _runtime: tokio::runtime::Runtime,
}

impl Receiver {
    /// Answers the first requests with `statuses` in turn (and a `Retry-After: 1` with each
    /// 429 or 503), then 200.
    pub fn start(statuses: &[u16]) -> Receiver {
        Self::start_on(0, statuses)
    }

    /// [`Receiver::start`] on a given port of 127.0.0.1 (0: any free one), e.g. the one a
    /// collector that was away comes back on.
    pub fn start_on(port: u16, statuses: &[u16]) -> Receiver {
        Self::serve_http(port, statuses, true, None)
    }

    /// An OTLP/HTTP collector that decodes every request but keeps only its counts
    /// ([`Receiver::totals`]): for storms.
    pub fn start_counting() -> Receiver {
        Self::serve_http(0, &[], false, None)
    }

    /// [`Receiver::start`] over HTTPS, with `acceptor`'s certificate; its endpoint is
    /// `https://127.0.0.1:PORT`.
    pub fn start_tls(acceptor: tokio_rustls::TlsAcceptor) -> Receiver {
        Self::serve_http(0, &[], true, Some(acceptor))
    }

    fn serve_http(
        port: u16,
        statuses: &[u16],
        keep: bool,
        tls: Option<tokio_rustls::TlsAcceptor>,
    ) -> Receiver {
        let (runtime, listener, mut shared) = listen(port, statuses);
        shared.keep = keep;
        let addr = listener.local_addr().expect("its address");
        let (received, totals) = (Arc::clone(&shared.received), Arc::clone(&shared.totals));
        let scheme = if tls.is_some() { "https" } else { "http" };
        runtime.spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let (shared, tls) = (shared.clone(), tls.clone());
                tokio::spawn(async move {
                    match tls {
                        // A handshake that fails (the client refused the certificate) is
                        // simply no request.
                        Some(tls) => {
                            if let Ok(stream) = tls.accept(stream).await {
                                serve_connection(stream, shared).await;
                            }
                        }
                        None => serve_connection(stream, shared).await,
                    }
                });
            }
        });
        Receiver {
            addr,
            scheme,
            received,
            totals,
            _runtime: runtime,
        }
    }

    /// [`Receiver::start`] over gRPC, with the official service stubs: 503 answers
    /// UNAVAILABLE, 429 RESOURCE_EXHAUSTED with a retry delay of a second, 400
    /// INVALID_ARGUMENT.
    pub fn start_grpc(statuses: &[u16]) -> Receiver {
        use opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsServiceServer;
        let (runtime, listener, shared) = listen(0, statuses);
        let addr = listener.local_addr().expect("its address");
        let (received, totals) = (Arc::clone(&shared.received), Arc::clone(&shared.totals));
        runtime.spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(
                    LogsServiceServer::new(shared)
                        .accept_compressed(tonic::codec::CompressionEncoding::Gzip),
                )
                .serve_with_incoming(tonic::transport::server::TcpIncoming::from(listener))
                .await;
        });
        Receiver {
            addr,
            scheme: "http",
            received,
            totals,
            _runtime: runtime,
        }
    }

    /// A collector that takes connections and never answers: every export waits out its
    /// timeout.
    pub fn start_mute() -> Receiver {
        let (runtime, listener, shared) = listen(0, &[]);
        let addr = listener.local_addr().expect("its address");
        runtime.spawn(async move {
            let mut held = Vec::new();
            while let Ok((stream, _)) = listener.accept().await {
                held.push(stream);
            }
        });
        Receiver {
            addr,
            scheme: "http",
            received: shared.received,
            totals: shared.totals,
            _runtime: runtime,
        }
    }

    /// What came so far, kept or not.
    pub fn totals(&self) -> Totals {
        *self.totals.lock().expect("lock")
    }

    /// `http://127.0.0.1:PORT` (`https://` with TLS), the base endpoint for `--otlp`.
    pub fn endpoint(&self) -> String {
        format!("{}://{}", self.scheme, self.addr)
    }

    pub fn received(&self) -> Vec<Received> {
        self.received.lock().expect("lock").clone()
    }

    /// Every record of every request answered 200, in arrival order.
    pub fn accepted_records(&self) -> Vec<LogRecord> {
        self.received()
            .iter()
            .filter(|received| received.status == 200)
            .flat_map(|received| received.records().cloned().collect::<Vec<_>>())
            .collect()
    }

    /// Waits (up to `patience`) for an accepted record that passes `check`.
    pub fn wait_for(
        &self,
        what: &str,
        patience: Duration,
        check: impl Fn(&LogRecord) -> bool,
    ) -> LogRecord {
        let deadline = Instant::now() + patience;
        loop {
            if let Some(found) = self.accepted_records().into_iter().find(|r| check(r)) {
                return found;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} reached the receiver within {} s; {} requests came",
                patience.as_secs(),
                self.received().len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// What the servers share: what came, and what to answer next.
#[derive(Clone)]
struct Shared {
    received: Arc<Mutex<Vec<Received>>>,
    script: Arc<Mutex<VecDeque<u16>>>,
    /// Every request's body bytes and records, kept or not.
    totals: Arc<Mutex<Totals>>,
    /// Whether requests are kept whole ([`Receiver::received`]), or only counted.
    keep: bool,
}

/// What came in all, as it came over the wire.
#[derive(Clone, Copy, Debug, Default)]
pub struct Totals {
    pub requests: u64,
    pub records: u64,
    pub body_bytes: u64,
}

impl Shared {
    fn note(&self, received: Received, body_bytes: usize) {
        {
            let mut totals = self.totals.lock().expect("lock");
            totals.requests += 1;
            totals.records += received.records().count() as u64;
            totals.body_bytes += body_bytes as u64;
        }
        if self.keep {
            self.received.lock().expect("lock").push(received);
        }
    }

    fn next_status(&self) -> u16 {
        self.script.lock().expect("lock").pop_front().unwrap_or(200)
    }
}

/// A runtime of the receiver's own, a listener on a free port, and its shared state.
fn listen(
    port: u16,
    statuses: &[u16],
) -> (tokio::runtime::Runtime, tokio::net::TcpListener, Shared) {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("the receiver's runtime");
    let listener = runtime
        .block_on(tokio::net::TcpListener::bind(("127.0.0.1", port)))
        .expect("binding the receiver");
    let shared = Shared {
        received: Arc::new(Mutex::new(Vec::new())),
        script: Arc::new(Mutex::new(statuses.iter().copied().collect())),
        totals: Arc::default(),
        keep: true,
    };
    (runtime, listener, shared)
}

/// One HTTP/1.1 connection, plain or TLS, answered until it closes.
async fn serve_connection<I>(io: I, shared: Shared)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let service = hyper::service::service_fn(move |request| answer(request, shared.clone()));
    let _ = hyper::server::conn::http1::Builder::new()
        .serve_connection(hyper_util::rt::TokioIo::new(io), service)
        .await;
}

async fn answer(
    request: Request<Incoming>,
    shared: Shared,
) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
    let path = request.uri().path().to_owned();
    let headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or_default().to_owned(),
            )
        })
        .collect();
    let gzip = headers
        .iter()
        .any(|(name, value)| name == "content-encoding" && value == "gzip");
    let body = request
        .into_body()
        .collect()
        .await
        .map(|collected| collected.to_bytes())
        .unwrap_or_default();
    let bytes = if gzip {
        let mut plain = Vec::new();
        flate2::read::GzDecoder::new(&body[..])
            .read_to_end(&mut plain)
            .expect("a gzip body that does not decompress");
        plain
    } else {
        body.to_vec()
    };
    let request = ExportLogsServiceRequest::decode(&bytes[..])
        .expect("a body that is not an ExportLogsServiceRequest");
    let status = shared.next_status();
    let records = request
        .resource_logs
        .iter()
        .flat_map(|resource| &resource.scope_logs)
        .map(|scope| scope.log_records.len() as i64)
        .sum::<i64>();
    shared.note(
        Received {
            path,
            headers,
            gzip,
            request,
            status,
        },
        body.len(),
    );
    let mut response = Response::builder()
        .status(if status == PARTIAL { 200 } else { status })
        .header("Content-Type", "application/x-protobuf");
    if status == 429 || status == 503 {
        response = response.header("Retry-After", "1");
    }
    let body = match status {
        200 => ExportLogsServiceResponse::default().encode_to_vec(),
        PARTIAL => ExportLogsServiceResponse {
            partial_success: Some(ExportLogsPartialSuccess {
                rejected_log_records: records,
                error_message: "every record refused by the test".to_owned(),
            }),
        }
        .encode_to_vec(),
        _ => Vec::new(),
    };
    Ok(response
        .body(Full::new(Bytes::from(body)))
        .expect("a response"))
}

#[tonic::async_trait]
impl opentelemetry_proto::tonic::collector::logs::v1::logs_service_server::LogsService for Shared {
    async fn export(
        &self,
        request: tonic::Request<ExportLogsServiceRequest>,
    ) -> Result<tonic::Response<ExportLogsServiceResponse>, tonic::Status> {
        let headers: Vec<(String, String)> = request
            .metadata()
            .iter()
            .filter_map(|entry| match entry {
                tonic::metadata::KeyAndValueRef::Ascii(key, value) => Some((
                    key.as_str().to_owned(),
                    value.to_str().unwrap_or_default().to_owned(),
                )),
                tonic::metadata::KeyAndValueRef::Binary(..) => None,
            })
            .collect();
        let gzip = headers
            .iter()
            .any(|(name, value)| name == "grpc-encoding" && value == "gzip");
        let status = self.next_status();
        let request = request.into_inner();
        let size = request.encoded_len();
        self.note(
            Received {
                path: "/opentelemetry.proto.collector.logs.v1.LogsService/Export".to_owned(),
                headers,
                gzip,
                request,
                status,
            },
            size,
        );
        match status {
            200 => Ok(tonic::Response::new(ExportLogsServiceResponse::default())),
            503 => Err(tonic::Status::unavailable("busy")),
            429 => Err(tonic::Status::with_error_details(
                tonic::Code::ResourceExhausted,
                "slow down",
                tonic_types::ErrorDetails::with_retry_info(Some(Duration::from_secs(1))),
            )),
            _ => Err(tonic::Status::invalid_argument("refused by the test")),
        }
    }
}
