//! Many servers in one view (`--host`): each runs `ringside stream` over ssh, and their events
//! come here, each with its host, merged by time.
//!
//! Nothing is installed or listened on: OpenSSH carries the stream, and a remote runs only
//! while its ssh session does. One host failing never stops the others.

pub mod hosts;
mod install;
mod link;
mod merge;
pub mod remote;
mod ssh;
mod view;
pub mod wire;

use std::collections::BTreeMap;
use std::time::Duration;

pub use self::hosts::HostSpec;
pub use self::install::Installer;
pub use self::link::HostState;
pub use self::ssh::SshOptions;
pub use self::view::{FleetView, HostLine};
use anyhow::Context as _;

use crate::headless::output::Output;
use crate::live_run::StopSignals;

/// What a fleet run needs besides its hosts.
pub struct FleetRun {
    pub ssh: SshOptions,
    /// The arguments after `ringside stream`: what to trace and the filter.
    pub stream_args: Vec<String>,
    pub duration: Option<Duration>,
    /// The remotes' `--max-delay`: how long events are held to be merged in order.
    pub max_delay: Duration,
    /// `--install`: this binary, copied to each host and run there.
    pub install: Option<Installer>,
}

/// The headless fleet view: `--json` or `record`, every host's events to `output`, each
/// host's changes of state on stderr.
pub async fn run_headless(
    hosts: Vec<HostSpec>,
    run: FleetRun,
    output: &mut dyn Output,
) -> anyhow::Result<()> {
    let mut signals = StopSignals::catch()?;
    let count = hosts.len();
    let mut view = FleetView::start(hosts, &run);
    let mut batches = view
        .take_batches()
        .context("the fleet's batches were already taken")?;
    eprintln!("ringside: watching {count} hosts");
    let mut hosts = view.hosts.clone();
    let mut shown = hosts.borrow().clone();
    let deadline = tokio::time::sleep(run.duration.unwrap_or(Duration::MAX));
    tokio::pin!(deadline);
    loop {
        tokio::select! {
            biased;
            () = signals.next() => break,
            () = &mut deadline, if run.duration.is_some() => break,
            Ok(()) = hosts.changed() => {
                let now = hosts.borrow_and_update().clone();
                tell_changes(&shown, &now);
                shown = now;
            }
            batch = batches.recv() => match batch {
                Some(batch) => if !write_all(output, batch.events)? { break },
                None => break,
            },
        }
    }
    // Every remote detaches and sends what its kernel still held; then the last events out.
    let stopping = view.stop();
    while let Some(batch) = batches.recv().await {
        if !write_all(output, batch.events)? {
            break;
        }
    }
    // Nobody takes more (the output is gone): the hosts must not wait on a full channel.
    drop(batches);
    let _ = stopping.await;
    let last = view.hosts.borrow().clone();
    view.finished().await;
    tell_changes(&shown, &last);
    output.finish(total_drops(&last))?;
    summarize(&last)
}

/// Starts a host's remote side: ssh, or for this machine ringside itself.
fn connector(spec: &HostSpec, run: &FleetRun) -> link::Connect {
    let spec = spec.clone();
    let ssh = run.ssh.clone();
    let installer = run.install.clone();
    let mut args = run.stream_args.clone();
    args.extend(["--label".to_owned(), spec.label.clone()]);
    if spec.is_local() {
        return Box::new(move || {
            let exe = std::env::current_exe().unwrap_or_else(|_| "ringside".into());
            let mut command = std::process::Command::new(exe);
            // Its own process group: a Ctrl-C meant for the viewer must not kill it before
            // the viewer has asked it to stop.
            std::os::unix::process::CommandExt::process_group(&mut command, 0);
            command
                .arg("stream")
                .args(&args)
                .stdin(std::process::Stdio::piped())
                .stdout(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped());
            Ok(link::Launch {
                command,
                note: None,
            })
        });
    }
    Box::new(move || {
        let Some(installer) = &installer else {
            let command = ssh.stream(&spec, &ssh.remote_path, &args);
            return Ok(link::Launch {
                command,
                note: None,
            });
        };
        // At every connection: a host that was reinstalled meanwhile gets its copy again.
        let installed = installer.install(&ssh, &spec)?;
        Ok(link::Launch {
            command: ssh.stream(&spec, &installed.path, &args),
            note: Some(install::describe(&installed)),
        })
    })
}

/// Says on stderr what changed for each host: up, down and why, a clock off, a warning.
fn tell_changes(before: &[HostLine], now: &[HostLine]) {
    for (old, new) in before.iter().zip(now) {
        if old.state != new.state {
            match &new.state {
                HostState::Connecting => {}
                HostState::Live => eprintln!("ringside: host {}: live", new.label),
                HostState::Retrying { reason, retry } => eprintln!(
                    "ringside: host {}: failed: {reason}; retrying in {} s",
                    new.label,
                    retry.as_secs()
                ),
                HostState::Refused(reason) => {
                    eprintln!("ringside: host {}: failed: {reason}", new.label);
                }
            }
        }
        if new.skewed() && new.skew_ms != old.skew_ms {
            eprintln!(
                "ringside: host {}: its clock is {:.1} s {} this one's: events are merged by their \
                 own times",
                new.label,
                new.skew_ms.unsigned_abs() as f64 / 1000.0,
                if new.skew_ms > 0 {
                    "ahead of"
                } else {
                    "behind"
                }
            );
        }
        for (old, new_text) in [(&old.warning, &new.warning), (&old.note, &new.note)] {
            if old != new_text
                && let Some(text) = new_text
            {
                eprintln!("ringside: host {}: {text}", new.label);
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

fn total_drops(hosts: &[HostLine]) -> BTreeMap<String, u64> {
    let mut total = BTreeMap::new();
    for host in hosts {
        for (kind, n) in &host.drops {
            *total.entry(kind.clone()).or_default() += n;
        }
    }
    total
}

/// One line per host on stderr; an error when a host never came up.
fn summarize(hosts: &[HostLine]) -> anyhow::Result<()> {
    let mut never = Vec::new();
    for host in hosts {
        let dropped = host.dropped();
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
