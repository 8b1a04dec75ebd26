//! One live run, whatever shows it: the TUI, `--json`, `record` and the stack exports all start,
//! stop and count through here, so they cannot drift apart.
//!
//! The order matters and lives only here: the symbolizer watches mappings before the probes
//! attach (so every process they see is known), the signal handlers are in place before the
//! first event (a Ctrl-C then ends the run cleanly, never kills it unsummarized), and at the end
//! the probes stop producing before the reader drains what the kernel already wrote, so the
//! delivered and dropped counts add up.

use std::collections::{BTreeMap, BTreeSet};

use anyhow::Context as _;
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;

use crate::clock::WallClock;
use crate::filter::KernelPart;
use crate::ingest::{self, Batch, RingReads};
use crate::model::EventKind;
use crate::probes::{self, KernelFilter, ProbeOptions, Probes};
use crate::symbolize::SymbolizerHandle;

/// Decoded batches waiting for the mode to take them; the reader waits when they pile up.
const BATCHES_IN_FLIGHT: usize = 64;

/// The signals that end a run: Ctrl-C, `kill`, a closed terminal or ssh session.
pub struct StopSignals {
    interrupt: Signal,
    terminate: Signal,
    hangup: Signal,
}

impl StopSignals {
    /// Catches the signals from now on; install before anything that must be undone (raw mode,
    /// attached probes).
    pub fn catch() -> anyhow::Result<Self> {
        let catch = |kind| signal(kind).context("installing a signal handler");
        Ok(Self {
            interrupt: catch(SignalKind::interrupt())?,
            terminate: catch(SignalKind::terminate())?,
            hangup: catch(SignalKind::hangup())?,
        })
    }

    /// Resolves at the next of them. Cancellation-safe, for `select!`.
    pub async fn next(&mut self) {
        tokio::select! {
            _ = self.interrupt.recv() => {}
            _ = self.terminate.recv() => {}
            _ = self.hangup.recv() => {}
        }
    }
}

/// The probes attached and the reader running.
pub struct LiveRun {
    probes: Probes,
    /// The kernel filter the command line asked for: a filter typed later narrows it, never
    /// widens it.
    base_filter: KernelFilter,
    events: BTreeSet<EventKind>,
    symbolizer: Option<SymbolizerHandle>,
    batches: Option<mpsc::Receiver<Batch>>,
    stop_reader: watch::Sender<bool>,
    reader: JoinHandle<anyhow::Result<RingReads>>,
    signals: StopSignals,
}

/// What a run ended with: every count the modes report.
pub struct Finished {
    pub reads: RingReads,
    /// Records the kernel could not deliver, per kind asked for.
    pub drops: BTreeMap<EventKind, u64>,
    pub symbolizer: Option<SymbolizerHandle>,
}

impl LiveRun {
    /// Checks privileges, starts the symbolizer when stacks are captured, loads and attaches
    /// the probes and starts reading their ring.
    pub fn start(options: &ProbeOptions) -> anyhow::Result<LiveRun> {
        probes::preflight()?;
        let signals = StopSignals::catch()?;
        let symbolizer = start_symbolizer(options.capture);
        let mut probes = probes::load(options)?;
        let clock = WallClock::now()?;
        let ring = probes.take_events()?;
        let asleep_flag = probes.take_reader_flag()?;
        let (batch_tx, batches) = mpsc::channel::<Batch>(BATCHES_IN_FLIGHT);
        let (stop_reader, stop_rx) = watch::channel(false);
        let reader = tokio::spawn(ingest::run(
            ring,
            clock,
            batch_tx,
            stop_rx,
            options.max_delay,
            asleep_flag,
        ));
        Ok(LiveRun {
            probes,
            base_filter: options.filter.clone(),
            events: options.events.clone(),
            symbolizer,
            batches: Some(batches),
            stop_reader,
            reader,
            signals,
        })
    }

    pub fn probes(&self) -> &Probes {
        &self.probes
    }

    pub fn symbolizer(&self) -> Option<&SymbolizerHandle> {
        self.symbolizer.as_ref()
    }

    /// The decoded batches; taken once, by whatever consumes them. The channel closes after
    /// [`LiveRun::detach`], once the reader has drained the ring.
    pub fn take_batches(&mut self) -> Option<mpsc::Receiver<Batch>> {
        self.batches.take()
    }

    /// Resolves when a signal asks the run to end.
    pub async fn stop_requested(&mut self) {
        self.signals.next().await;
    }

    /// Records lost in the kernel so far, per kind asked for.
    pub fn drops(&self) -> BTreeMap<EventKind, u64> {
        match self.probes.drops() {
            Ok(all) => self.only_asked(&all),
            Err(error) => {
                tracing::warn!("reading the drop counters: {error:#}");
                BTreeMap::new()
            }
        }
    }

    fn only_asked(&self, all: &BTreeMap<EventKind, u64>) -> BTreeMap<EventKind, u64> {
        self.events
            .iter()
            .map(|&kind| (kind, all.get(&kind).copied().unwrap_or(0)))
            .collect()
    }

    /// Applies a filter typed while running: its kernel part narrows the command line's.
    pub fn narrow_kernel_filter(&mut self, part: KernelPart) {
        let mut filter = self.base_filter.clone();
        filter.narrow_by(KernelFilter::from(part));
        if let Err(error) = self.probes.set_filter(&filter) {
            tracing::warn!("updating the kernel filter: {error:#}");
        }
    }

    /// Once a second: follows cgroups made since the filter was set.
    pub fn every_second(&mut self) {
        self.probes.refresh_cgroup_filter();
    }

    /// Stops the probes and tells the reader to drain what the kernel already wrote and end:
    /// the batches channel then closes. The maps stay readable for the final counts.
    pub fn detach(&mut self) {
        tracing::info!("detaching the probes");
        self.probes.detach();
        let _ = self.stop_reader.send(true);
    }

    /// Waits for the reader and reads the final counts. Call after [`LiveRun::detach`] and
    /// after the batches are consumed or dropped (the reader waits while they are full).
    pub async fn finish(mut self) -> anyhow::Result<Finished> {
        self.detach();
        let LiveRun {
            probes,
            events,
            symbolizer,
            batches,
            reader,
            ..
        } = self;
        drop(batches);
        let reads = reader
            .await
            .context("the ring-buffer reader stopped")?
            .context("reading the ring buffer")?;
        let all = probes.drops()?;
        let drops = events
            .iter()
            .map(|&kind| (kind, all.get(&kind).copied().unwrap_or(0)))
            .collect();
        tracing::info!("run finished");
        Ok(Finished {
            reads,
            drops,
            symbolizer,
        })
    }
}

impl Finished {
    /// The drop counts by kind name, as recordings and stats files store them.
    pub fn drops_by_name(&self) -> BTreeMap<String, u64> {
        drops_by_name(&self.drops)
    }
}

pub fn drops_by_name(drops: &BTreeMap<EventKind, u64>) -> BTreeMap<String, u64> {
    drops
        .iter()
        .map(|(kind, n)| (kind.name().to_owned(), *n))
        .collect()
}

/// Without a symbolizer stacks stay addresses: worth a warning, not the run.
fn start_symbolizer(capture: u32) -> Option<SymbolizerHandle> {
    if capture == 0 {
        return None;
    }
    match SymbolizerHandle::start() {
        Ok(handle) => Some(handle),
        Err(error) => {
            tracing::warn!("stacks stay unsymbolized: {error:#}");
            eprintln!("ringside: warning: stacks stay unsymbolized: {error:#}");
            None
        }
    }
}
