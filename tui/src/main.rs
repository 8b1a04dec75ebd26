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
mod export;
mod filter;
mod headless;
mod heap;
mod ingest;
mod interactive;
mod key_recording;
mod logging;
mod model;
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

use clap::Parser as _;

use crate::cli::{Cli, Command};
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
    let cli = Cli::parse();
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
    let filter = match &cli.filter {
        Some(text) => Filter::parse(text).map_err(|error| {
            anyhow::anyhow!("--filter: {error}; see `ringside --help` for the syntax")
        })?,
        None => Filter::match_all(),
    };
    let max_events = usize::try_from(cli.max_events).unwrap_or(usize::MAX);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    let exports = export::Exports {
        folded: cli.folded,
        flamegraph: cli.flamegraph.clone(),
        pprof: cli.pprof.clone(),
    };
    if exports.any() && cli.json {
        anyhow::bail!(
            "--json and the stack exports (--folded, --flamegraph, --pprof) both write stdout: choose one"
        );
    }
    if let Some(Command::Replay { file }) = &cli.command {
        return if exports.any() {
            replay::to_output(file, &filter, &mut export::StackExport::new(exports))
        } else if cli.json {
            replay::to_json(file, &filter)
        } else {
            runtime.block_on(interactive::run_replay(file.clone(), filter, max_events))
        };
    }
    let options = probe_options(&cli, &filter);
    match &cli.command {
        Some(Command::Record { output, force }) => {
            let header = recording::session_header(filter.text(), options.capture != 0)?;
            let mut recording = headless::output::Recording::create(output, *force, &header)?;
            let settings = headless::Settings {
                duration: cli.duration,
                stats_file: cli.stats_file.clone(),
                // Nobody waits on a recording: symbols get time to resolve even on a busy
                // machine; batches queue meanwhile (bounded).
                symbol_wait: Duration::from_secs(5),
                mode: "record",
            };
            let result = runtime.block_on(headless::run(options, filter, settings, &mut recording));
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
        _ if exports.any() => {
            let settings = headless::Settings {
                duration: cli.duration,
                stats_file: cli.stats_file.clone(),
                // The exports are about stacks: give symbols time to resolve.
                symbol_wait: Duration::from_secs(5),
                mode: "export",
            };
            let mut output = export::StackExport::new(exports);
            runtime.block_on(headless::run(options, filter, settings, &mut output))
        }
        _ if cli.json => {
            let settings = headless::Settings {
                duration: cli.duration,
                stats_file: cli.stats_file.clone(),
                symbol_wait: Duration::from_millis(cli.symbol_wait),
                mode: "json",
            };
            let mut output = headless::output::Ndjson::new();
            runtime.block_on(headless::run(options, filter, settings, &mut output))
        }
        _ => runtime.block_on(interactive::run(
            options,
            filter,
            max_events,
            cli.stats_file.clone(),
        )),
    }
}

/// `--cgroup`, `--unit` and `--container`: a process in any of them is traced.
fn cgroup_flags(cli: &Cli) -> Vec<CgroupMatch> {
    let flag = |field, values: &[String]| {
        values
            .iter()
            .map(move |value| CgroupMatch::exact(field, value))
            .collect::<Vec<_>>()
    };
    [
        flag(CgroupField::Path, &cli.cgroup),
        flag(CgroupField::Unit, &cli.unit),
        flag(CgroupField::Container, &cli.container),
    ]
    .concat()
}

/// What the probes capture: the command-line filters and the expression's kernel part both
/// narrow them.
fn probe_options(cli: &Cli, filter: &Filter) -> ProbeOptions {
    let events: BTreeSet<EventKind> = if cli.events.is_empty() {
        EventKind::ALL.into_iter().collect()
    } else {
        cli.events.iter().copied().collect()
    };
    let mut kernel = KernelFilter {
        pids: cli.pid.clone(),
        tree: cli.tree,
        comms: cli.comm.clone(),
        nets: Vec::new(),
        cgroups: cgroup_flags(cli),
    };
    kernel.narrow_by(KernelFilter::from(filter.kernel_part()));
    ProbeOptions {
        ring_size: cli.ring_size,
        events,
        capture: cli.capture(),
        stack_bytes: cli.stack_copy_bytes(),
        filter: kernel,
        max_delay: Duration::from_millis(cli.max_delay),
    }
}
