//! Many servers in one view (`--host`): each runs `ringside stream` over ssh, and their events
//! come here, each with its host, merged by time.
//!
//! Nothing is installed or listened on: OpenSSH carries the stream, and a remote runs only
//! while its ssh session does. One host failing never stops the others.

pub mod hosts;
mod link;
mod merge;
pub mod remote;
mod ssh;
pub mod wire;

use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};

use tokio::sync::mpsc;

pub use self::hosts::HostSpec;
use self::link::{HostState, Link, Report};
use self::merge::Merger;
pub use self::ssh::SshOptions;
use crate::headless::output::Output;
use crate::live_run::StopSignals;
use crate::model::host::HostId;

/// A host's clock this far from the viewer's is flagged: its events' order against the others'
/// cannot be trusted.
const SKEW_WARNING_MS: i64 = 1_000;
/// How long the remotes get to detach their probes and send their last events at the end.
const STOP_PATIENCE: Duration = Duration::from_secs(10);

/// What a fleet run needs besides its hosts.
pub struct FleetRun {
    pub ssh: SshOptions,
    /// The arguments after `ringside stream`: what to trace and the filter.
    pub stream_args: Vec<String>,
    pub duration: Option<Duration>,
    /// The remotes' `--max-delay`: how long events are held to be merged in order.
    pub max_delay: Duration,
}

/// What the viewer knows of one host.
struct HostStatus {
    label: String,
    state: HostState,
    came_up: bool,
    delivered: u64,
    drops: BTreeMap<String, u64>,
}

/// The headless fleet view: `--json` or `record`, every host's events to `output`.
pub async fn run_headless(
    hosts: Vec<HostSpec>,
    run: FleetRun,
    output: &mut dyn Output,
) -> anyhow::Result<()> {
    let mut signals = StopSignals::catch()?;
    let (reports_tx, mut reports) = mpsc::channel::<Report>(256);
    let mut status: BTreeMap<HostId, HostStatus> = BTreeMap::new();
    let mut links = Vec::new();
    for spec in hosts {
        let host = HostId::intern(&spec.label);
        status.insert(
            host,
            HostStatus {
                label: spec.label.clone(),
                state: HostState::Connecting,
                came_up: false,
                delivered: 0,
                drops: BTreeMap::new(),
            },
        );
        let connect = connector(&spec, &run);
        links.push(Link::start(host, spec.label, connect, reports_tx.clone()));
    }
    drop(reports_tx);
    eprintln!("ringside: watching {} hosts", links.len());

    let mut merger = Merger::new(run.max_delay + Duration::from_millis(50));
    let deadline = tokio::time::sleep(run.duration.unwrap_or(Duration::MAX));
    tokio::pin!(deadline);
    let mut release = tokio::time::interval(run.max_delay.max(Duration::from_millis(5)));
    let mut open = true;
    while open {
        tokio::select! {
            biased;
            () = signals.next() => break,
            () = &mut deadline, if run.duration.is_some() => break,
            _ = release.tick() => {
                if !write_all(output, merger.ready(SystemTime::now()))? {
                    open = false;
                }
            }
            report = reports.recv() => match report {
                Some(report) => note(report, &mut status, &mut merger),
                None => open = false,
            },
        }
    }
    // Every remote detaches and sends what its kernel still held; then the last events out.
    let stopping = tokio::task::spawn_blocking(move || {
        for link in links {
            link.stop(STOP_PATIENCE);
        }
    });
    while let Some(report) = reports.recv().await {
        note(report, &mut status, &mut merger);
    }
    let _ = stopping.await;
    write_all(output, merger.rest())?;
    output.finish(total_drops(&status))?;
    summarize(&status)
}

/// Starts a host's remote side: ssh, or for this machine ringside itself.
fn connector(spec: &HostSpec, run: &FleetRun) -> link::Connect {
    let spec = spec.clone();
    let ssh = run.ssh.clone();
    let args = run.stream_args.clone();
    if spec.is_local() {
        return Box::new(move || {
            let exe = std::env::current_exe().unwrap_or_else(|_| "ringside".into());
            let mut command = std::process::Command::new(exe);
            command
                .arg("stream")
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            command
        });
    }
    Box::new(move || ssh.command(&spec, &args))
}

/// Takes in what a host's thread reports; state changes go to stderr as they happen.
fn note(report: Report, status: &mut BTreeMap<HostId, HostStatus>, merger: &mut Merger) {
    match report {
        Report::Events(host, events) => {
            if let Some(host) = status.get_mut(&host) {
                host.delivered += events.len() as u64;
            }
            merger.push(events);
        }
        Report::Drops(host, drops) => {
            if let Some(host) = status.get_mut(&host) {
                host.drops = drops;
            }
        }
        Report::State(host, state) => {
            let Some(host) = status.get_mut(&host) else {
                return;
            };
            host.came_up |= state == HostState::Live;
            match &state {
                HostState::Connecting => {}
                HostState::Live => eprintln!("ringside: host {}: live", host.label),
                HostState::Retrying { reason, retry } => eprintln!(
                    "ringside: host {}: failed: {reason}; retrying in {} s",
                    host.label,
                    retry.as_secs()
                ),
                HostState::Refused(reason) => {
                    eprintln!("ringside: host {}: failed: {reason}", host.label);
                }
            }
            host.state = state;
        }
        Report::ClockSkew(host, skew_ms) => {
            if skew_ms.abs() > SKEW_WARNING_MS
                && let Some(host) = status.get(&host)
            {
                eprintln!(
                    "ringside: host {}: its clock is {:.1} s {} this one's: events are merged by \
                     their own times",
                    host.label,
                    skew_ms.unsigned_abs() as f64 / 1000.0,
                    if skew_ms > 0 { "ahead of" } else { "behind" }
                );
            }
        }
        Report::Warning(host, text) => {
            if let Some(host) = status.get(&host) {
                eprintln!("ringside: host {}: {text}", host.label);
            }
        }
    }
}

/// `false` once the output is gone.
fn write_all(output: &mut dyn Output, events: Vec<crate::model::Event>) -> anyhow::Result<bool> {
    if events.is_empty() {
        return Ok(true);
    }
    for event in &events {
        if !output.write(event)? {
            return Ok(false);
        }
    }
    output.flush()
}

fn total_drops(status: &BTreeMap<HostId, HostStatus>) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for host in status.values() {
        for (kind, n) in &host.drops {
            *total.entry(kind.clone()).or_default() += n;
        }
    }
    total
}

/// One line per host on stderr; an error when a host never came up.
fn summarize(status: &BTreeMap<HostId, HostStatus>) -> anyhow::Result<()> {
    let mut never = Vec::new();
    for host in status.values() {
        let dropped: u64 = host.drops.values().sum();
        eprintln!(
            "ringside: host {} delivered={} dropped={dropped}",
            host.label, host.delivered
        );
        if !host.came_up {
            let why = match &host.state {
                HostState::Retrying { reason, .. } | HostState::Refused(reason) => reason.clone(),
                HostState::Connecting | HostState::Live => "it did not answer in time".into(),
            };
            never.push(format!("{} ({why})", host.label));
        }
    }
    if never.is_empty() {
        Ok(())
    } else {
        anyhow::bail!("never came up: {}", never.join("; "))
    }
}
