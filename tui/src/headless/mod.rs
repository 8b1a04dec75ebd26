//! The headless pipeline: `ringside --json` (NDJSON on stdout) and `ringside record` (a
//! recording file). Events flow ring buffer -> decode -> symbolize (bounded wait) -> filter ->
//! output; a per-type summary goes to stderr at the end.

mod annotate;
pub mod output;
mod tally;
#[cfg(test)]
mod tests;

use std::io::Write as _;
use std::path::PathBuf;
use std::sync::atomic::Ordering;
use std::time::Duration;

use anyhow::Context as _;
use tokio::sync::mpsc;

use self::annotate::{Annotating, annotate};
use self::output::Output;
use self::tally::Tally;
use crate::filter::Filter;
use crate::live_run::{Finished, LiveRun};
use crate::model::host::HostId;
use crate::probes::{ProbeOptions, Probes};
use crate::runstats::RunStats;
use crate::symbolize::SymbolizerStats;

/// How often an idle pipeline says how far it is ([`Output::caught_up`]), at the most.
const IDLE_TICK_MIN: Duration = Duration::from_millis(25);
/// A drain's own time, past `max_delay`, before an event is surely read.
const UNREAD_SLACK: Duration = Duration::from_millis(10);

/// How long the pipeline runs and what it tells.
pub struct Settings {
    pub duration: Option<Duration>,
    pub stats_file: Option<PathBuf>,
    /// How long a batch waits for its stacks' symbols before it goes out with bare addresses.
    pub symbol_wait: Duration,
    /// For the stats file: `json` or `record`.
    pub mode: &'static str,
    /// Changes while running, from a fleet viewer; the run ends when their sender goes.
    pub controls: Option<mpsc::Receiver<RunControl>>,
    /// The label a fleet viewer knows this machine by, so its `host=` filters mean the same
    /// here; `LOCAL` otherwise.
    pub host: HostId,
}

/// A change to a running headless pipeline.
pub enum RunControl {
    /// A new filter: its userspace part for the events to come, its kernel part for the probes.
    SetFilter(Filter),
}

pub async fn run(
    options: ProbeOptions,
    filter: Filter,
    mut settings: Settings,
    output: &mut dyn Output,
) -> anyhow::Result<()> {
    let mut run = LiveRun::start(&options)?;
    warn_about_gaps(run.probes());
    let batches = run
        .take_batches()
        .context("the run's batches were already taken")?;
    let (annotated_tx, mut annotated) = mpsc::channel::<Annotating>(64);
    tokio::spawn(annotate(
        batches,
        run.symbolizer().cloned(),
        settings.symbol_wait,
        annotated_tx,
    ));
    // Scripts (and the tests) wait for this line: from here on nothing is missed, and a signal
    // ends the run with its summary.
    eprintln!(
        "ringside: tracing ({} tracepoints attached)",
        run.probes().attached
    );

    let mut tally = Tally::new(filter);
    let duration = settings.duration;
    let deadline = tokio::time::sleep(duration.unwrap_or(Duration::MAX));
    tokio::pin!(deadline);
    let mut second = tokio::time::interval(Duration::from_secs(1));
    // For a fleet viewer (the only controller): an event still in the kernel's ring is at most
    // `max_delay` old (a reader asleep is woken by the first one), so with nothing queued
    // here, everything older is out.
    let unread_for = options.max_delay + UNREAD_SLACK;
    let mut idle = tokio::time::interval(options.max_delay.max(IDLE_TICK_MIN));
    idle.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
    let controlled = settings.controls.is_some();
    loop {
        tokio::select! {
            biased;
            () = run.stop_requested() => break,
            () = &mut deadline, if duration.is_some() => break,
            control = next_control(&mut settings.controls), if controlled => match control {
                Some(RunControl::SetFilter(filter)) => {
                    tracing::info!("filter now {:?}", filter.text());
                    run.narrow_kernel_filter(filter.kernel_part_on(settings.host));
                    tally.set_filter(filter);
                }
                // Whoever controlled the run went away: stop, detach, summarize.
                None => break,
            },
            _ = second.tick() => {
                run.every_second();
                output.every_second(crate::live_run::drops_by_name(&run.drops()))?;
            }
            _ = idle.tick(), if controlled => if annotated.is_empty()
                && let Some(through) = std::time::SystemTime::now().checked_sub(unread_for)
            {
                output.caught_up(through)?;
            },
            item = annotated.recv() => match item {
                Some(item) => if !deliver(item, settings.host, &mut tally, output).await? { break },
                None => break,
            },
        }
    }
    // Stop producing, then deliver what the kernel already wrote: the counts must add up.
    run.detach();
    while let Some(item) = annotated.recv().await {
        if !deliver(item, settings.host, &mut tally, output).await? {
            break;
        }
    }
    drop(annotated);
    let finished = run.finish().await?;
    output.finish(finished.drops_by_name())?;
    print_summary(&finished, &tally)?;
    if let Some(symbolizer) = &finished.symbolizer {
        print_stack_summary(symbolizer.stats(), tally.stacks_timed_out);
    }
    if let Some(path) = &settings.stats_file {
        let mut stats = RunStats {
            mode: settings.mode,
            ..RunStats::default()
        };
        for (kind, dropped) in &finished.drops {
            stats.delivered.insert(kind.name(), tally.delivered(*kind));
            stats.dropped.insert(kind.name(), *dropped);
        }
        stats.latency_ns = tally.latency.percentiles();
        stats.add_ring_reads(finished.reads);
        stats.first_event_ms = tally.first_event_ms;
        stats.otlp = output
            .otlp()
            .map(|counts| counts.fields().into_iter().collect());
        if let Some(symbolizer) = &finished.symbolizer {
            stats.add_symbolizer(symbolizer.stats());
        }
        stats.write(path)?;
    }
    Ok(())
}

async fn next_control(controls: &mut Option<mpsc::Receiver<RunControl>>) -> Option<RunControl> {
    match controls {
        Some(receiver) => receiver.recv().await,
        None => std::future::pending().await,
    }
}

/// One batch out; `false` when the output is gone.
async fn deliver(
    item: Annotating,
    host: HostId,
    tally: &mut Tally,
    output: &mut dyn Output,
) -> anyhow::Result<bool> {
    let (mut batch, timed_out) = item.finish().await;
    if !host.is_local() {
        for event in &mut batch.events {
            event.host = host;
        }
    }
    for event in tally.take(&batch, timed_out) {
        if !output.write(event)? {
            return Ok(false);
        }
    }
    output.flush()
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

fn print_stack_summary(stats: &SymbolizerStats, timed_out: usize) {
    let get = |counter: &std::sync::atomic::AtomicUsize| counter.load(Ordering::Relaxed);
    eprintln!(
        "ringside: stacks symbolized={} timed_out={timed_out} frames={} unresolved_frames={} \
         mapping_records_lost={} unwound={} unwound_complete={} stack_copies_lost={}",
        get(&stats.stacks),
        get(&stats.frames),
        get(&stats.unresolved_frames),
        get(&stats.mapping_records_lost),
        get(&stats.stacks_unwound),
        get(&stats.stacks_unwound_complete),
        get(&stats.stack_copies_lost),
    );
}

fn print_summary(finished: &Finished, tally: &Tally) -> anyhow::Result<()> {
    let mut stderr = std::io::stderr().lock();
    for (kind, dropped) in &finished.drops {
        let delivered = tally.delivered(*kind);
        writeln!(
            stderr,
            "ringside: {} delivered={delivered} dropped={dropped}",
            kind.name()
        )?;
    }
    let latency = tally.latency.percentiles();
    if latency.count > 0 {
        writeln!(
            stderr,
            "ringside: latency_ns p50={} p99={}",
            latency.p50, latency.p99
        )?;
    }
    writeln!(
        stderr,
        "ringside: ring records={} bytes={} drains={} sleeps={} woken={}",
        finished.reads.records,
        finished.reads.bytes,
        finished.reads.drains,
        finished.reads.sleeps,
        finished.reads.woken
    )?;
    if tally.filtered_out > 0 {
        writeln!(stderr, "ringside: filtered_out={}", tally.filtered_out)?;
    }
    if tally.malformed > 0 {
        writeln!(
            stderr,
            "ringside: malformed records skipped={}",
            tally.malformed
        )?;
    }
    Ok(())
}
