//! The fleet view (`--host`) with 1, 4 and 8 hosts: each host a private sshd on 127.0.0.1
//! whose remote ringside traces only its own open storm (a `host=` filter narrows each
//! remote's kernel), all merged by one viewer. Measured: the viewer's CPU per merged event,
//! the stream's bytes per event, the remotes' CPU per event beside a local `--json`'s on
//! the same storm, and the latency from the kernel's timestamp to the viewer's stdout.
//!
//! Pinned apart: the loads on CPU 0; the viewer, ssh, sshd and the remotes on CPU 1.

#[path = "../../../tui/tests/support/sshd.rs"]
mod sshd;

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::thread;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::json;

use self::sshd::Sshd;
use super::procs::{Load, Output, PinnedApart, Ringside, all_pids, cpu_ns, paced_opens};
use super::stats::percentile;
use super::{Bench, Check, Section, Status, Table, human_ns, human_rate};

/// Events per second from all loads together, whatever the number of hosts.
const TOTAL_RATE: f64 = 20_000.0;
/// The remotes' `--max-delay`, ringside's default.
const MAX_DELAY_MS: u64 = 10;
const PINNED: PinnedApart = PinnedApart::CPUS_0_1;

/// One configuration's figures.
struct Measured {
    hosts: usize,
    stacks: bool,
    events: u64,
    viewer_cpu_per_event: f64,
    remote_cpu_per_event: f64,
    wire_bytes_per_event: f64,
    latency_ns: Vec<i64>,
}

/// What the reader takes of a line of the viewer's stdout.
#[derive(Deserialize)]
struct Line {
    host: Option<String>,
    time: Option<String>,
}

pub fn run(bench: &Bench) -> Result<Section> {
    let host_counts: &[usize] = if bench.quick { &[1, 4] } else { &[1, 4, 8] };
    let mut runs = Vec::new();
    for &hosts in host_counts {
        runs.push(measure(bench, hosts, true)?);
    }
    runs.push(measure(bench, 1, false)?);
    let json_cpu = local_json_cpu(bench, true)?;
    let json_cpu_bare = local_json_cpu(bench, false)?;

    let mut table = Table::new(
        format!(
            "Fleet: open storms at {} in all, each host's own (pinned apart: loads on CPU {}, \
             the rest on CPU {})",
            human_rate(TOTAL_RATE),
            PINNED.load,
            PINNED.tracer
        ),
        vec![
            "hosts",
            "stacks",
            "events",
            "viewer CPU/event",
            "remote CPU/event",
            "--json CPU/event",
            "stream B/event",
            "latency p50",
            "p99",
        ],
    );
    let mut checks = Vec::new();
    let mut json_runs = Vec::new();
    let latency_target_ns = (2 * MAX_DELAY_MS + 50) as f64 * 1e6;
    for run in &mut runs {
        let p50 = percentile(&mut run.latency_ns, 0.50);
        let p99 = percentile(&mut run.latency_ns, 0.99);
        let json = if run.stacks { json_cpu } else { json_cpu_bare };
        let show = |v: Option<i64>| v.map_or("n/a".to_owned(), |ns| human_ns(ns as f64));
        table.row(vec![
            run.hosts.to_string(),
            (if run.stacks { "user+kernel" } else { "none" }).to_owned(),
            run.events.to_string(),
            human_ns(run.viewer_cpu_per_event),
            human_ns(run.remote_cpu_per_event),
            human_ns(json),
            format!("{:.0}", run.wire_bytes_per_event),
            show(p50),
            show(p99),
        ]);
        json_runs.push(json!({
            "hosts": run.hosts,
            "stacks": run.stacks,
            "events": run.events,
            "viewer_cpu_ns_per_event": run.viewer_cpu_per_event,
            "remote_cpu_ns_per_event": run.remote_cpu_per_event,
            "json_cpu_ns_per_event": json,
            "stream_bytes_per_event": run.wire_bytes_per_event,
            "latency_ns": { "p50": p50, "p99": p99 },
        }));
        let label = format!(
            "{} host{}{}",
            run.hosts,
            if run.hosts == 1 { "" } else { "s" },
            if run.stacks { "" } else { ", no stacks" }
        );
        checks.push(Check {
            what: format!("fleet viewer CPU per merged event, {label}"),
            target: "≤ 2 µs".into(),
            value: human_ns(run.viewer_cpu_per_event),
            status: Status::of(run.viewer_cpu_per_event <= 2_000.0),
        });
        checks.push(Check {
            what: format!("fleet remote CPU per event vs --json, {label}"),
            target: format!("≤ {}", human_ns(json)),
            value: human_ns(run.remote_cpu_per_event),
            status: Status::of(run.remote_cpu_per_event <= json),
        });
        checks.push(Check {
            what: format!("fleet latency p99, {label}"),
            target: format!("≤ {}", human_ns(latency_target_ns)),
            value: show(p99),
            status: Status::of(p99.is_some_and(|p99| p99 as f64 <= latency_target_ns)),
        });
    }
    Ok(Section {
        tables: vec![table],
        notes: vec![
            "viewer CPU/event: the viewer's CPU time (its threads; ssh not included) over the \
             events it wrote. remote CPU/event: the remote ringsides' CPU over the events they \
             sent, beside a local `ringside --json` on one storm at the same total rate. stream \
             B/event: what the remotes wrote to ssh (compressed frames, before ssh's \
             encryption). latency: the bench's clock when it reads a line of the viewer's \
             stdout, minus the event's time."
                .to_owned(),
        ],
        checks,
        json: json!({
            "total_rate_per_s": TOTAL_RATE,
            "max_delay_ms": MAX_DELAY_MS,
            "runs": json_runs,
        }),
    })
}

fn seconds(bench: &Bench) -> f64 {
    if bench.quick { 2.0 } else { 4.0 }
}

/// `hosts` sshds, a storm each, one viewer over them all.
fn measure(bench: &Bench, hosts: usize, stacks: bool) -> Result<Measured> {
    bench.progress(&format!(
        "fleet: {hosts} hosts, {}",
        if stacks { "stacks" } else { "no stacks" }
    ));
    let dir = tempfile::Builder::new()
        .prefix("ringside-bench-fleet-")
        .tempdir()?;
    let daemons: Vec<Sshd> = (0..hosts).map(|_| Sshd::start()).collect();
    let config = sshd::client_config(dir.path(), &daemons.iter().collect::<Vec<_>>());
    let remote = remote_wrapper(bench, dir.path())?;
    let per_load = TOTAL_RATE / hosts as f64;
    let ops = (per_load * seconds(bench)) as u64;
    let mut loads = Vec::new();
    for _ in 0..hosts {
        let args = paced_opens(ops, per_load);
        loads.push(Load::spawn_on(bench, &args, Some(PINNED.load))?);
    }
    let labels: Vec<String> = (1..=hosts).map(|n| format!("h{n}")).collect();
    let filter = labels
        .iter()
        .zip(&loads)
        .map(|(label, load)| format!("host={label} and pid={}", load.pid()))
        .collect::<Vec<_>>()
        .join(" or ");
    let mut args: Vec<String> = vec![
        "--ssh-config".into(),
        path(&config),
        "--remote-path".into(),
        path(&remote),
        "--events".into(),
        "open".into(),
        "--max-delay".into(),
        MAX_DELAY_MS.to_string(),
        "--filter".into(),
        filter,
    ];
    if !stacks {
        args.extend(["--stacks".into(), "none".into()]);
    }
    for (label, daemon) in labels.iter().zip(&daemons) {
        args.push(format!("--host={label}={}", daemon.destination()));
    }
    let mut viewer = Ringside::start_until(
        bench,
        &args,
        Output::Piped,
        Some(PINNED.tracer),
        ": live",
        hosts,
    )?;
    let stdout = viewer.take_stdout().context("the viewer's stdout")?;
    let reader = thread::spawn(move || read_events(stdout));
    let remotes = remote_pids(&labels);
    let viewer_before = cpu_ns(viewer.pid(), None).unwrap_or(0);
    let remote_before: u64 = remotes.iter().filter_map(|&pid| cpu_ns(pid, None)).sum();
    for load in &mut loads {
        load.go()?;
    }
    for load in loads {
        load.finish()?;
    }
    // What the kernels still hold, and the merge's wait, reach the viewer.
    thread::sleep(Duration::from_millis(500));
    let viewer_cpu = cpu_ns(viewer.pid(), None).unwrap_or(0) - viewer_before;
    let remote_cpu = remotes
        .iter()
        .filter_map(|&pid| cpu_ns(pid, None))
        .sum::<u64>()
        .saturating_sub(remote_before);
    viewer.stop()?;
    let (events, latency_ns) = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the viewer's reader panicked"))?;
    let wire_bytes = stream_bytes(dir.path())?;
    if events == 0 {
        bail!("the fleet viewer wrote no event of the storms");
    }
    Ok(Measured {
        hosts,
        stacks,
        events,
        viewer_cpu_per_event: viewer_cpu as f64 / events as f64,
        remote_cpu_per_event: remote_cpu as f64 / events as f64,
        wire_bytes_per_event: wire_bytes as f64 / events as f64,
        latency_ns,
    })
}

/// A local `ringside --json` on one storm at the whole rate: its CPU per event.
fn local_json_cpu(bench: &Bench, stacks: bool) -> Result<f64> {
    bench.progress(&format!(
        "fleet: --json beside, {}",
        if stacks { "stacks" } else { "no stacks" }
    ));
    let ops = (TOTAL_RATE * seconds(bench)) as u64;
    let args = paced_opens(ops, TOTAL_RATE);
    let load = Load::spawn_on(bench, &args, Some(PINNED.load))?;
    let mut ringside_args = vec![
        "--pid".to_owned(),
        load.pid().to_string(),
        "--events".to_owned(),
        "open".to_owned(),
    ];
    if !stacks {
        ringside_args.extend(["--stacks".to_owned(), "none".to_owned()]);
    }
    let ringside = Ringside::start_on(bench, &ringside_args, Output::Null, Some(PINNED.tracer))?;
    // One open event per operation: the CPU per operation is the CPU per event.
    let (_, cpu) = load.run_beside(ringside.pid())?;
    ringside.stop()?;
    cpu.context("ringside's CPU time was not readable")
}

/// The remote ringside as each sshd runs it: on the tracer's CPU, its stream counted on the
/// way to ssh (`dd` says how many bytes went through when the stream ends).
fn remote_wrapper(bench: &Bench, dir: &Path) -> Result<PathBuf> {
    let wrapper = dir.join("remote-ringside");
    fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\ntaskset -c {cpu} {ringside} \"$@\" 3>/dev/null | \
             dd bs=64k 2>{dir}/stream-bytes.$$ \n",
            cpu = PINNED.tracer,
            ringside = bench.ringside.display(),
            dir = dir.display(),
        ),
    )?;
    fs::set_permissions(
        &wrapper,
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )?;
    Ok(wrapper)
}

/// The remote ringsides (`ringside stream`, exec'd by `taskset` in the wrapper) of this run's
/// hosts, by their labels.
fn remote_pids(labels: &[String]) -> Vec<u32> {
    all_pids()
        .into_iter()
        .filter(|pid| {
            let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
                return false;
            };
            let words: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
            let stream = words.get(1).is_some_and(|word| *word == b"stream");
            let ours = words.windows(2).any(|pair| {
                pair[0] == b"--label" && labels.iter().any(|label| label.as_bytes() == pair[1])
            });
            stream && ours
        })
        .collect()
}

/// The bytes the remotes' `dd`s counted.
fn stream_bytes(dir: &Path) -> Result<u64> {
    // dd writes its count when its input ends, just after the viewer stopped.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let mut total = 0;
        let mut pending = false;
        for entry in fs::read_dir(dir)?.flatten() {
            if !entry
                .file_name()
                .to_string_lossy()
                .starts_with("stream-bytes.")
            {
                continue;
            }
            let text = fs::read_to_string(entry.path())?;
            match text
                .lines()
                .find(|line| line.contains("bytes"))
                .and_then(|line| line.split_whitespace().next()?.parse::<u64>().ok())
            {
                Some(bytes) => total += bytes,
                None => pending = true,
            }
        }
        if !pending || Instant::now() > deadline {
            return Ok(total);
        }
        thread::sleep(Duration::from_millis(50));
    }
}

fn path(path: &Path) -> String {
    path.display().to_string()
}

/// Counts the events with a host and measures each one's latency at its reading.
fn read_events(stdout: impl Read) -> (u64, Vec<i64>) {
    let mut events = 0;
    let mut latencies = Vec::new();
    for line in BufReader::with_capacity(1 << 16, stdout).lines() {
        let Ok(line) = line else { break };
        let read_at = SystemTime::now();
        let Ok(event) = serde_json::from_str::<Line>(&line) else {
            continue;
        };
        if event.host.is_none() {
            continue;
        }
        events += 1;
        if let Some(time) = event
            .time
            .and_then(|time| humantime::parse_rfc3339(&time).ok())
        {
            let lag = read_at
                .duration_since(time)
                .map_or(0, |lag| i64::try_from(lag.as_nanos()).unwrap_or(i64::MAX));
            latencies.push(lag);
        }
    }
    (events, latencies)
}
