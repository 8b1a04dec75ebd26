//! ringside: what a Linux server is doing right now, and the code that made it happen.
#![deny(unsafe_code)]

mod cli;
mod clock;
mod headless;
mod ingest;
mod logging;
mod model;
mod output;
mod probes;
mod procfs;
mod symbolize;

use std::collections::BTreeSet;
use std::process::ExitCode;

use clap::Parser as _;

use crate::cli::Cli;
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
    if !cli.json {
        anyhow::bail!(
            "the interactive TUI is not part of this build yet; use --json for the event stream"
        );
    }
    let events: BTreeSet<EventKind> = if cli.events.is_empty() {
        EventKind::ALL.into_iter().collect()
    } else {
        cli.events.iter().copied().collect()
    };
    let options = ProbeOptions {
        ring_size: cli.ring_size,
        events,
        capture: cli.capture(),
        filter: KernelFilter {
            pids: cli.pid.clone(),
            tree: cli.tree,
            comms: cli.comm.clone(),
        },
    };
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    runtime.block_on(headless::run(options, cli.duration))
}
