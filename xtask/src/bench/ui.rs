//! The TUI's own costs (issue 6, section 5), with ringside in a 200x50 pseudo-terminal: frame
//! time p50/p99 with 1,000,000 retained events, idle CPU, resident memory per retained event,
//! and time from start to first event. Frame times and the first event's time come from the
//! TUI's `--stats-file`; CPU and memory are read from /proc while it runs. The storms "with the
//! TUI running" (and its zero-drop target) are a tracer in `overhead`.

use std::process::{Child, Command};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use serde_json::json;

use super::procs::{Load, cpu_ns, status_kb};
use super::stats::spread;
use super::store_fill::{Fill, LOAD_COMM, RETAIN, STEADY_RATE, STORE_ARGS, fill, open_args};
use super::tui::{COLS, ROWS, Screen, Tui, TuiStats};
use super::{Bench, Check, Section, Status, Table, human_rate, range, spread_json, stacks_view};

/// The pace of the load running while the TUI starts, for the time to its first event.
const FIRST_EVENT_RATE: u64 = 1_000;
/// How long the idle TUI settles, and how long its CPU is sampled.
const IDLE_SETTLE: Duration = Duration::from_secs(5);
const IDLE_WINDOW: Duration = Duration::from_secs(10);

const FRAME_P99_NS: u64 = 4_000_000;
const IDLE_PERCENT: f64 = 1.0;
const BYTES_PER_EVENT: f64 = 300.0;
const FIRST_EVENT_MS: f64 = 500.0;

/// (a) frame times and (c) memory: the store filled to RETAIN by full-speed storms, then opens
/// at STEADY_RATE for a few seconds while frames redraw.
struct Full {
    stats: TuiStats,
    fill_ops: u64,
    fill_rate: f64,
    steady_ops: u64,
    steady_secs: u64,
    /// The TUI's CPU (% of a core) and its screen updates per second while the steady opens
    /// arrived with the store full.
    steady_cpu_percent: Option<f64>,
    steady_updates_per_s: f64,
    /// The store's size as the screen showed it after the fill (None: not readable).
    shown_after_fill: Option<u64>,
    rss_empty_kib: u64,
    rss_full_kib: u64,
    /// (full - empty) / retained.
    bytes_per_event: f64,
}

fn full_store(bench: &Bench) -> Result<Full> {
    let args: Vec<&str> = ["--stacks", "none"].into_iter().chain(STORE_ARGS).collect();
    bench.progress(&format!(
        "ui: TUI ({COLS}x{ROWS}) `{}`, store filling to {RETAIN}",
        args.join(" ")
    ));
    let tui = Tui::start(bench, &args, Screen::Emulate)?;
    // Its first frames drawn and its start-up allocations done: the memory of an empty store.
    thread::sleep(Duration::from_secs(1));
    let rss_empty_kib = status_kb(tui.pid(), "VmRSS").context("the TUI's VmRSS")?;

    let Fill {
        ops: fill_ops,
        ns: fill_ns,
        shown,
    } = fill(bench, &tui)?;
    let steady_secs = bench.size(10, 5);
    let steady_ops = STEADY_RATE * steady_secs;
    bench.progress(&format!(
        "ui: store at {}; {} opens/s for {steady_secs} s while frames redraw",
        shown.map_or("?".to_owned(), |n| n.to_string()),
        STEADY_RATE
    ));
    let load = Load::spawn(bench, &open_args(steady_ops, Some(STEADY_RATE)))?;
    let cpu_before = cpu_ns(tui.pid(), None);
    let updates_before = tui.updates();
    let begun = Instant::now();
    load.run()?;
    let steady_wall = begun.elapsed().as_secs_f64();
    let steady_cpu_percent = cpu_ns(tui.pid(), None)
        .zip(cpu_before)
        .map(|(after, before)| after.saturating_sub(before) as f64 / (steady_wall * 1e9) * 100.0);
    let steady_updates_per_s = (tui.updates() - updates_before) as f64 / steady_wall;
    let rss_full_kib = status_kb(tui.pid(), "VmRSS").context("the TUI's VmRSS")?;
    let stats = tui.quit()?;
    let bytes_per_event = if stats.retained_events > 0 {
        (rss_full_kib as f64 - rss_empty_kib as f64) * 1024.0 / stats.retained_events as f64
    } else {
        f64::NAN
    };
    Ok(Full {
        fill_rate: fill_ops as f64 * 1e9 / fill_ns.max(1) as f64,
        stats,
        fill_ops,
        steady_ops,
        steady_secs,
        steady_cpu_percent,
        steady_updates_per_s,
        shown_after_fill: shown,
        rss_empty_kib,
        rss_full_kib,
        bytes_per_event,
    })
}

/// (b) The TUI with its defaults and no load but the machine's own.
struct Idle {
    percent: f64,
    window: Duration,
    /// Events it decoded over its whole run, per second: the machine's own activity.
    events_per_s: f64,
}

/// The TUI with its defaults, or (`quiet`) with a pid filter on a sleeping process, so that
/// nothing reaches it: its own cost apart from what the machine's events cost it.
fn idle(bench: &Bench, quiet: bool) -> Result<Idle> {
    let mut sleeper = None;
    let mut args = Vec::new();
    if quiet {
        let child = Command::new("sleep")
            .arg("3600")
            .spawn()
            .context("starting `sleep 3600`")?;
        args = vec!["--pid".to_owned(), child.id().to_string()];
        sleeper = Some(Sleeper(child));
    }
    bench.progress(&format!(
        "ui: idle TUI{}: {} s to settle, CPU over {} s",
        if quiet {
            " tracing a sleeping process"
        } else {
            ""
        },
        IDLE_SETTLE.as_secs(),
        IDLE_WINDOW.as_secs()
    ));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let tui = Tui::start(bench, &args, Screen::Discard)?;
    thread::sleep(IDLE_SETTLE);
    let before = cpu_ns(tui.pid(), None).context("the TUI's CPU time")?;
    let begun = Instant::now();
    thread::sleep(IDLE_WINDOW);
    let after = cpu_ns(tui.pid(), None).context("the TUI's CPU time")?;
    let window = begun.elapsed();
    let stats = tui.quit()?;
    drop(sleeper);
    Ok(Idle {
        percent: after.saturating_sub(before) as f64 / window.as_nanos() as f64 * 100.0,
        window,
        events_per_s: stats.total_delivered() as f64 / stats.ran.as_secs_f64().max(1e-3),
    })
}

/// A child killed when dropped.
struct Sleeper(Child);

impl Drop for Sleeper {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// (d) `first_event_ms` of TUIs (defaults) started while a load opens FIRST_EVENT_RATE files/s.
fn first_events(bench: &Bench) -> Result<Vec<f64>> {
    let mut samples = Vec::new();
    for rep in 0..bench.reps {
        bench.progress(&format!(
            "ui: time to first event, {}/{}: TUI started during {} opens/s",
            rep + 1,
            bench.reps,
            FIRST_EVENT_RATE
        ));
        // Runs until dropped (killed): far more operations than the measurement lasts.
        let mut load = Load::spawn(bench, &open_args(1_000_000_000, Some(FIRST_EVENT_RATE)))?;
        load.go()?;
        thread::sleep(Duration::from_millis(200));
        let tui = Tui::start(bench, &[], Screen::Discard)?;
        thread::sleep(Duration::from_secs(1));
        let stats = tui.quit()?;
        drop(load);
        samples.push(
            stats
                .first_event_ms
                .context("the TUI's stats file has no first_event_ms: it saw no event")?,
        );
    }
    Ok(samples)
}

/// A rate for people, with a decimal below 10/s (an idle machine's few events).
fn rate(per_sec: f64) -> String {
    if per_sec < 10.0 {
        format!("{per_sec:.1}/s")
    } else {
        human_rate(per_sec)
    }
}

fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

pub(super) fn ms(ns: u64) -> String {
    format!("{:.2} ms", ns as f64 / 1e6)
}

pub fn run(bench: &Bench) -> Result<Section> {
    let full = full_store(bench).context("frame time and memory with 1M events")?;
    let idle_quiet = idle(bench, true).context("idle CPU, nothing traced")?;
    let idle = idle(bench, false).context("idle CPU")?;
    let first = first_events(bench).context("time to first event")?;
    let stacks = stacks_view::measure(bench).context("the Stacks view with 1M events")?;

    let frame = full.stats.frame_ns;
    let retained = full.stats.retained_events;
    let frame_status = Status::of(retained >= RETAIN && frame.p99 <= FRAME_P99_NS);
    let idle_status = Status::of(idle.percent < IDLE_PERCENT);
    let memory_status = Status::of(retained >= RETAIN && full.bytes_per_event <= BYTES_PER_EVENT);
    let first_spread = spread(&first);
    let first_status = Status::of(first_spread.is_some_and(|s| s.median < FIRST_EVENT_MS));

    let mut table = Table::new(
        format!("TUI ({COLS}x{ROWS} pseudo-terminal)"),
        vec!["measurement", "this run", "detail", "target", "result"],
    );
    table.row(vec![
        "frame time p50".to_owned(),
        ms(frame.p50),
        String::new(),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "frame time p99, 1M retained".to_owned(),
        ms(frame.p99),
        format!(
            "max {}; {} frames; {retained} retained",
            ms(frame.max),
            frame.count
        ),
        "<= 4 ms".to_owned(),
        frame_status.word().to_owned(),
    ]);
    table.row(vec![
        "frames drawn".to_owned(),
        format!(
            "{:.1}/s",
            frame.count as f64 / full.stats.ran.as_secs_f64().max(1e-3)
        ),
        format!("over the whole run ({:.0} s)", full.stats.ran.as_secs_f64()),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "with 1M retained, opens arriving".to_owned(),
        full.steady_cpu_percent
            .map_or("n/a".to_owned(), |p| format!("{p:.1}% CPU")),
        format!(
            "{:.1} screen updates/s while {STEADY_RATE} opens/s arrived",
            full.steady_updates_per_s
        ),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "idle CPU, nothing traced".to_owned(),
        format!("{:.2}% of a core", idle_quiet.percent),
        "--pid of a sleeping process".to_owned(),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "idle CPU".to_owned(),
        format!("{:.2}% of a core", idle.percent),
        format!(
            "over {:.0} s, {} s after start; machine's own events {}",
            idle.window.as_secs_f64(),
            IDLE_SETTLE.as_secs(),
            rate(idle.events_per_s)
        ),
        "< 1%".to_owned(),
        idle_status.word().to_owned(),
    ]);
    table.row(vec![
        "resident per retained event".to_owned(),
        format!("{:.0} B", full.bytes_per_event),
        format!(
            "VmRSS {} with ~0 events, {} with {retained}; peak {}",
            mib(full.rss_empty_kib),
            mib(full.rss_full_kib),
            mib(full.stats.peak_rss_kib)
        ),
        "<= 300 B".to_owned(),
        memory_status.word().to_owned(),
    ]);
    let stacks_frame = stacks.stats.stacks_frame_ns;
    let stacks_retained = stacks.stats.retained_events;
    let stacks_memory_status =
        Status::of(stacks_retained >= RETAIN && stacks.bytes_per_event <= BYTES_PER_EVENT);
    table.row(vec![
        "Stacks view frame p50, 1M retained".to_owned(),
        ms(stacks_frame.p50),
        "frames that only redraw".to_owned(),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "Stacks view frame p99, 1M retained".to_owned(),
        ms(stacks_frame.p99),
        format!(
            "max {}; {} frames; {}; {stacks_retained} retained with stacks",
            ms(stacks_frame.max),
            stacks_frame.count,
            stacks
                .shown
                .map_or("rows not read".to_owned(), |(rows, events)| {
                    format!("{rows} stacks of {events} events shown")
                })
        ),
        String::new(),
        String::new(),
    ]);
    table.row(vec![
        "resident per retained event, with stacks".to_owned(),
        format!("{:.0} B", stacks.bytes_per_event),
        format!(
            "user+kernel stacks on every event, symbolized and shared; VmRSS {} after {} \
             warm-up opens, {} with {stacks_retained}",
            mib(stacks.rss_warm_kib),
            stacks_view::WARM_UP_OPENS,
            mib(stacks.rss_full_kib)
        ),
        "<= 300 B".to_owned(),
        stacks_memory_status.word().to_owned(),
    ]);
    table.row(vec![
        "time to first event".to_owned(),
        first_spread
            .as_ref()
            .map_or("n/a".to_owned(), |s| format!("{:.0} ms", s.median)),
        first_spread.as_ref().map_or(String::new(), |s| {
            format!(
                "median of {}, {}; started during {FIRST_EVENT_RATE} opens/s",
                s.n,
                range(s, |x| format!("{x:.0} ms"))
            )
        }),
        "< 500 ms".to_owned(),
        first_status.word().to_owned(),
    ]);

    let mut notes = vec![
        format!(
            "frame time: ringside's own time to draw a frame (`frame_ns` of --stats-file), every \
             frame of the run `ringside --stacks none --events open --comm {LOAD_COMM} \
             --max-events {RETAIN}`: those drawn while full-speed storms filled the store ({} \
             opens at {}; {} delivered, {} dropped) as well as those at {RETAIN} retained while \
             {STEADY_RATE} opens/s arrived for {} s (at most 30 frames/s).",
            full.fill_ops,
            human_rate(full.fill_rate),
            full.stats.total_delivered(),
            full.stats.total_dropped(),
            full.steady_secs
        ),
        "resident per event: VmRSS (/proc/<pid>/status) 1 s after start, against VmRSS just \
         before `q` with the store full, over the events retained (`retained_events`)."
            .to_owned(),
        "idle CPU and time to first event: `ringside` with its defaults (every event type, \
         user+kernel stacks). Idle CPU: the CPU time of all the TUI's threads \
         (/proc/<pid>/task/*/sched) over the window, with no load from the bench: whatever else \
         the machine runs, the TUI traces (its events/s over the run are shown). \
         \"nothing traced\": the same with a pid filter on a sleeping process, the TUI's own \
         cost (a redraw a second, its CPU meter)."
            .to_owned(),
        "screen updates/s: bursts of the TUI's output (frames that changed the screen) while \
         the steady opens arrived: the TUI draws at most 30 frames/s, and fewer when its event \
         loop is busy with batches."
            .to_owned(),
        "time to first event: `first_event_ms` of --stats-file, from the process's start (its \
         /proc start time, 10 ms ticks) to its first decoded event."
            .to_owned(),
    ];
    notes.push(format!(
        "Stacks view: `ringside --events open --comm {LOAD_COMM} --max-events {RETAIN}` (user and \
         kernel stacks), the store filled by full-speed storms{}, then `5` while {STEADY_RATE} \
         opens/s arrived for {} s. Its frames (`stacks_frame_ns`) regroup every retained event \
         when events came since the last grouping, at most once a second; the other frames \
         only redraw (p50). Memory per event with stacks: against VmRSS after \
         a few opens loaded the symbolizer's symbols (its fixed cost, bounded apart: see the \
         README's Memory and descriptors).",
        if stacks.symbolized {
            " and the symbolizer caught up"
        } else {
            " (the symbolizer had not caught up: some events were still unsymbolized)"
        },
        stacks.steady_secs
    ));
    if retained < RETAIN {
        notes.push(format!(
            "the store held only {retained} events at the end (drops: {}): frame time and \
             memory were not measured at {RETAIN} and count as missed.",
            full.stats.total_dropped()
        ));
    }
    if full.shown_after_fill.is_none() {
        notes.push(
            "the Events pane's title showed no `shown/held` count: the store was filled by one \
             storm, unchecked until the stats file."
                .to_owned(),
        );
    }

    let checks = vec![
        Check {
            what: "TUI frame time p99 at 200x50, 1M events retained".to_owned(),
            target: "<= 4 ms".to_owned(),
            value: format!(
                "{} (p50 {}, {retained} retained)",
                ms(frame.p99),
                ms(frame.p50)
            ),
            status: frame_status,
        },
        Check {
            what: "idle TUI CPU".to_owned(),
            target: "< 1% of a core".to_owned(),
            value: format!("{:.2}%", idle.percent),
            status: idle_status,
        },
        Check {
            what: "resident memory per retained event".to_owned(),
            target: "<= 300 B".to_owned(),
            value: format!("{:.0} B", full.bytes_per_event),
            status: memory_status,
        },
        Check {
            what: "resident memory per retained event, with stacks".to_owned(),
            target: "<= 300 B".to_owned(),
            value: format!("{:.0} B", stacks.bytes_per_event),
            status: stacks_memory_status,
        },
        Check {
            what: "time from start to first event".to_owned(),
            target: "< 0.5 s".to_owned(),
            value: first_spread.as_ref().map_or("n/a".to_owned(), |s| {
                format!("{:.0} ms ({})", s.median, range(s, |x| format!("{x:.0}")))
            }),
            status: first_status,
        },
    ];

    let json = json!({
        "terminal": { "rows": ROWS, "cols": COLS },
        "frames": {
            "frame_ns": frame,
            "target_p99_ns": FRAME_P99_NS,
            "status": frame_status.word(),
            "retained_events": retained,
            "fill_ops": full.fill_ops,
            "fill_ops_per_s": full.fill_rate,
            "steady_ops": full.steady_ops,
            "steady_rate_per_s": STEADY_RATE,
            "store_shown_after_fill": full.shown_after_fill,
            "delivered": full.stats.delivered,
            "dropped": full.stats.dropped,
            "latency_ns": full.stats.latency_ns,
            "output_bytes": full.stats.output_bytes,
            "ran_s": full.stats.ran.as_secs_f64(),
            "steady_cpu_percent": full.steady_cpu_percent,
            "steady_screen_updates_per_s": full.steady_updates_per_s,
        },
        "memory": {
            "rss_empty_kib": full.rss_empty_kib,
            "rss_full_kib": full.rss_full_kib,
            "peak_rss_kib": full.stats.peak_rss_kib,
            "retained_events": retained,
            "bytes_per_event": full.bytes_per_event,
            "target_bytes": BYTES_PER_EVENT,
            "status": memory_status.word(),
        },
        "idle": {
            "cpu_percent": idle.percent,
            "window_s": idle.window.as_secs_f64(),
            "settle_s": IDLE_SETTLE.as_secs(),
            "machine_events_per_s": idle.events_per_s,
            "nothing_traced_cpu_percent": idle_quiet.percent,
            "nothing_traced_events_per_s": idle_quiet.events_per_s,
            "target_percent": IDLE_PERCENT,
            "status": idle_status.word(),
        },
        "stacks_view": {
            "frame_ns": stacks_frame,
            "retained_events": stacks_retained,
            "shown": stacks.shown,
            "symbolized_before_shown": stacks.symbolized,
            "steady_rate_per_s": STEADY_RATE,
            "steady_s": stacks.steady_secs,
            "bytes_per_event": stacks.bytes_per_event,
            "memory_status": stacks_memory_status.word(),
            "delivered": stacks.stats.delivered,
            "dropped": stacks.stats.dropped,
        },
        "first_event": {
            "ms": spread_json(first_spread.as_ref(), &first),
            "load_rate_per_s": FIRST_EVENT_RATE,
            "target_ms": FIRST_EVENT_MS,
            "status": first_status.word(),
        },
    });
    Ok(Section {
        tables: vec![table],
        notes,
        checks,
        json,
    })
}
