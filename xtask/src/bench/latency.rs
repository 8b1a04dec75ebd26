//! Latency at 10k events/s: from the kernel's timestamp of an event to the moment its line can
//! be read on ringside's stdout (measured here, from outside), and to the moment ringside
//! decoded it (ringside's own `ringside: latency_ns p50=N p99=N` line, when it prints one).

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::thread;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::procs::{Load, Output, Ringside, paced_opens};
use super::stats::percentile;
use super::{Bench, Section, Table, human_ns, human_rate};

const RATE: f64 = 10_000.0;

struct Measured {
    label: &'static str,
    achieved_per_s: f64,
    /// Kernel timestamp to line read, in ns, of the load's events.
    to_stdout: Vec<i64>,
    /// ringside's own p50/p99 (kernel timestamp to decoded), if it printed them.
    decoded: Option<(u64, u64)>,
}

/// What the latency reader reads of a line of ringside's stdout.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    pid: Option<i64>,
    /// RFC 3339, UTC: `2026-11-25T03:13:35.530230100Z`.
    #[serde(borrow)]
    time: Option<Cow<'a, str>>,
}

/// Nanoseconds since the Unix epoch (negative before it, saturating far after).
fn epoch_ns(time: SystemTime) -> i64 {
    match time.duration_since(UNIX_EPOCH) {
        Ok(after) => i64::try_from(after.as_nanos()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_nanos()).map_or(i64::MIN, |ns| -ns),
    }
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
    let args = paced_opens(ops, RATE);
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
            let read_at = epoch_ns(SystemTime::now());
            let Ok(event) = serde_json::from_str::<Line>(&line) else {
                continue;
            };
            if event.pid != Some(pid) || event.kind != "open" {
                continue;
            }
            if let Some(time) = event
                .time
                .and_then(|time| humantime::parse_rfc3339(&time).ok())
            {
                latencies.push(read_at - epoch_ns(time));
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
    let mut runs_json = Map::new();
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
        let to_decoded = m
            .decoded
            .map_or(Value::Null, |(p50, p99)| json!({ "p50": p50, "p99": p99 }));
        runs_json.insert(
            (if stacks { "stacks" } else { "events_only" }).to_owned(),
            json!({
                "label": m.label,
                "achieved_per_s": m.achieved_per_s,
                "events": events,
                "to_stdout_ns": { "p50": p50, "p99": p99, "max": max },
                "to_decoded_ns": to_decoded,
            }),
        );
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
        json: json!({ "rate_per_s": RATE, "runs": runs_json }),
    })
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_line_gives_its_pid_type_and_kernel_time_in_ns() {
        let line = r#"{"type":"open","time":"2026-11-25T03:13:35.530230100Z","pid":22200,"comm":"a\"b","path":"/dev/null","ustack":[{"addr":"0x1","symbol":"x"}]}"#;
        let event: Line = serde_json::from_str(line).expect("parse");
        assert_eq!(event.kind, "open");
        assert_eq!(event.pid, Some(22200));
        let time = humantime::parse_rfc3339(&event.time.expect("time")).expect("rfc 3339");
        // date -u -d 2026-11-25T03:13:35Z +%s
        assert_eq!(epoch_ns(time), 1_795_576_415_530_230_100);
        assert_eq!(
            epoch_ns(UNIX_EPOCH - Duration::from_secs(1)),
            -1_000_000_000
        );
    }
}
