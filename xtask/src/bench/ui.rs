//! The TUI's own costs (issue 6, section 5): frame time p50/p99 at 200x50 with 1,000,000
//! retained events, idle CPU, resident memory per retained event, time from start to first
//! event, and zero drops at a full-speed open storm with the TUI running. They wait for the TUI
//! work: measure them here (tmux gives the pseudo-terminal, as in the tests; ringside's
//! `--stats-file` reports `frame_ns`, `first_event_ms`, `retained_events` and `peak_rss_kib`)
//! and turn the checks below into PASS/MISS. The storms "with the TUI running" are one more
//! tracer in `overhead`.

use anyhow::Result;

use super::json::{Json, obj};
use super::{Bench, Check, Section, Status};

pub const WAITING: &str = "UI: frame time, idle CPU, memory per retained event, time to first \
                           event, and the storms with the TUI in a pseudo-terminal wait for the \
                           TUI: this bench measures only `ringside --json` so far.";

const TARGETS: &[(&str, &str)] = &[
    (
        "TUI frame time p99 at 200x50, 1M events retained",
        "<= 4 ms",
    ),
    ("idle TUI CPU", "< 1% of a core"),
    ("resident memory per retained event", "<= 300 B"),
    ("time from start to first event", "< 0.5 s"),
    (
        "zero drops, full-speed open storm with the TUI running",
        "0 dropped",
    ),
];

pub fn run(_bench: &Bench) -> Result<Section> {
    Ok(Section {
        tables: Vec::new(),
        notes: vec![WAITING.to_owned()],
        checks: TARGETS
            .iter()
            .map(|(what, target)| Check {
                what: (*what).to_owned(),
                target: (*target).to_owned(),
                value: "waits for the TUI".to_owned(),
                status: Status::Skip,
            })
            .collect(),
        json: obj([("status", Json::from("waits for the TUI"))]),
    })
}
