//! `ringside --json`: events as NDJSON on stdout, a per-type summary on stderr at the end.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{BufWriter, ErrorKind, Write};

use anyhow::Context as _;
use tokio::signal::unix::{SignalKind, signal};
use tokio::sync::{mpsc, watch};

use crate::clock::WallClock;
use crate::ingest::{self, Batch};
use crate::model::EventKind;
use crate::output::json::event_to_json;
use crate::probes::{self, ProbeOptions, Probes};

pub async fn run(
    options: ProbeOptions,
    duration: Option<std::time::Duration>,
) -> anyhow::Result<()> {
    let mut probes = probes::load(&options)?;
    warn_about_gaps(&probes);
    // Scripts (and the tests) wait for this line: from here on nothing is missed.
    eprintln!(
        "ringside: tracing ({} tracepoints attached)",
        probes.attached
    );
    let clock = WallClock::now()?;
    let ring = probes.take_events()?;
    let (tx, mut rx) = mpsc::channel::<Batch>(64);
    let (stop_tx, stop_rx) = watch::channel(false);
    let ingest = tokio::spawn(ingest::run(ring, clock, tx, stop_rx));

    let mut sink = Sink::new();
    let mut interrupt = signal(SignalKind::interrupt())?;
    let mut terminate = signal(SignalKind::terminate())?;
    let mut hangup = signal(SignalKind::hangup())?;
    let deadline = tokio::time::sleep(duration.unwrap_or(std::time::Duration::MAX));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            _ = interrupt.recv() => break,
            _ = terminate.recv() => break,
            _ = hangup.recv() => break,
            () = &mut deadline, if duration.is_some() => break,
            batch = rx.recv() => match batch {
                Some(batch) => if !sink.write(batch)? { break },
                None => break,
            },
        }
    }
    // Stop producing, then deliver what the kernel already wrote: the counts must add up.
    probes.detach();
    let _ = stop_tx.send(true);
    while let Some(batch) = rx.recv().await {
        if !sink.write(batch)? {
            break;
        }
    }
    drop(rx);
    ingest.await.context("the ring-buffer reader stopped")??;
    print_summary(&probes, &options.events, &sink)
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
    delivered: BTreeMap<EventKind, u64>,
    malformed: u64,
    closed: bool,
}

impl Sink {
    fn new() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            delivered: BTreeMap::new(),
            malformed: 0,
            closed: false,
        }
    }

    /// Writes a batch; false once stdout is closed (e.g. `| head`), which ends the run.
    fn write(&mut self, batch: Batch) -> anyhow::Result<bool> {
        self.malformed += batch.malformed;
        for event in &batch.events {
            *self.delivered.entry(event.kind()).or_default() += 1;
            if self.closed {
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
    if sink.malformed > 0 {
        writeln!(
            stderr,
            "ringside: malformed records skipped={}",
            sink.malformed
        )?;
    }
    Ok(())
}
