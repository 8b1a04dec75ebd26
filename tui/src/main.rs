//! ringside: what a Linux server is doing right now, and the code that made it happen.
#![deny(unsafe_code)]

mod app;
mod cli;
mod clock;
mod filter;
mod headless;
mod ingest;
mod interactive;
mod logging;
mod model;
mod output;
mod probes;
mod procfs;
mod runstats;
mod symbolize;
mod terminal;
mod ui;

use std::collections::BTreeSet;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser as _;

use crate::cli::Cli;
use crate::filter::Filter;
use crate::model::EventKind;
use crate::probes::{KernelFilter, ProbeOptions};

fn main() -> ExitCode {
    let cli = Cli::parse();
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
    let events: BTreeSet<EventKind> = if cli.events.is_empty() {
        EventKind::ALL.into_iter().collect()
    } else {
        cli.events.iter().copied().collect()
    };
    // The command-line filters and the expression's kernel part both narrow the probes.
    let mut kernel = KernelFilter {
        pids: cli.pid.clone(),
        tree: cli.tree,
        comms: cli.comm.clone(),
    };
    kernel.narrow_by(KernelFilter::from(filter.kernel_part()));
    let options = ProbeOptions {
        ring_size: cli.ring_size,
        events,
        capture: cli.capture(),
        filter: kernel,
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    if cli.json {
        let settings = headless::Settings {
            duration: cli.duration,
            stats_file: cli.stats_file,
            symbol_wait: Duration::from_millis(100),
            mode: "json",
        };
        let mut output = headless::output::Ndjson::new();
        runtime.block_on(headless::run(options, filter, settings, &mut output))
    } else {
        let max_events = usize::try_from(cli.max_events).unwrap_or(usize::MAX);
        runtime.block_on(interactive::run(
            options,
            filter,
            max_events,
            cli.stats_file,
        ))
    }
}
