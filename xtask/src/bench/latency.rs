//! Latency at 10k events/s: from the kernel's timestamp of an event to the moment its line can
//! be read on ringside's stdout (measured here, from outside), and to the moment ringside
//! decoded it (ringside's own `ringside: latency_ns p50=N p99=N` line, when it prints one).

use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::thread;

use anyhow::{Context, Result};

use super::json::{self, Json, obj};
use super::procs::{Load, Output, Ringside};
use super::stats::percentile;
use super::{Bench, Section, Table, clock, human_ns, human_rate};

const RATE: f64 = 10_000.0;

struct Measured {
    label: &'static str,
    achieved_per_s: f64,
    /// Kernel timestamp to line read, in ns, of the load's events.
    to_stdout: Vec<i64>,
    /// ringside's own p50/p99 (kernel timestamp to decoded), if it printed them.
    decoded: Option<(u64, u64)>,
}

fn measure(bench: &Bench, stacks: bool) -> Result<Measured> {
    let label = if stacks {
        "ringside (user+kernel stacks)"
    } else {
        "ringside --stacks none"
    };
    let seconds = if bench.quick { 1.5 } else { 4.0 };
    let ops = (RATE * seconds) as u64;
    bench.progress(&format!(
        "latency, {label}: {ops} opens at {}",
        human_rate(RATE)
    ));
    let args: Vec<OsString> = vec![
        "open".into(),
        ops.to_string().into(),
        "/dev/null".into(),
        "--rate".into(),
        format!("{RATE:.0}").into(),
    ];
    let load = Load::spawn(bench, &args)?;
    let pid = i64::from(load.pid());
    let mut ringside_args = vec!["--pid".to_owned(), pid.to_string()];
    if !stacks {
        ringside_args.extend(["--stacks".to_owned(), "none".to_owned()]);
    }
    let mut ringside = Ringside::start(bench, &ringside_args, Output::Piped)?;
    let stdout = ringside.take_stdout().context("ringside's stdout")?;
    let reader = thread::spawn(move || {
        let mut latencies = Vec::with_capacity(ops as usize);
        for line in BufReader::with_capacity(1 << 16, stdout).lines() {
            let Ok(line) = line else { break };
            let read_at = clock::now_ns();
            if json::int_field(&line, "pid") != Some(pid)
                || json::str_field(&line, "type") != Some("open")
            {
                continue;
            }
            if let Some(time) = json::str_field(&line, "time").and_then(clock::parse_rfc3339_ns) {
                latencies.push(read_at - time);
            }
        }
        latencies
    });
    let result = load.run()?;
    let summary = ringside.stop()?;
    let to_stdout = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
    let decoded = summary
        .get("latency_ns", "p50")
        .zip(summary.get("latency_ns", "p99"));
    Ok(Measured {
        label,
        achieved_per_s: result.ops_per_sec(),
        to_stdout,
        decoded,
    })
}

pub fn run(bench: &Bench) -> Result<Section> {
    let mut table = Table::new(
        format!(
            "Latency at {}: kernel timestamp to event (open storm of the load, pid filter)",
            human_rate(RATE)
        ),
        vec![
            "tracer",
            "rate",
            "events",
            "to stdout p50",
            "p99",
            "max",
            "to decoded p50",
            "p99",
        ],
    );
    let mut runs_json = Vec::new();
    let mut any_decoded = false;
    for stacks in [false, true] {
        let mut m = measure(bench, stacks)?;
        let events = m.to_stdout.len();
        let p50 = percentile(&mut m.to_stdout, 0.50);
        let p99 = percentile(&mut m.to_stdout, 0.99);
        let max = percentile(&mut m.to_stdout, 1.0);
        let show = |v: Option<i64>| v.map_or("n/a".to_owned(), |ns| human_ns(ns as f64));
        any_decoded |= m.decoded.is_some();
        table.row(vec![
            m.label.to_owned(),
            human_rate(m.achieved_per_s),
            events.to_string(),
            show(p50),
            show(p99),
            show(max),
            m.decoded
                .map_or("n/a".to_owned(), |(p50, _)| human_ns(p50 as f64)),
            m.decoded
                .map_or("n/a".to_owned(), |(_, p99)| human_ns(p99 as f64)),
        ]);
        runs_json.push((
            if stacks { "stacks" } else { "events_only" },
            obj([
                ("label", Json::from(m.label)),
                ("achieved_per_s", Json::from(m.achieved_per_s)),
                ("events", Json::from(events)),
                (
                    "to_stdout_ns",
                    obj([
                        ("p50", Json::from(p50)),
                        ("p99", Json::from(p99)),
                        ("max", Json::from(max)),
                    ]),
                ),
                (
                    "to_decoded_ns",
                    m.decoded.map_or(Json::Null, |(p50, p99)| {
                        obj([("p50", Json::from(p50)), ("p99", Json::from(p99))])
                    }),
                ),
            ]),
        ));
    }
    let mut notes = vec![
        "to stdout: the bench's CLOCK_REALTIME when it reads a line, minus the line's `time` \
         (the kernel's CLOCK_MONOTONIC stamp, converted by ringside with the offset it measured \
         at start). It includes decoding, symbolization (up to 100 ms), JSON and the pipe."
            .to_owned(),
    ];
    if !any_decoded {
        notes.push(
            "to decoded: skipped: ringside prints no `ringside: latency_ns p50=N p99=N` line \
             (it needs a per-event decode-time histogram)."
                .to_owned(),
        );
    }
    Ok(Section {
        tables: vec![table],
        notes,
        checks: Vec::new(),
        json: obj([("rate_per_s", Json::from(RATE)), ("runs", obj(runs_json))]),
    })
}
