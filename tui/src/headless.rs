//! `ringside --json`: events as NDJSON on stdout, a per-type summary on stderr at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, ErrorKind, Write};
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, oneshot, watch};

use crate::app::ProcessTable;
use crate::clock::WallClock;
use crate::filter::Filter;
use crate::ingest::{self, Batch};
use crate::model::EventKind;
use crate::model::frame::Stacks;
use crate::output::json::event_to_json;
use crate::probes::{self, ProbeOptions, Probes};
use crate::runstats::{RunStats, Sampler};
use crate::symbolize::{StackRequest, SymbolizerHandle, SymbolizerStats};

/// How long a line waits for its stacks' symbols before it is written with bare addresses.
const SYMBOL_WAIT: Duration = Duration::from_millis(100);

pub async fn run(
    options: ProbeOptions,
    filter: Filter,
    duration: Option<Duration>,
    stats_file: Option<PathBuf>,
) -> anyhow::Result<()> {
    probes::preflight()?;
    // Mappings are watched before the probes attach, so every process they see is known.
    let symbolizer = start_symbolizer(options.capture);
    let mut probes = probes::load(&options)?;
    warn_about_gaps(&probes);
    let clock = WallClock::now()?;
    let ring = probes.take_events()?;
    let (tx, rx) = mpsc::channel::<Batch>(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ingest = tokio::spawn(ingest::run(ring, clock, tx, stop_rx));
    let (annotated_tx, mut annotated) = mpsc::channel::<Annotating>(64);
    tokio::spawn(annotate(rx, symbolizer.clone(), annotated_tx));
    // Scripts (and the tests) wait for this line: from here on nothing is missed.
    eprintln!(
        "ringside: tracing ({} tracepoints attached)",
        probes.attached
    );

    let mut sink = Sink::new(filter);
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let deadline = tokio::time::sleep(duration.unwrap_or(Duration::MAX));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
            () = &mut deadline, if duration.is_some() => break,
            item = annotated.recv() => match item {
                Some(item) => if !sink.write(item.finish().await)? { break },
                None => break,
            },
        }
    }
    // Stop producing, then deliver what the kernel already wrote: the counts must add up.
    probes.detach();
    let _ = stop_tx.send(true);
    while let Some(item) = annotated.recv().await {
        if !sink.write(item.finish().await)? {
            break;
        }
    }
    drop(annotated);
    ingest.await.context("the ring-buffer reader stopped")??;
    print_summary(&probes, &options.events, &sink)?;
    if let Some(symbolizer) = &symbolizer {
        print_stack_summary(symbolizer.stats(), sink.stacks_timed_out);
    }
    if let Some(path) = stats_file {
        let mut stats = RunStats {
            mode: "json",
            ..RunStats::default()
        };
        let drops = probes.drops()?;
        for kind in &options.events {
            stats
                .delivered
                .insert(kind.name(), sink.delivered.get(kind).copied().unwrap_or(0));
            stats
                .dropped
                .insert(kind.name(), drops.get(kind).copied().unwrap_or(0));
        }
        stats.latency_ns = sink.latency.percentiles();
        stats.first_event_ms = sink.first_event_ms;
        if let Some(symbolizer) = &symbolizer {
            stats.add_symbolizer(symbolizer.stats());
        }
        stats.write(&path)?;
    }
    Ok(())
}

fn start_symbolizer(capture: u32) -> Option<SymbolizerHandle> {
    if capture == 0 {
        return None;
    }
    match SymbolizerHandle::start() {
        Ok(handle) => Some(handle),
        Err(error) => {
            eprintln!("ringside: warning: stacks stay unsymbolized: {error:#}");
            None
        }
    }
}

/// A batch on its way out, with the symbolizer's answer still to come.
struct Annotating {
    batch: Batch,
    /// Which events asked, and the answer for them in that order.
    answer: Option<(Vec<usize>, oneshot::Receiver<Vec<Stacks>>)>,
    deadline: tokio::time::Instant,
}

impl Annotating {
    /// The batch with its stacks; also how many events' stacks did not come in time.
    async fn finish(self) -> (Batch, usize) {
        let mut batch = self.batch;
        let Some((asked, answer)) = self.answer else {
            return (batch, 0);
        };
        match tokio::time::timeout_at(self.deadline, answer).await {
            Ok(Ok(stacks)) => {
                for (index, stacks) in asked.into_iter().zip(stacks) {
                    if let Some(event) = batch.events.get_mut(index) {
                        event.stacks = Some(Arc::new(stacks));
                    }
                }
                (batch, 0)
            }
            _ => (batch, asked.len()),
        }
    }
}

/// Sends each batch's stacks to the symbolizer as soon as it arrives, and passes the batch on
/// in order: later batches are symbolized while earlier ones wait to be written.
async fn annotate(
    mut batches: mpsc::Receiver<Batch>,
    symbolizer: Option<SymbolizerHandle>,
    out: mpsc::Sender<Annotating>,
) {
    while let Some(batch) = batches.recv().await {
        let deadline = tokio::time::Instant::now() + SYMBOL_WAIT;
        let answer = symbolizer.as_ref().and_then(|symbolizer| {
            let asked: Vec<usize> = batch
                .events
                .iter()
                .enumerate()
                .filter(|(_, e)| !e.ustack.is_empty() || !e.kstack.is_empty())
                .map(|(index, _)| index)
                .collect();
            if asked.is_empty() {
                return None;
            }
            let requests = asked
                .iter()
                .filter_map(|&index| batch.events.get(index))
                .map(|e| StackRequest {
                    pid: e.pid,
                    time_ns: e.stack_mono_ns,
                    user: e.ustack.clone(),
                    kernel: e.kstack.clone(),
                })
                .collect();
            Some((asked, symbolizer.resolve(requests)))
        });
        if out
            .send(Annotating {
                batch,
                answer,
                deadline,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}

fn warn_about_gaps(probes: &Probes) {
    for (tracepoint, kinds) in &probes.missing {
        let kinds: Vec<_> = kinds.iter().map(|kind| kind.name()).collect();
        eprintln!(
            "ringside: warning: tracepoint {tracepoint} is absent on this kernel; \
             {} events that depend on it are missing",
            kinds.join("/")
        );
    }
    if let Some(problem) = &probes.btf_problem {
        eprintln!(
            "ringside: warning: no kernel type information ({problem}); ppid, process start \
             times, exit codes, socket local addresses, TCP byte counts and the ends of accepted \
             TCP sessions are unknown"
        );
    }
}

/// Stdout as NDJSON, with counts of what was written.
struct Sink {
    out: BufWriter<std::io::Stdout>,
    /// The userspace part of `--filter`; the process table answers its `tree=`.
    filter: Filter,
    processes: ProcessTable,
    delivered: BTreeMap<EventKind, u64>,
    malformed: u64,
    /// Delivered by the kernel, then held back by the userspace part of `--filter`.
    filtered_out: u64,
    latency: Sampler,
    first_event_ms: Option<f64>,
    /// Events written with bare addresses: their symbols did not come within SYMBOL_WAIT.
    stacks_timed_out: usize,
    closed: bool,
}

impl Sink {
    fn new(filter: Filter) -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            filter,
            processes: ProcessTable::default(),
            delivered: BTreeMap::new(),
            malformed: 0,
            stacks_timed_out: 0,
            filtered_out: 0,
            latency: Sampler::default(),
            first_event_ms: None,
            closed: false,
        }
    }

    /// Writes a batch; false once stdout is closed (e.g. `| head`), which ends the run.
    fn write(&mut self, (batch, timed_out): (Batch, usize)) -> anyhow::Result<bool> {
        self.malformed += batch.malformed;
        self.stacks_timed_out += timed_out;
        if self.first_event_ms.is_none() && !batch.events.is_empty() {
            self.first_event_ms = crate::runstats::ms_since_process_start();
        }
        for event in &batch.events {
            self.latency
                .add(batch.decoded_mono_ns.saturating_sub(event.mono_ns));
        }
        for event in &batch.events {
            *self.delivered.entry(event.kind()).or_default() += 1;
            self.processes.observe(event);
            if self.closed {
                continue;
            }
            if !self.filter.matches(event, &self.processes) {
                self.filtered_out += 1;
                continue;
            }
            let line = event_to_json(event);
            let written = serde_json::to_writer(&mut self.out, &line)
                .map_err(std::io::Error::from)
                .and_then(|()| self.out.write_all(b"\n"));
            if !self.keep_going(written)? {
                return Ok(false);
            }
        }
        let flushed = self.out.flush();
        self.keep_going(flushed)
    }

    fn keep_going(&mut self, result: std::io::Result<()>) -> anyhow::Result<bool> {
        match result {
            Ok(()) => Ok(!self.closed),
            Err(error) if error.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(error) => Err(error).context("writing events to stdout"),
        }
    }
}

fn print_stack_summary(stats: &SymbolizerStats, timed_out: usize) {
    let get = |counter: &std::sync::atomic::AtomicUsize| counter.load(Ordering::Relaxed);
    eprintln!(
        "ringside: stacks symbolized={} timed_out={timed_out} frames={} unresolved_frames={} \
         mapping_records_lost={}",
        get(&stats.stacks),
        get(&stats.frames),
        get(&stats.unresolved_frames),
        get(&stats.mapping_records_lost),
    );
}

fn print_summary(probes: &Probes, wanted: &BTreeSet<EventKind>, sink: &Sink) -> anyhow::Result<()> {
    let drops = probes.drops()?;
    let mut stderr = std::io::stderr().lock();
    for kind in wanted {
        let delivered = sink.delivered.get(kind).copied().unwrap_or(0);
        let dropped = drops.get(kind).copied().unwrap_or(0);
        writeln!(
            stderr,
            "ringside: {} delivered={delivered} dropped={dropped}",
            kind.name()
        )?;
    }
    let latency = sink.latency.percentiles();
    if latency.count > 0 {
        writeln!(
            stderr,
            "ringside: latency_ns p50={} p99={}",
            latency.p50, latency.p99
        )?;
    }
    if sink.filtered_out > 0 {
        writeln!(stderr, "ringside: filtered_out={}", sink.filtered_out)?;
    }
    if sink.malformed > 0 {
        writeln!(
            stderr,
            "ringside: malformed records skipped={}",
            sink.malformed
        )?;
    }
    Ok(())
}
