//! The Stacks view's cost with 1,000,000 retained events (issue 17): ringside with user and
//! kernel stacks, the store filled by open storms, then the Stacks view shown while opens keep
//! arriving. Its frames (`stacks_frame_ns` of --stats-file) include regrouping every retained
//! event, which the view does at most once a second.

use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};

use super::Bench;
use super::procs::{Load, status_kb};
use super::store_fill::{RETAIN, STEADY_RATE, STORE_ARGS, fill, open_args};
use super::tui::{Screen, Tui, TuiStats};

/// Opens whose stacks load the symbolizer's symbols before the memory baseline is read.
pub const WARM_UP_OPENS: u64 = 2_000;

/// How long the symbolizer may take to catch up with the storms.
const SYMBOLIZE_PATIENCE: Duration = Duration::from_secs(180);

pub struct StacksView {
    pub stats: TuiStats,
    pub steady_secs: u64,
    /// Rows of the Stacks view as the screen showed them (`Stacks N of M events`).
    pub shown: Option<(u64, u64)>,
    pub bytes_per_event: f64,
    /// Whether the symbolizer had caught up before the view was shown.
    pub symbolized: bool,
    pub rss_warm_kib: u64,
    pub rss_full_kib: u64,
}

pub fn measure(bench: &Bench) -> Result<StacksView> {
    let args = STORE_ARGS;
    bench.progress(&format!(
        "ui: Stacks view, `{}`, store filling to {RETAIN} events with stacks",
        args.join(" ")
    ));
    let mut tui = Tui::start(bench, &args, Screen::Emulate)?;
    // The symbolizer's own memory (kallsyms, the binaries' symbols and unwind tables) comes
    // with the first stacks and does not grow with the events kept: a few opens load it
    // before the baseline is read, and a heap trim (every 2 s) passes.
    Load::spawn(bench, &open_args(WARM_UP_OPENS, None))?.run()?;
    wait_symbolized(&tui);
    thread::sleep(Duration::from_secs(3));
    let rss_empty_kib = status_kb(tui.pid(), "VmRSS").context("the TUI's VmRSS")?;
    fill(bench, &tui)?;
    let symbolized = wait_symbolized(&tui);
    tui.keys("5")?;
    let steady_secs = bench.size(10, 5);
    bench.progress(&format!(
        "ui: Stacks view shown; {STEADY_RATE} opens/s for {steady_secs} s while it regroups"
    ));
    Load::spawn(
        bench,
        &open_args(STEADY_RATE * steady_secs, Some(STEADY_RATE)),
    )?
    .run()?;
    let shown = tui.screen_text().as_deref().and_then(stacks_title);
    let rss_full_kib = status_kb(tui.pid(), "VmRSS").context("the TUI's VmRSS")?;
    let stats = tui.quit()?;
    let bytes_per_event = if stats.retained_events > 0 {
        (rss_full_kib as f64 - rss_empty_kib as f64) * 1024.0 / stats.retained_events as f64
    } else {
        f64::NAN
    };
    Ok(StacksView {
        stats,
        steady_secs,
        shown,
        bytes_per_event,
        symbolized,
        rss_warm_kib: rss_empty_kib,
        rss_full_kib,
    })
}

/// Waits until the status bar shows `symbolizing 0`.
fn wait_symbolized(tui: &Tui) -> bool {
    let deadline = Instant::now() + SYMBOLIZE_PATIENCE;
    while Instant::now() < deadline {
        if tui
            .screen_text()
            .is_some_and(|text| text.contains("symbolizing 0 "))
        {
            return true;
        }
        thread::sleep(Duration::from_millis(250));
    }
    false
}

/// `┌ Stacks 3 of 1000000 events · …`, the view's title (not the title line's `5 Stacks`):
/// (3, 1000000).
fn stacks_title(screen: &str) -> Option<(u64, u64)> {
    const TITLE: &str = "┌ Stacks ";
    let rest = &screen[screen.find(TITLE)? + TITLE.len()..];
    let mut words = rest.split_whitespace();
    let rows = words.next()?.parse().ok()?;
    let _of = words.next()?;
    let events = words.next()?.parse().ok()?;
    Some((rows, events))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stacks_title_gives_rows_and_events() {
        let screen = " ringside  live  5 Stacks  6 Flame  7 Failures\n\
                      ┌ Stacks 3 of 1000000 events · whole stacks · by count (s) ───┐";
        assert_eq!(stacks_title(screen), Some((3, 1_000_000)));
        assert_eq!(stacks_title("┌ Events [All] 1/2 ┐"), None);
    }
}
