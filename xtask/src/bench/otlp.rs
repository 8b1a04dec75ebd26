//! `--otlp` under an open storm, pinned apart (the load on CPU 0, ringside on CPU 1), into
//! a collector on 127.0.0.1 that decodes every request (the tests' receiver): ringside's CPU
//! per exported event beside `--json`'s, the bytes on the wire per event with gzip, and the
//! highest rate delivered with no record dropped.

#[path = "../../../tui/tests/support/otlp_receiver.rs"]
mod otlp_receiver;

use anyhow::{Context, Result};
use serde_json::json;

use self::otlp_receiver::Receiver;
use super::procs::{Load, Output, PinnedApart, Ringside, paced_opens};
use super::{Bench, Check, Section, Status, Table, human_ns, human_rate};

const PINNED: PinnedApart = PinnedApart::CPUS_0_1;

/// One run's figures.
struct Measured {
    rate: f64,
    achieved: f64,
    events: u64,
    cpu_per_event: f64,
    bytes_per_event: Option<f64>,
    /// Records lost for any reason, and the kernel's drops.
    dropped: u64,
}

pub fn run(bench: &Bench) -> Result<Section> {
    let seconds = if bench.quick { 2.0 } else { 4.0 };
    let mut table = Table::new(
        format!(
            "OTLP export: paced open storms, pinned apart (load on CPU {}, ringside on CPU {}), \
             gzip into a local collector",
            PINNED.load, PINNED.tracer
        ),
        vec![
            "output",
            "stacks",
            "rate",
            "events",
            "CPU/event",
            "wire B/event",
            "dropped",
        ],
    );
    let mut runs = Vec::new();
    let plan: &[(&str, bool, f64)] = &[
        ("--otlp", false, 50_000.0),
        ("--otlp", false, 100_000.0),
        ("--json", false, 100_000.0),
        ("--otlp", true, 20_000.0),
        ("--json", true, 20_000.0),
    ];
    let mut results = Vec::new();
    for &(output, stacks, rate) in plan {
        let measured = measure(bench, output, stacks, rate, seconds)?;
        table.row(vec![
            output.to_owned(),
            (if stacks { "user+kernel" } else { "none" }).to_owned(),
            human_rate(measured.achieved),
            measured.events.to_string(),
            human_ns(measured.cpu_per_event),
            measured
                .bytes_per_event
                .map_or("-".to_owned(), |bytes| format!("{bytes:.0}")),
            measured.dropped.to_string(),
        ]);
        results.push(json!({
            "output": output,
            "stacks": stacks,
            "rate_per_s": measured.rate,
            "achieved_per_s": measured.achieved,
            "events": measured.events,
            "cpu_ns_per_event": measured.cpu_per_event,
            "wire_bytes_per_event": measured.bytes_per_event,
            "dropped": measured.dropped,
        }));
        runs.push((output, stacks, measured));
    }
    let find = |output: &str, stacks: bool, rate: f64| {
        runs.iter()
            .find(|(o, s, m)| *o == output && *s == stacks && m.rate == rate)
            .map(|(_, _, m)| m)
    };
    let mut checks = Vec::new();
    if let (Some(otlp), Some(json)) = (
        find("--otlp", false, 100_000.0),
        find("--json", false, 100_000.0),
    ) {
        checks.push(Check {
            what: "otlp CPU per exported event, no stacks".into(),
            target: format!("≤ 2 µs (--json: {})", human_ns(json.cpu_per_event)),
            value: human_ns(otlp.cpu_per_event),
            status: Status::of(otlp.cpu_per_event <= 2_000.0),
        });
        checks.push(Check {
            what: "otlp at 100k events/s, no stacks: records dropped".into(),
            target: "0".into(),
            value: otlp.dropped.to_string(),
            status: Status::of(otlp.dropped == 0 && otlp.achieved >= 95_000.0),
        });
    }
    Ok(Section {
        tables: vec![table],
        notes: vec![
            "CPU/event: ringside's CPU time (all its threads) while the storm ran, over the \
             events the storm made. wire B/event: the request bodies the collector received \
             (gzip), over the records in them. dropped: records not delivered for any reason, \
             plus the kernel's drops."
                .to_owned(),
        ],
        checks,
        json: json!({ "runs": results }),
    })
}

fn measure(bench: &Bench, output: &str, stacks: bool, rate: f64, seconds: f64) -> Result<Measured> {
    bench.progress(&format!(
        "otlp: {output}, {}, {}",
        if stacks { "stacks" } else { "no stacks" },
        human_rate(rate)
    ));
    let receiver = Receiver::start_counting();
    let ops = (rate * seconds) as u64;
    let load = Load::spawn_on(bench, &paced_opens(ops, rate), Some(PINNED.load))?;
    let mut args = vec![
        "--pid".to_owned(),
        load.pid().to_string(),
        "--events".to_owned(),
        "open".to_owned(),
    ];
    if !stacks {
        args.extend(["--stacks".to_owned(), "none".to_owned()]);
    }
    let how = if output == "--otlp" {
        args.extend([
            "--otlp".to_owned(),
            receiver.endpoint(),
            "--otlp-compression".to_owned(),
            "gzip".to_owned(),
        ]);
        Output::NoJson
    } else {
        Output::Null
    };
    let ringside = Ringside::start_on(bench, &args, how, Some(PINNED.tracer))?;
    let (result, cpu) = load.run_beside(ringside.pid())?;
    let summary = ringside.stop()?;
    let cpu_per_event = cpu.context("ringside's CPU time was not readable")?;
    let kernel_drops = summary.total_dropped();
    let (bytes_per_event, lost) = if output == "--otlp" {
        let totals = receiver.totals();
        let counter = |key: &str| summary.get("otlp", key).unwrap_or(0);
        let lost = counter("rejected") + counter("dropped_queue_full") + counter("dropped_at_exit");
        (
            (totals.records > 0).then(|| totals.body_bytes as f64 / totals.records as f64),
            lost,
        )
    } else {
        (None, 0)
    };
    Ok(Measured {
        rate,
        achieved: result.ops_per_sec(),
        events: result.ops,
        cpu_per_event,
        bytes_per_event,
        dropped: lost + kernel_drops,
    })
}
