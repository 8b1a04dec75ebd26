//! Events into OpenTelemetry pipelines (`--otlp`): each event a LogRecord with its stacks,
//! sent to a collector over OTLP/HTTP in batches of up to 512 records or every second.
//!
//! Nothing here can slow the probes: events are handed over without waiting (a full hand-over
//! drops and counts), turned into records on a thread of their own, and queued within a byte
//! bound (`--otlp-queue`) in front of a sending thread that retries what is worth retrying
//! with backoff. Every record is counted by what became of it ([`OtlpCounts`]).

mod attributes;
pub mod beside_tui;
pub mod config;
mod grpc;
mod http;
pub mod output;
mod queue;
mod record;
mod resource;
mod stats;
mod transport;

use std::sync::atomic::Ordering;
use std::sync::mpsc::{Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime};

use anyhow::Context as _;
use opentelemetry_proto::tonic::logs::v1::{ResourceLogs, ScopeLogs};
use prost::Message as _;

use self::config::OtlpConfig;
use self::queue::Queue;
pub use self::stats::{OtlpCounts, OtlpStats};
use self::transport::{Outcome, Transport};
use crate::model::Event;

/// A batch's records at most, and the longest a record waits for its batch to fill.
pub const BATCH_RECORDS: usize = 512;
const BATCH_WAIT: Duration = Duration::from_secs(1);
/// A batch's encoded bytes at most: many collectors refuse requests over 4 MiB.
const BATCH_BYTES: usize = 3 << 20;
/// Events handed over but not yet turned into records.
const HAND_OVER: usize = 16_384;
/// How long the end of a run waits for the queue to empty.
pub const EXIT_FLUSH: Duration = Duration::from_secs(5);
const FIRST_BACKOFF: Duration = Duration::from_secs(1);
const LAST_BACKOFF: Duration = Duration::from_secs(30);

/// A running export; [`Exporter::finish`] flushes it.
pub struct Exporter {
    events: Option<SyncSender<Event>>,
    stats: Arc<OtlpStats>,
    /// The flush's deadline, once the run is ending.
    stop_by: Arc<Mutex<Option<Instant>>>,
    threads: Vec<JoinHandle<()>>,
    /// Where the records go, and how, for messages.
    pub url: String,
    pub how: &'static str,
}

impl Exporter {
    pub fn start(config: &OtlpConfig) -> anyhow::Result<Exporter> {
        let transport = Transport::new(config).map_err(anyhow::Error::msg)?;
        let how = transport.name();
        let stats = Arc::new(OtlpStats::default());
        let queue = Arc::new(Queue::new(config.queue_bytes));
        let stop_by = Arc::new(Mutex::new(None));
        let (events, handed) = std::sync::mpsc::sync_channel(HAND_OVER);
        let converter = {
            let (queue, stats) = (Arc::clone(&queue), Arc::clone(&stats));
            std::thread::Builder::new()
                .name("otlp records".into())
                .spawn(move || convert(&handed, &queue, &stats))
                .context("starting the OTLP exporter")?
        };
        let envelope = Envelope {
            resource: resource::resource(config),
            scope: resource::scope(),
        };
        let sender = {
            let (stats, stop_by) = (Arc::clone(&stats), Arc::clone(&stop_by));
            std::thread::Builder::new()
                .name("otlp sender".into())
                .spawn(move || {
                    Sender {
                        queue,
                        transport,
                        envelope,
                        stats,
                        stop_by,
                    }
                    .run();
                })
                .context("starting the OTLP exporter")?
        };
        Ok(Exporter {
            events: Some(events),
            stats,
            stop_by,
            threads: vec![converter, sender],
            url: config.url.clone(),
            how,
        })
    }

    /// Hands `event` over without waiting; when the exporter is that far behind, it is
    /// dropped and counted.
    pub fn export(&self, event: &Event) {
        let Some(events) = &self.events else {
            return;
        };
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            events.try_send(event.clone())
        {
            OtlpStats::add(&self.stats.dropped_queue_full, 1);
        }
    }

    pub fn stats(&self) -> &OtlpStats {
        &self.stats
    }

    /// Sends what is queued, for up to [`EXIT_FLUSH`]; what is left then is counted as
    /// dropped at exit.
    pub fn finish(mut self) -> OtlpCounts {
        *self.stop_by.lock().unwrap_or_else(PoisonError::into_inner) =
            Some(Instant::now() + EXIT_FLUSH);
        self.events.take();
        for thread in self.threads.drain(..) {
            let _ = thread.join();
        }
        self.stats.counts()
    }
}

/// Events to records, into the queue, until the events stop; then the queue closes.
fn convert(handed: &Receiver<Event>, queue: &Queue, stats: &OtlpStats) {
    for event in handed {
        // Encoded here, once: the queue holds (and its bound counts) exactly these bytes, and
        // the sender only frames them.
        let record = record::log_record(&event, SystemTime::now()).encode_to_vec();
        if !queue.push(record) {
            OtlpStats::add(&stats.dropped_queue_full, 1);
        }
    }
    queue.close();
}

/// What every request wraps its records in.
struct Envelope {
    resource: opentelemetry_proto::tonic::resource::v1::Resource,
    scope: opentelemetry_proto::tonic::common::v1::InstrumentationScope,
}

impl Envelope {
    /// An encoded `ExportLogsServiceRequest` of one `ResourceLogs` with one `ScopeLogs`
    /// holding `records` (each an encoded `LogRecord`). The resource and scope are encoded
    /// by their official types; the records, already encoded, are appended as the repeated
    /// `log_records` field (2) they are, each with its key and length, as prost would.
    fn request(&self, records: &[Vec<u8>]) -> Vec<u8> {
        let mut scope_logs = ScopeLogs {
            scope: Some(self.scope.clone()),
            ..ScopeLogs::default()
        }
        .encode_to_vec();
        for record in records {
            length_delimited(2, record, &mut scope_logs);
        }
        let mut resource_logs = ResourceLogs {
            resource: Some(self.resource.clone()),
            ..ResourceLogs::default()
        }
        .encode_to_vec();
        length_delimited(2, &scope_logs, &mut resource_logs);
        let mut request = Vec::with_capacity(resource_logs.len() + 8);
        length_delimited(1, &resource_logs, &mut request);
        request
    }
}

/// Appends field `tag` holding `bytes` (a message or a string), as protobuf lays it out.
fn length_delimited(tag: u32, bytes: &[u8], out: &mut Vec<u8>) {
    prost::encoding::encode_key(tag, prost::encoding::WireType::LengthDelimited, out);
    prost::encoding::encode_varint(bytes.len() as u64, out);
    out.extend_from_slice(bytes);
}

struct Sender {
    queue: Arc<Queue>,
    transport: Transport,
    envelope: Envelope,
    stats: Arc<OtlpStats>,
    stop_by: Arc<Mutex<Option<Instant>>>,
}

impl Sender {
    fn run(mut self) {
        loop {
            let batch = self.queue.take(BATCH_RECORDS, BATCH_BYTES, BATCH_WAIT);
            if !batch.records.is_empty() {
                self.deliver(batch.records);
            }
            if batch.last {
                return;
            }
            if self
                .deadline()
                .is_some_and(|deadline| Instant::now() >= deadline)
            {
                // The flush ran out: what is still queued never leaves.
                loop {
                    let rest = self.queue.take(usize::MAX, usize::MAX, Duration::ZERO);
                    OtlpStats::add(&self.stats.dropped_at_exit, rest.records.len() as u64);
                    if rest.last {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(10));
                }
            }
        }
    }

    fn deadline(&self) -> Option<Instant> {
        *self.stop_by.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends one batch, retrying with backoff (or as the collector asked) until it is sent,
    /// refused, or the exit's flush runs out.
    fn deliver(&mut self, records: Vec<Vec<u8>>) {
        let count = records.len() as u64;
        let request = self.envelope.request(&records);
        drop(records);
        let mut backoff = FIRST_BACKOFF;
        loop {
            match self.transport.send(&request) {
                Outcome::Sent { rejected } => {
                    self.stats.retrying.store(false, Ordering::Relaxed);
                    let rejected = rejected.min(count);
                    OtlpStats::add(&self.stats.sent, count - rejected);
                    OtlpStats::add(&self.stats.rejected, rejected);
                    self.stats.set_problem(None);
                    return;
                }
                Outcome::Refused(why) => {
                    self.stats.retrying.store(false, Ordering::Relaxed);
                    OtlpStats::add(&self.stats.rejected, count);
                    self.stats
                        .set_problem(Some(format!("{why}; {count} records refused")));
                    return;
                }
                Outcome::Retry { after, why } => {
                    self.stats.retrying.store(true, Ordering::Relaxed);
                    OtlpStats::add(&self.stats.retried, 1);
                    self.stats
                        .set_problem(Some(format!("{why}; queuing and retrying")));
                    // Full jitter: many hosts that lost one collector do not come back at once.
                    let pause = after
                        .unwrap_or_else(|| backoff.mul_f64(0.5 + fastrand::f64() / 2.0))
                        .min(LAST_BACKOFF);
                    backoff = (backoff * 2).min(LAST_BACKOFF);
                    if !self.pause(pause) {
                        OtlpStats::add(&self.stats.dropped_at_exit, count);
                        return;
                    }
                }
            }
        }
    }

    /// Waits `pause`, cut short when the run ends; `false` once the exit's flush has run out.
    fn pause(&self, pause: Duration) -> bool {
        let until = Instant::now() + pause;
        let stopping_at_start = self.deadline().is_some();
        while Instant::now() < until {
            match self.deadline() {
                Some(deadline) if Instant::now() >= deadline => return false,
                // The run just ended: try again now, while the flush lasts.
                Some(_) if !stopping_at_start => return true,
                _ => std::thread::sleep(Duration::from_millis(20)),
            }
        }
        self.deadline()
            .is_none_or(|deadline| Instant::now() < deadline)
    }
}
