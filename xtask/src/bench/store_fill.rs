//! Filling the TUI's store with a million opens: shared by the frame-time, memory and Stacks
//! view runs.

use std::ffi::OsString;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::Result;

use super::Bench;
use super::procs::Load;
use super::tui::Tui;

/// The events the frame-time and memory run retains: the TUI's default `--max-events`.
pub(super) const RETAIN: u64 = 1_000_000;
/// Opens of the storm that fills the store: more than it keeps, for the drops of a full-speed
/// storm.
const FILL_OPS: u64 = 1_200_000;
/// The pace of the opens that keep arriving once the store is full, so every frame redraws.
pub(super) const STEADY_RATE: u64 = 10_000;
/// The load's command name, which the frame-time run filters on (`--comm`), so that the storm
/// that fills the store and the one that keeps events coming are both seen.
pub(super) const LOAD_COMM: &str = "rsbench-load";

pub(super) fn open_args(ops: u64, rate: Option<u64>) -> Vec<OsString> {
    let mut args: Vec<OsString> = vec!["open".into(), ops.to_string().into(), "/dev/null".into()];
    if let Some(rate) = rate {
        args.extend(["--rate".into(), rate.to_string().into()]);
    }
    args
}

/// The TUI that keeps RETAIN of the load's opens (`--max-events` is RETAIN).
pub(super) const STORE_ARGS: [&str; 6] = [
    "--events",
    "open",
    "--comm",
    LOAD_COMM,
    "--max-events",
    "1000000",
];

/// Opens at full speed until the store holds RETAIN events.
pub(super) struct Fill {
    pub ops: u64,
    pub ns: u64,
    /// The store's size as the screen showed it after the fill (None: not readable).
    pub shown: Option<u64>,
}

pub(super) fn fill(bench: &Bench, tui: &Tui) -> Result<Fill> {
    let mut fill = Fill {
        ops: 0,
        ns: 0,
        shown: None,
    };
    for round in 0..4 {
        let ops = match fill.shown {
            None if round == 0 => FILL_OPS,
            // Drops kept the store short: top it up.
            Some(held) if held < RETAIN => (RETAIN - held) * 6 / 5 + 20_000,
            _ => break,
        };
        bench.progress(&format!("ui: filling the store: {ops} opens at full speed"));
        let result = Load::spawn(bench, &open_args(ops, None))?.run()?;
        fill.ops += result.ops;
        fill.ns += result.elapsed_ns;
        fill.shown = settled_store(tui);
        if fill.shown.is_none() {
            // The screen could not be read: one storm, and the stats file tells what it kept.
            break;
        }
    }
    Ok(fill)
}

/// The store's size once the TUI caught up with a storm: RETAIN, or the count once it stayed
/// the same for two seconds. None when the screen shows no count.
fn settled_store(tui: &Tui) -> Option<u64> {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut last = tui.store_len()?;
    let mut since = Instant::now();
    loop {
        thread::sleep(Duration::from_millis(200));
        let now = tui.store_len().unwrap_or(last);
        if now >= RETAIN {
            return Some(now);
        }
        if now != last {
            last = now;
            since = Instant::now();
        } else if since.elapsed() >= Duration::from_secs(2) || Instant::now() >= deadline {
            return Some(now);
        }
    }
}
