//! Symbolization: frames symbolized per second, cold (the first processes after ringside starts,
//! its caches empty) and warm (the rest), and ringside's memory after 10,000 short-lived
//! processes. The program is the stack tests' `nested.c`, run as `nested open PATH`.

use std::borrow::Cow;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::procs::{Output, Ringside, cpu_ns, status_kb};
use super::{Bench, Section, Table, compile, human_rate};
use crate::cmd;

/// The program's name, and so its comm (at most 15 bytes) and ringside's `--comm` filter.
const PROGRAM: &str = "rsbench-nested";
/// The thread of ringside that symbolizes.
const SYMBOLIZER_THREAD: &str = "symbolizer";
/// Processes started at a time.
const PARALLEL: usize = 4;
/// How long to wait for the last event of a burst once its processes are done.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(60);

/// Running counts of what ringside printed, from its stdout.
#[derive(Clone, Debug, Default)]
struct Counts {
    events: u64,
    frames: u64,
    unresolved: u64,
    timed_out: u64,
    /// Events of each burst's marker path, and of those, the ones whose user stack resolved to
    /// inner_open / middle_open / outer_open.
    markers: [u64; 2],
    resolved: [u64; 2],
    last_marker: [Option<Instant>; 2],
}

impl Counts {
    fn minus(&self, earlier: &Counts) -> Counts {
        Counts {
            events: self.events - earlier.events,
            frames: self.frames - earlier.frames,
            unresolved: self.unresolved - earlier.unresolved,
            timed_out: self.timed_out - earlier.timed_out,
            ..self.clone()
        }
    }
}

/// What the reader reads of a line of ringside's stdout: the path opened and the stacks' frames.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    ustack: Vec<Frame<'a>>,
    #[serde(default, borrow)]
    kstack: Vec<Frame<'a>>,
}

#[derive(Deserialize)]
struct Frame<'a> {
    #[serde(borrow)]
    symbol: Option<Cow<'a, str>>,
    #[serde(borrow)]
    unresolved: Option<Cow<'a, str>>,
    #[serde(default, borrow)]
    inlined: Vec<Inlined<'a>>,
}

#[derive(Deserialize)]
struct Inlined<'a> {
    #[serde(borrow)]
    symbol: Option<Cow<'a, str>>,
}

impl Line<'_> {
    fn frames(&self) -> impl Iterator<Item = &Frame<'_>> {
        self.ustack.iter().chain(&self.kstack)
    }

    /// Whether some frame, or a function inlined into one, is `name`.
    fn has_symbol(&self, name: &str) -> bool {
        self.frames().any(|frame| {
            frame.symbol.as_deref() == Some(name)
                || frame
                    .inlined
                    .iter()
                    .any(|inlined| inlined.symbol.as_deref() == Some(name))
        })
    }
}

struct Burst {
    name: &'static str,
    processes: u64,
    counts: Counts,
    /// From the first spawn to the last marker event read.
    wall: Duration,
    symbolizer_cpu_ns: Option<u64>,
    ringside_cpu_ns: Option<u64>,
}

impl Burst {
    fn frames_per_wall_sec(&self) -> f64 {
        self.counts.frames as f64 / self.wall.as_secs_f64()
    }
    fn frames_per_cpu_sec(&self) -> Option<f64> {
        self.symbolizer_cpu_ns
            .filter(|&ns| ns > 0)
            .map(|ns| self.counts.frames as f64 * 1e9 / ns as f64)
    }
}

fn burst(
    program: &Path,
    marker: &str,
    processes: u64,
    index: usize,
    pid: u32,
    counts: &Arc<Mutex<Counts>>,
    name: &'static str,
) -> Result<Burst> {
    let before = lock(counts).clone();
    let symbolizer_before = cpu_ns(pid, Some(SYMBOLIZER_THREAD));
    let ringside_before = cpu_ns(pid, None);
    let start = Instant::now();
    let mut left = processes;
    while left > 0 {
        let batch = left.min(PARALLEL as u64);
        let children = (0..batch)
            .map(|_| {
                // cargo's LD_LIBRARY_PATH would make ld.so probe dozens of directories.
                Command::new(program)
                    .env_remove("LD_LIBRARY_PATH")
                    .args(["open", marker])
                    .stdin(Stdio::null())
                    .stdout(Stdio::null())
                    .stderr(Stdio::null())
                    .spawn()
                    .with_context(|| format!("starting {}", program.display()))
            })
            .collect::<Result<Vec<_>>>()?;
        for mut child in children {
            child.wait()?;
        }
        left -= batch;
    }
    let deadline = Instant::now() + DRAIN_TIMEOUT;
    while lock(counts).markers[index] < processes && Instant::now() < deadline {
        thread::sleep(Duration::from_millis(5));
    }
    let after = lock(counts).clone();
    let end = after.last_marker[index].unwrap_or_else(Instant::now);
    let delta = |a: Option<u64>, b: Option<u64>| a.zip(b).map(|(a, b)| a.saturating_sub(b));
    Ok(Burst {
        name,
        processes,
        counts: after.minus(&before),
        wall: end.saturating_duration_since(start),
        symbolizer_cpu_ns: delta(cpu_ns(pid, Some(SYMBOLIZER_THREAD)), symbolizer_before),
        ringside_cpu_ns: delta(cpu_ns(pid, None), ringside_before),
    })
}

fn lock(counts: &Arc<Mutex<Counts>>) -> std::sync::MutexGuard<'_, Counts> {
    counts
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

pub fn run(bench: &Bench) -> Result<Section> {
    let program = bench.dir.join(PROGRAM);
    compile(
        &cmd::workspace_root().join("tui/tests/fixtures/nested.c"),
        &program,
        &["-O0", "-g", "-fno-omit-frame-pointer"],
    )?;
    let total = bench.size(10_000, 2_000);
    let cold = 100.min(total);
    let markers = [
        format!("{}/symbolize-cold", bench.scratch.display()),
        format!("{}/symbolize-warm", bench.scratch.display()),
    ];

    let stats_file = bench.scratch.join("symbolize-stats.json");
    let mut args: Vec<String> = ["--events", "open", "--comm", PROGRAM]
        .iter()
        .map(|a| a.to_string())
        .collect();
    args.extend(["--stats-file".to_owned(), stats_file.display().to_string()]);
    let mut ringside = Ringside::start(bench, &args, Output::Piped)?;
    let pid = ringside.pid();
    let counts = Arc::new(Mutex::new(Counts::default()));
    let stdout = ringside.take_stdout().context("ringside's stdout")?;
    let reader = {
        let counts = Arc::clone(&counts);
        let markers = markers.clone();
        thread::spawn(move || {
            for line in BufReader::with_capacity(1 << 20, stdout).lines() {
                let Ok(line) = line else { break };
                let mut c = lock(&counts);
                c.events += 1;
                let Ok(event) = serde_json::from_str::<Line>(&line) else {
                    continue;
                };
                let unresolved = || event.frames().filter_map(|f| f.unresolved.as_deref());
                c.frames += event.frames().count() as u64;
                c.unresolved += unresolved().count() as u64;
                c.timed_out += unresolved()
                    .filter(|&why| why == "symbolization timed out")
                    .count() as u64;
                let path = event.path.as_deref();
                if let Some(index) = markers.iter().position(|m| Some(m.as_str()) == path) {
                    c.markers[index] += 1;
                    c.last_marker[index] = Some(Instant::now());
                    let resolved = ["inner_open", "middle_open", "outer_open"]
                        .iter()
                        .all(|f| event.has_symbol(f));
                    c.resolved[index] += u64::from(resolved);
                }
            }
        })
    };
    let rss_start = status_kb(pid, "VmRSS");
    bench.progress(&format!("symbolize: cold burst, {cold} processes"));
    let cold_burst = burst(&program, &markers[0], cold, 0, pid, &counts, "cold")?;
    let rss_cold = status_kb(pid, "VmRSS");
    bench.progress(&format!(
        "symbolize: warm burst, {} processes",
        total - cold
    ));
    let warm_burst = burst(&program, &markers[1], total - cold, 1, pid, &counts, "warm")?;
    let rss_end = status_kb(pid, "VmRSS");
    let hwm_end = status_kb(pid, "VmHWM");
    let summary = ringside.stop()?;
    reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
    // ringside's own counts of its caches, from --stats-file.
    let stats_text = std::fs::read_to_string(&stats_file).unwrap_or_default();
    let stats: Value = serde_json::from_str(&stats_text).unwrap_or_default();
    let cache = |key: &str| stats.get(key).and_then(Value::as_u64);
    let stacks = |key: &str| summary.get("stacks", key);
    if stacks("frames").is_none() {
        bail!("ringside printed no `ringside: stacks ... frames=N` line");
    }

    let mut table = Table::new(
        format!(
            "Symbolization: {total} short-lived processes (`{PROGRAM} open PATH`, nested.c -O0 -g \
             frame pointers) under ringside --events open --comm {PROGRAM}"
        ),
        vec![
            "burst",
            "processes",
            "events",
            "stacks ok",
            "frames",
            "unresolved",
            "wall",
            "frames/s wall",
            "symbolizer CPU",
            "frames/s CPU",
            "ringside CPU",
        ],
    );
    let ms =
        |ns: Option<u64>| ns.map_or("n/a".to_owned(), |ns| format!("{:.0} ms", ns as f64 / 1e6));
    let mut bursts_json = Map::new();
    for (index, b) in [&cold_burst, &warm_burst].into_iter().enumerate() {
        table.row(vec![
            b.name.to_owned(),
            b.processes.to_string(),
            b.counts.events.to_string(),
            format!("{}/{}", b.counts.resolved[index], b.counts.markers[index]),
            b.counts.frames.to_string(),
            b.counts.unresolved.to_string(),
            format!("{:.2} s", b.wall.as_secs_f64()),
            human_rate(b.frames_per_wall_sec()).replace("/s", ""),
            ms(b.symbolizer_cpu_ns),
            b.frames_per_cpu_sec()
                .map_or("n/a".to_owned(), |r| human_rate(r).replace("/s", "")),
            ms(b.ringside_cpu_ns),
        ]);
        bursts_json.insert(
            b.name.to_owned(),
            json!({
                "processes": b.processes,
                "events": b.counts.events,
                "marker_events": b.counts.markers[index],
                "marker_stacks_resolved": b.counts.resolved[index],
                "frames": b.counts.frames,
                "unresolved_frames": b.counts.unresolved,
                "timed_out_frames": b.counts.timed_out,
                "wall_s": b.wall.as_secs_f64(),
                "frames_per_wall_s": b.frames_per_wall_sec(),
                "symbolizer_cpu_ns": b.symbolizer_cpu_ns,
                "frames_per_cpu_s": b.frames_per_cpu_sec(),
                "ringside_cpu_ns": b.ringside_cpu_ns,
            }),
        );
    }
    let mib = |kb: Option<u64>| {
        kb.map_or("n/a".to_owned(), |kb| {
            format!("{:.1} MiB", kb as f64 / 1024.0)
        })
    };
    let growth =
        |to: Option<u64>, from: Option<u64>| to.zip(from).map(|(to, from)| to.saturating_sub(from));
    let warm_growth = growth(rss_end, rss_cold);
    let mut memory = Table::new(
        format!("ringside's memory (VmRSS, VmHWM of /proc/<pid>/status) around {total} processes"),
        vec![
            "at start",
            "after cold",
            "after all",
            "VmHWM",
            "growth",
            "warm growth per process",
        ],
    );
    memory.row(vec![
        mib(rss_start),
        mib(rss_cold),
        mib(rss_end),
        mib(hwm_end),
        mib(growth(rss_end, rss_start)),
        warm_growth.map_or("n/a".to_owned(), |kb| {
            format!("{:.0} B", kb as f64 * 1024.0 / (total - cold).max(1) as f64)
        }),
    ]);
    let mut caches = Table::new(
        "ringside's symbolizer caches at exit (--stats-file)",
        vec!["processes", "mappings", "cached frames", "peak RSS"],
    );
    let show = |v: Option<u64>| v.map_or("n/a".to_owned(), |v| v.to_string());
    caches.row(vec![
        show(cache("symbolizer_processes")),
        show(cache("symbolizer_mappings")),
        show(cache("symbolizer_cached_frames")),
        mib(cache("peak_rss_kib")),
    ]);
    let line = summary
        .lines
        .iter()
        .find(|l| l.starts_with("ringside: stacks "))
        .cloned()
        .unwrap_or_default();
    let notes = vec![
        format!("ringside's own count: {line}"),
        format!(
            "frames/s wall = frames / (first spawn to last event read): bound by how fast \
             processes start ({PARALLEL} at a time), not only by the symbolizer. frames/s CPU = \
             frames / CPU time of ringside's `{SYMBOLIZER_THREAD}` thread \
             (/proc/<pid>/task/<tid>/sched, read from outside): the symbolizer's own rate."
        ),
        "frames counts every frame printed (user and kernel, resolved or not), on every open of \
         the program (ld.so's included); `stacks ok` counts marker opens whose user stack has \
         inner_open, middle_open and outer_open."
            .to_owned(),
        "growth = VmRSS after the processes minus at start (the cold burst loads debug info and \
         kernel symbols once); warm growth per process = what each further process adds. The \
         caches' entry counts are ringside's own (--stats-file); their bytes it does not report."
            .to_owned(),
    ];
    let ringside_stacks: Map<String, Value> = [
        "symbolized",
        "timed_out",
        "frames",
        "unresolved_frames",
        "mapping_records_lost",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), json!(stacks(k))))
    .collect();
    let caches_json: Map<String, Value> = [
        "symbolizer_processes",
        "symbolizer_mappings",
        "symbolizer_cached_frames",
        "peak_rss_kib",
    ]
    .into_iter()
    .map(|k| (k.to_owned(), json!(cache(k))))
    .collect();
    let json = json!({
        "processes": total,
        "bursts": bursts_json,
        "memory_kb": {
            "rss_start": rss_start,
            "rss_after_cold": rss_cold,
            "rss_end": rss_end,
            "hwm_end": hwm_end,
        },
        "ringside_stacks": ringside_stacks,
        "caches": caches_json,
        "open": {
            "delivered": summary.get("open", "delivered"),
            "dropped": summary.get("open", "dropped"),
        },
    });
    Ok(Section {
        tables: vec![table, memory, caches],
        notes,
        checks: Vec::new(),
        json,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_line_counts_its_frames_and_finds_inlined_symbols() {
        let line = r#"{"type":"open","pid":7,"path":"/tmp/symbolize-cold","ustack":[{"addr":"0x1","symbol":"inner_open","inlined":[{"symbol":"middle_open"}]},{"addr":"0x2","unresolved":"symbolization timed out"}],"kstack":[{"addr":"0x3","unresolved":"not in kallsyms"}]}"#;
        let event: Line = serde_json::from_str(line).expect("parse");
        assert_eq!(event.path.as_deref(), Some("/tmp/symbolize-cold"));
        assert_eq!(event.frames().count(), 3);
        assert_eq!(event.frames().filter(|f| f.unresolved.is_some()).count(), 2);
        assert!(event.has_symbol("inner_open"));
        assert!(event.has_symbol("middle_open"));
        assert!(!event.has_symbol("outer_open"));
        let bare: Line = serde_json::from_str(r#"{"type":"exec","pid":7}"#).expect("parse");
        assert_eq!(bare.frames().count(), 0);
    }
}
