//! ringside: what a Linux server is doing right now, and the code that made it happen.
#![deny(unsafe_code)]

#[cfg(test)]
mod allocations;
mod app;
mod byte_fields;
mod cgroups;
mod cli;
mod clock;
mod dns;
#[cfg(test)]
mod docs_tests;
mod export;
mod filter;
mod fleet;
mod headless;
mod heap;
mod ingest;
mod interactive;
mod key_recording;
mod live_run;
mod logging;
mod model;
mod otlp;
mod output;
mod packaging;
mod probes;
mod procfs;
mod recording;
mod replay;
mod runstats;
mod short_text;
mod stacks;
mod symbolize;
mod terminal;
mod ui;
mod version;
#[cfg(test)]
mod wiring_tests;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use crate::cli::{Cli, Command, FleetArgs, OtlpArgs, SelectArgs, ShowArgs, TraceArgs};
use crate::filter::Filter;
use crate::filter::cgroup::{CgroupField, CgroupMatch};
use crate::model::EventKind;
use crate::probes::{KernelFilter, ProbeOptions};

/// In the static build musl's malloc cost ringside a quarter of its CPU per event, most of it in
/// the kernel (returning memory eagerly); mimalloc takes that away (README, "Performance").
/// Test builds are glibc and count allocations instead (`allocations.rs`).
#[cfg(all(target_env = "musl", not(test)))]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    let cli = Cli::parse_args();
    // Packaging's commands only print: they need no log file.
    let generated = match &cli.command {
        Some(Command::Completions { shell }) => Some(packaging::completions(*shell)),
        Some(Command::Manpages { dir }) => Some(packaging::man_pages(dir)),
        _ => None,
    };
    if let Some(result) = generated {
        return match result {
            Ok(()) => ExitCode::SUCCESS,
            Err(error) => {
                eprintln!("ringside: error: {error:#}");
                ExitCode::FAILURE
            }
        };
    }
    let log_path = cli.log_file.clone().unwrap_or_else(logging::default_path);
    if let Err(error) = logging::init(&log_path) {
        eprintln!("ringside: warning: running without a log file: {error:#}");
    }
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            tracing::error!("{error:?}");
            eprintln!("ringside: error: {error:#}");
            ExitCode::FAILURE
        }
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match cli.command {
        Some(Command::Replay { file, select, show }) => {
            let filter = parse_filter(&select)?;
            let exports = exports(&show)?;
            let max_events = usize::try_from(show.max_events).unwrap_or(usize::MAX);
            if exports.any() {
                replay::to_output(&file, &filter, &mut export::StackExport::new(exports))
            } else if show.json {
                replay::to_json(&file, &filter)
            } else {
                runtime.block_on(interactive::run_replay(file, filter, max_events))
            }
        }
        Some(Command::Record {
            output,
            force,
            select,
            trace,
            fleet,
        }) => {
            let fleet = fleet.after(&cli.fleet);
            let fleet_hosts = fleet_hosts(&fleet)?;
            let filter = parse_filter(&select)?;
            let options = probe_options(&trace, &filter, model::host::HostId::LOCAL);
            let header = recording::session_header(filter.text(), options.capture != 0)?;
            let mut recording = headless::output::Recording::create(&output, force, &header)?;
            let settings = headless::Settings {
                duration: trace.duration,
                stats_file: trace.stats_file.clone(),
                // Nobody waits on a recording: symbols get time to resolve even on a busy
                // machine; batches queue meanwhile (bounded).
                symbol_wait: Duration::from_secs(5),
                mode: "record",
                controls: None,
                host: model::host::HostId::LOCAL,
            };
            let result = match fleet_hosts {
                Some(hosts) => {
                    let run = fleet_run(&fleet, &select, &trace)?;
                    runtime.block_on(fleet::run_headless(hosts, run, &mut recording))
                }
                None => runtime.block_on(headless::run(options, filter, settings, &mut recording)),
            };
            // Closed whole even when the run failed early, so the file replays.
            use headless::output::Output as _;
            recording.finish(std::collections::BTreeMap::new())?;
            eprintln!(
                "ringside: recorded {} events to {}",
                recording.written(),
                output.display()
            );
            result
        }
        Some(Command::Stream {
            select,
            trace,
            label,
        }) => {
            let filter = parse_filter(&select)?;
            let host = label
                .as_deref()
                .map_or(model::host::HostId::LOCAL, model::host::HostId::intern);
            let options = probe_options(&trace, &filter, host);
            runtime.block_on(fleet::remote::run(options, filter, trace.duration, host))
        }
        Some(Command::Completions { .. } | Command::Manpages { .. }) => Ok(()),
        None if let Some(hosts) = fleet_hosts(&cli.fleet)? => {
            if exports(&cli.show)?.any() {
                anyhow::bail!(
                    "the stack exports take one machine's events; --host is for the TUI, --json and record"
                );
            }
            // Checked here, not on each host: a bad filter is the same mistake everywhere.
            let filter = parse_filter(&cli.select)?;
            let run = fleet_run(&cli.fleet, &cli.select, &cli.trace)?;
            let (beside_tui, headless_export) = otlp_split(&cli.otlp)?;
            if let Some(exporter) = headless_export {
                let mut exporting = otlp::output::OtlpOutput::new(exporter);
                // Each event keeps its host (`host.name` on its record).
                if cli.show.json {
                    let mut json = headless::output::Ndjson::new();
                    let mut both = headless::output::Both(&mut json, &mut exporting);
                    runtime.block_on(fleet::run_headless(hosts, run, &mut both))
                } else {
                    runtime.block_on(fleet::run_headless(hosts, run, &mut exporting))
                }
            } else if cli.show.json {
                let mut output = headless::output::Ndjson::new();
                runtime.block_on(fleet::run_headless(hosts, run, &mut output))
            } else {
                let max_events = usize::try_from(cli.show.max_events).unwrap_or(usize::MAX);
                runtime.block_on(async {
                    let view = fleet::FleetView::start(hosts, &run);
                    interactive::run_fleet(view, filter, max_events, beside_tui).await
                })
            }
        }
        None => run_live(
            &cli.select,
            &cli.trace,
            &cli.show,
            &cli.otlp,
            cli.symbol_wait,
            &runtime,
        ),
    }
}

/// `ringside` without a subcommand: the TUI, `--json` or a stack export, live.
fn run_live(
    select: &SelectArgs,
    trace: &TraceArgs,
    show: &ShowArgs,
    otlp: &OtlpArgs,
    symbol_wait_ms: u64,
    runtime: &tokio::runtime::Runtime,
) -> anyhow::Result<()> {
    let filter = parse_filter(select)?;
    let exports = exports(show)?;
    let options = probe_options(trace, &filter, model::host::HostId::LOCAL);
    let settings = |mode, symbol_wait| headless::Settings {
        duration: trace.duration,
        stats_file: trace.stats_file.clone(),
        symbol_wait,
        mode,
        controls: None,
        host: model::host::HostId::LOCAL,
    };
    let (beside_tui, headless_export) = otlp_split(otlp)?;
    if let Some(exporter) = headless_export {
        let mut exporting = otlp::output::OtlpOutput::new(exporter);
        if exports.any() {
            anyhow::bail!(
                "--otlp and the stack exports (--folded, --flamegraph, --pprof) cannot run at once: choose one"
            );
        }
        if show.json {
            let settings = settings("json", Duration::from_millis(symbol_wait_ms));
            let mut json = headless::output::Ndjson::new();
            let mut both = headless::output::Both(&mut json, &mut exporting);
            return runtime.block_on(headless::run(options, filter, settings, &mut both));
        }
        // Nobody watches: symbols get time to resolve, as for a recording.
        let settings = settings("otlp", Duration::from_secs(2));
        return runtime.block_on(headless::run(options, filter, settings, &mut exporting));
    }
    if exports.any() {
        // The exports are about stacks: give symbols time to resolve.
        let settings = settings("export", Duration::from_secs(5));
        let mut output = export::StackExport::new(exports);
        runtime.block_on(headless::run(options, filter, settings, &mut output))
    } else if show.json {
        let settings = settings("json", Duration::from_millis(symbol_wait_ms));
        let mut output = headless::output::Ndjson::new();
        runtime.block_on(headless::run(options, filter, settings, &mut output))
    } else {
        let max_events = usize::try_from(show.max_events).unwrap_or(usize::MAX);
        runtime.block_on(interactive::run(
            options,
            filter,
            max_events,
            trace.stats_file.clone(),
            beside_tui,
        ))
    }
}

/// `--otlp`'s exporter: beside the TUI (`--tui`), or for a headless run.
type ExporterFor = (Option<otlp::Exporter>, Option<otlp::Exporter>);

fn otlp_split(args: &OtlpArgs) -> anyhow::Result<ExporterFor> {
    let exporter = otlp_exporter(args)?;
    Ok(if args.tui {
        (exporter, None)
    } else {
        (None, exporter)
    })
}

/// `--otlp`: the exporter, started (a collector that is down is not an error: it queues and
/// retries); `None` without the flag.
fn otlp_exporter(args: &OtlpArgs) -> anyhow::Result<Option<otlp::Exporter>> {
    let Some(flags) = args.flags() else {
        return Ok(None);
    };
    let config = otlp::config::OtlpConfig::resolve(&flags, &|name| std::env::var(name).ok())
        .map_err(|error| anyhow::anyhow!("--otlp: {error}"))?;
    for warning in &config.warnings {
        eprintln!("ringside: warning: {warning}");
    }
    Ok(Some(otlp::Exporter::start(&config)?))
}

/// The hosts of `--host` and `--hosts-file`; `None` without either (this machine alone).
fn fleet_hosts(args: &FleetArgs) -> anyhow::Result<Option<Vec<fleet::HostSpec>>> {
    let mut hosts = args.hosts.clone();
    if let Some(file) = &args.hosts_file {
        hosts.extend(fleet::hosts::read_hosts_file(file)?);
        if hosts.is_empty() {
            anyhow::bail!("--hosts-file names no host: give one [LABEL=]DESTINATION a line");
        }
    }
    let mut labels = std::collections::BTreeSet::new();
    if let Some(twice) = hosts
        .iter()
        .find(|host| !labels.insert(host.label.as_str()))
    {
        anyhow::bail!(
            "the host label `{}` is given twice: each host needs its own, e.g. --host {}2={}",
            twice.label,
            twice.label,
            twice.destination
        );
    }
    if hosts.is_empty() && args.install {
        anyhow::bail!(
            "--install copies ringside to the hosts of --host or --hosts-file: name at least one"
        );
    }
    Ok((!hosts.is_empty()).then_some(hosts))
}

/// What every remote `ringside stream` is asked to trace, and how they are reached.
fn fleet_run(
    args: &FleetArgs,
    select: &SelectArgs,
    trace: &TraceArgs,
) -> anyhow::Result<fleet::FleetRun> {
    let mut stream_args = trace.to_args();
    if let Some(filter) = &select.filter {
        stream_args.extend(["--filter".to_owned(), filter.clone()]);
    }
    let install = if args.install {
        Some(fleet::Installer::for_this_binary()?)
    } else {
        None
    };
    Ok(fleet::FleetRun {
        ssh: fleet::SshOptions {
            config: args.ssh_config.clone(),
            options: args.ssh_option.clone(),
            remote_path: args.remote_path.clone(),
        },
        stream_args,
        duration: trace.duration,
        max_delay: Duration::from_millis(trace.max_delay),
        install,
    })
}

fn parse_filter(select: &SelectArgs) -> anyhow::Result<Filter> {
    match &select.filter {
        Some(text) => Filter::parse(text).map_err(|error| {
            anyhow::anyhow!("--filter: {error}; see `ringside --help` for the syntax")
        }),
        None => Ok(Filter::match_all()),
    }
}

fn exports(show: &ShowArgs) -> anyhow::Result<export::Exports> {
    let exports = export::Exports {
        folded: show.folded,
        flamegraph: show.flamegraph.clone(),
        pprof: show.pprof.clone(),
    };
    if exports.any() && show.json {
        anyhow::bail!(
            "--json and the stack exports (--folded, --flamegraph, --pprof) both write stdout: choose one"
        );
    }
    Ok(exports)
}

/// `--cgroup`, `--unit` and `--container`: a process in any of them is traced.
fn cgroup_flags(trace: &TraceArgs) -> Vec<CgroupMatch> {
    let flag = |field, values: &[String]| {
        values
            .iter()
            .map(move |value| CgroupMatch::exact(field, value))
            .collect::<Vec<_>>()
    };
    [
        flag(CgroupField::Path, &trace.cgroup),
        flag(CgroupField::Unit, &trace.unit),
        flag(CgroupField::Container, &trace.container),
    ]
    .concat()
}

/// What the probes capture: the command-line filters and the expression's kernel part both
/// narrow them.
fn probe_options(trace: &TraceArgs, filter: &Filter, host: model::host::HostId) -> ProbeOptions {
    let events: BTreeSet<EventKind> = if trace.events.is_empty() {
        EventKind::ALL.into_iter().collect()
    } else {
        trace.events.iter().copied().collect()
    };
    let mut kernel = KernelFilter {
        pids: trace.pid.clone(),
        tree: trace.tree,
        comms: trace.comm.clone(),
        nets: Vec::new(),
        cgroups: cgroup_flags(trace),
    };
    kernel.narrow_by(KernelFilter::from(filter.kernel_part_on(host)));
    ProbeOptions {
        ring_size: trace.ring_size,
        events,
        capture: trace.capture(),
        stack_bytes: trace.stack_copy_bytes(),
        filter: kernel,
        max_delay: Duration::from_millis(trace.max_delay),
    }
}
