//! `ringside` without `--json`: the TUI. One loop, one `select!` over keys, event batches,
//! symbolized stacks, a once-a-second tick and a render tick; key input is polled first so the
//! UI stays responsive in an event flood, and nothing in the loop waits on the kernel or on
//! symbolization.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use crossterm::event::Event as TermEvent;
use futures_util::StreamExt as _;
use tokio::sync::{mpsc, watch};
use tokio::time::MissedTickBehavior;

use crate::app::{Action, App, EventId, Msg, Stats, View};
use crate::filter::Filter;
use crate::filter::KernelPart;
use crate::fleet::{FleetView, HostLine};
use crate::ingest::Batch;
use crate::key_recording::KeyRecording;
use crate::live_run::{LiveRun, StopSignals};
use crate::model::EventKind;
use crate::model::frame::Stacks;
use crate::otlp::Exporter;
use crate::otlp::beside_tui::TuiExport;
use crate::probes::ProbeOptions;
use crate::runstats::{RunStats, Sampler};
use crate::symbolize::{StackRequest, SymbolizerHandle};
use crate::{procfs, replay, terminal, ui};

/// At most 30 frames a second, and none when nothing changed.
const FRAME: Duration = Duration::from_millis(33);
/// How often the heap's free pages go back to the kernel (after a storm, what its stack copies
/// took would otherwise stay resident).
const TRIM_EVERY_SECS: u64 = 2;

pub async fn run(
    options: ProbeOptions,
    filter: Filter,
    max_events: usize,
    stats_file: Option<PathBuf>,
    otlp: Option<Exporter>,
) -> anyhow::Result<()> {
    let mut otlp = otlp.map(TuiExport::new);
    let mut live = LiveRun::start(&options)?;
    let mut batches = live
        .take_batches()
        .context("the run's batches were already taken")?;
    let mut app = App::new(max_events, filter, "live".into());
    let mut stats = RunStats {
        mode: "tui",
        ..RunStats::default()
    };
    let result = {
        let (mut terminal, _guard) = take_terminal(&mut app)?;
        let mut run = Run {
            app: &mut app,
            source: Source::Live(&mut live),
            stats: &mut stats,
            otlp: otlp.as_mut(),
        };
        let result = event_loop(&mut run, &mut terminal, &mut batches).await;
        // While the "stopping" line is on screen, not after the terminal is handed back.
        live.detach();
        result
    };
    drop(batches);
    let finished = live.finish().await;
    // The terminal is back: the export's flush and its counts can be said.
    if let Some(otlp) = otlp {
        let counts = otlp.finish(app.store());
        eprintln!("ringside: otlp {counts}");
        stats.otlp = Some(counts.fields().into_iter().collect());
    }
    // The loop's error first: it is what the user saw go wrong.
    let finished = match (result, finished) {
        (Err(error), _) => return Err(error),
        (Ok(()), finished) => finished?,
    };
    if let Some(path) = stats_file {
        stats.retained_events = app.store().len();
        for (kind, dropped) in &finished.drops {
            stats.dropped.insert(kind.name(), *dropped);
        }
        stats.add_ring_reads(finished.reads);
        if let Some(symbolizer) = &finished.symbolizer {
            stats.add_symbolizer(symbolizer.stats());
        }
        stats.write(&path)?;
    }
    Ok(())
}

/// `ringside replay FILE`: the same TUI on a recording; no probes, no privileges.
pub async fn run_replay(path: PathBuf, filter: Filter, max_events: usize) -> anyhow::Result<()> {
    let (header, mut batches, drops) = replay::stream(path.clone())?;
    let name = path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    );
    let source = format!("replay {name} (recorded on {})", header.hostname);
    let mut app = App::new(max_events, filter, source).replaying();
    let mut stats = RunStats {
        mode: "replay",
        ..RunStats::default()
    };
    let signals = StopSignals::catch()?;
    let (mut terminal, _guard) = take_terminal(&mut app)?;
    let mut run = Run {
        app: &mut app,
        source: Source::Replay { drops, signals },
        stats: &mut stats,
        otlp: None,
    };
    event_loop(&mut run, &mut terminal, &mut batches).await
}

/// `ringside --host …`: the same TUI on many servers' events, each with its host.
pub async fn run_fleet(
    mut view: FleetView,
    filter: Filter,
    max_events: usize,
    otlp: Option<Exporter>,
) -> anyhow::Result<()> {
    let mut otlp = otlp.map(TuiExport::new);
    let mut batches = view
        .take_batches()
        .context("the fleet's batches were already taken")?;
    let hosts = view.hosts.clone();
    let count = hosts.borrow().len();
    let mut app = App::new(max_events, filter, format!("{count} hosts"));
    app.update(Msg::Hosts(hosts.borrow().clone()));
    let mut stats = RunStats {
        mode: "fleet",
        ..RunStats::default()
    };
    let signals = StopSignals::catch()?;
    let result = {
        let (mut terminal, _guard) = take_terminal(&mut app)?;
        let mut run = Run {
            app: &mut app,
            source: Source::Fleet {
                view: &view,
                hosts,
                signals,
            },
            stats: &mut stats,
            otlp: otlp.as_mut(),
        };
        let result = event_loop(&mut run, &mut terminal, &mut batches).await;
        // While "stopping" is on screen: every remote detaches its probes.
        let stopping = view.stop();
        drop(batches);
        let _ = stopping.await;
        result
    };
    view.finished().await;
    if let Some(otlp) = otlp {
        eprintln!("ringside: otlp {}", otlp.finish(app.store()));
    }
    result
}

/// Takes the terminal over and tells the app its size.
fn take_terminal(
    app: &mut App,
) -> anyhow::Result<(ratatui::DefaultTerminal, terminal::TerminalGuard)> {
    let (terminal, guard) = terminal::enter()?;
    let size = terminal.size()?;
    app.update(Msg::Resize(size.width, size.height));
    Ok((terminal, guard))
}

/// What a source says besides events.
enum SourceNews {
    Stop,
    Hosts(Vec<HostLine>),
}

/// Where events come from: a live run (which also counts drops and takes kernel filters), a
/// recording (whose drop counters were recorded), or a fleet of hosts.
enum Source<'a> {
    Live(&'a mut LiveRun),
    Replay {
        drops: watch::Receiver<BTreeMap<EventKind, u64>>,
        signals: StopSignals,
    },
    Fleet {
        view: &'a FleetView,
        hosts: watch::Receiver<Vec<HostLine>>,
        signals: StopSignals,
    },
}

impl Source<'_> {
    /// The next thing besides events: a signal to stop, or a fleet host's change of state.
    /// Cancellation-safe, for the loop's `select!`.
    async fn news(&mut self) -> SourceNews {
        match self {
            Source::Live(live) => {
                live.stop_requested().await;
                SourceNews::Stop
            }
            Source::Replay { signals, .. } => {
                signals.next().await;
                SourceNews::Stop
            }
            Source::Fleet { hosts, signals, .. } => tokio::select! {
                () = signals.next() => SourceNews::Stop,
                Ok(()) = hosts.changed() => SourceNews::Hosts(hosts.borrow_and_update().clone()),
            },
        }
    }

    fn drops(&self) -> BTreeMap<EventKind, u64> {
        match self {
            Source::Live(live) => live.drops(),
            Source::Replay { drops, .. } => drops.borrow().clone(),
            // Every host's kernel drops, added up per type.
            Source::Fleet { hosts, .. } => {
                let mut total = BTreeMap::new();
                for host in hosts.borrow().iter() {
                    for (name, n) in &host.drops {
                        if let Some(kind) = EventKind::from_name(name) {
                            *total.entry(kind).or_default() += n;
                        }
                    }
                }
                total
            }
        }
    }

    fn symbolizer(&self) -> Option<&SymbolizerHandle> {
        match self {
            Source::Live(live) => live.symbolizer(),
            // A fleet's events come symbolized by their hosts.
            Source::Replay { .. } | Source::Fleet { .. } => None,
        }
    }

    fn every_second(&mut self) {
        if let Source::Live(live) = self {
            live.every_second();
        }
    }

    /// A filter typed in the TUI: its kernel part to the probes here, or the whole filter
    /// to every host.
    fn set_filter(&mut self, part: KernelPart, text: &str) {
        match self {
            Source::Live(live) => live.narrow_kernel_filter(part),
            Source::Fleet { view, .. } => view.set_filter(text),
            Source::Replay { .. } => {}
        }
    }
}

/// What the loop works on.
struct Run<'a> {
    app: &'a mut App,
    source: Source<'a>,
    stats: &'a mut RunStats,
    /// `--otlp --tui`: the events shown also go to a collector.
    otlp: Option<&'a mut TuiExport>,
}

async fn event_loop(
    run: &mut Run<'_>,
    terminal: &mut ratatui::DefaultTerminal,
    batches: &mut mpsc::Receiver<Batch>,
) -> anyhow::Result<()> {
    let Run {
        app,
        source,
        stats: run_stats,
        otlp,
    } = run;
    let mut latency = Sampler::default();
    let mut frames = Sampler::default();
    // Frames of the stack views, their regrouping included.
    let mut stack_frames = Sampler::default();
    let mut key_recording: Option<KeyRecording> = None;
    let mut keys = crossterm::event::EventStream::new();
    let (stacks_tx, mut stacks) = mpsc::unbounded_channel::<Vec<(EventId, Stacks)>>();
    let mut render = tokio::time::interval(FRAME);
    render.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    second.set_missed_tick_behavior(MissedTickBehavior::Skip);
    let mut cpu = procfs::CpuMeter::new();
    let mut seconds: u64 = 0;
    loop {
        let actions = tokio::select! {
            biased;
            input = keys.next() => match input {
                Some(Ok(TermEvent::Key(key))) => app.update(Msg::Key(key)),
                Some(Ok(TermEvent::Mouse(mouse))) => app.update(Msg::Mouse(mouse)),
                Some(Ok(TermEvent::Resize(width, height))) => {
                    terminal::resize(terminal, width, height)?;
                    app.update(Msg::Resize(width, height))
                }
                Some(Ok(_)) => Vec::new(),
                Some(Err(error)) => return Err(error).context("reading the terminal"),
                None => vec![Action::Quit],
            },
            news = source.news() => match news {
                SourceNews::Stop => vec![Action::Quit],
                SourceNews::Hosts(hosts) => app.update(Msg::Hosts(hosts)),
            },
            _ = second.tick() => {
                source.every_second();
                seconds += 1;
                if seconds.is_multiple_of(TRIM_EVERY_SECS) {
                    // Off the loop: it walks the heap's free lists under their locks.
                    drop(tokio::task::spawn_blocking(crate::heap::give_back_freed));
                }
                let stats = Stats {
                    kernel_drops: source.drops(),
                    cpu_percent: cpu.percent(),
                    symbol_backlog: source.symbolizer().map_or(0, SymbolizerHandle::backlog),
                    mapping_records_lost: source.symbolizer().map_or(0, |s| {
                        s.stats().mapping_records_lost.load(std::sync::atomic::Ordering::Relaxed)
                    }),
                    stack_copies_lost: source.symbolizer().map_or(0, |s| {
                        s.stats().stack_copies_lost.load(std::sync::atomic::Ordering::Relaxed)
                    }),
                    otlp: otlp.as_deref().map(TuiExport::status),
                    ..Stats::default()
                };
                app.update(Msg::Tick(stats))
            }
            _ = render.tick() => {
                if app.take_dirty() {
                    let started = std::time::Instant::now();
                    app.refresh_stack_views();
                    terminal.draw(|frame| ui::draw(frame, app))?;
                    let took = u64::try_from(started.elapsed().as_nanos()).unwrap_or(u64::MAX);
                    match app.view() {
                        View::Events => frames.add(took),
                        View::Stacks | View::Flame | View::Failures => stack_frames.add(took),
                    }
                }
                Vec::new()
            }
            Some(answer) = stacks.recv() => {
                let ids: Vec<EventId> = answer.iter().map(|(id, _)| *id).collect();
                let actions = app.update(Msg::Stacks(answer));
                if let Some(otlp) = otlp.as_deref_mut() {
                    otlp.symbolized(&ids, app.store());
                }
                actions
            }
            Some(mut batch) = batches.recv() => {
                if run_stats.first_event_ms.is_none() && !batch.events.is_empty() {
                    run_stats.first_event_ms = crate::runstats::ms_since_process_start();
                }
                for event in &batch.events {
                    latency.add(batch.decoded_mono_ns.saturating_sub(event.mono_ns));
                    *run_stats.delivered.entry(event.kind().name()).or_default() += 1;
                }
                let first = app.store().next_id();
                let (asked, requests) = StackRequest::for_batch(&mut batch);
                if let Some(otlp) = otlp.as_deref_mut() {
                    otlp.batch(&batch.events, first, &asked, source.symbolizer().is_some());
                }
                let ids = asked.into_iter().map(|index| first + index as EventId).collect();
                let actions = app.update(Msg::Events(batch.events, batch.malformed));
                if let Some(symbolizer) = source.symbolizer() {
                    symbolize(symbolizer, ids, requests, stacks_tx.clone());
                }
                actions
            }
        };
        if let Some(active) = &mut key_recording {
            match active.pump(app.take_to_record(), app.store()) {
                Ok(()) => app.set_recording(Some(active.status())),
                Err(error) => {
                    app.set_notice(format!("recording stopped: {error:#}"));
                    app.set_recording(None);
                    key_recording = None;
                }
            }
        }
        for action in actions {
            match action {
                Action::Quit => {
                    run_stats.latency_ns = latency.percentiles();
                    run_stats.frame_ns = frames.percentiles();
                    run_stats.stacks_frame_ns = stack_frames.percentiles();
                    if let Some(active) = key_recording.take() {
                        let drops = drop_names(source.drops());
                        active.finish(app.take_to_record(), app.store(), drops)?;
                    }
                    // Detaching takes a moment (an RCU grace period per probe): say so.
                    if matches!(source, Source::Live(_) | Source::Fleet { .. }) {
                        app.set_notice("stopping: detaching the probes…".into());
                        terminal.draw(|frame| ui::draw(frame, app))?;
                    }
                    return Ok(());
                }
                Action::ToggleRecording => {
                    let notice = match key_recording.take() {
                        Some(active) => {
                            let drops = drop_names(source.drops());
                            let finished = active.finish(app.take_to_record(), app.store(), drops);
                            // Stopped either way: the recording is gone from the title too.
                            app.set_recording(None);
                            match finished {
                                Ok(done) => done,
                                Err(error) => format!("recording: {error:#}"),
                            }
                        }
                        None => {
                            match KeyRecording::start(
                                app.filter().text(),
                                source.symbolizer().is_some(),
                            ) {
                                Ok(started) => {
                                    let text = format!("recording to {}", started.status().path);
                                    app.set_recording(Some(started.status()));
                                    key_recording = Some(started);
                                    text
                                }
                                Err(error) => format!("cannot record: {error:#}"),
                            }
                        }
                    };
                    app.set_notice(notice);
                }
                Action::SetKernelFilter(part) => source.set_filter(part, app.filter().text()),
            }
        }
    }
}

fn drop_names(drops: BTreeMap<EventKind, u64>) -> BTreeMap<String, u64> {
    crate::live_run::drops_by_name(&drops)
}

/// Asks for the stacks of the events `ids` (the ids the store gave them), and forwards the
/// answer to the loop when it comes; nothing waits.
fn symbolize(
    symbolizer: &SymbolizerHandle,
    ids: Vec<EventId>,
    requests: Vec<StackRequest>,
    answers: mpsc::UnboundedSender<Vec<(EventId, Stacks)>>,
) {
    if requests.is_empty() {
        return;
    }
    let answer = symbolizer.resolve(requests);
    tokio::spawn(async move {
        if let Ok(stacks) = answer.await {
            let _ = answers.send(ids.into_iter().zip(stacks).collect());
        }
    });
}
