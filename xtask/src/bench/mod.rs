//! `cargo xtask bench`: what ringside costs the machine it watches, side by side with an
//! untraced baseline and with bpftrace, as ratios from the same run (issue 6).
//!
//! Each measurement family is a module returning a [`Section`]: tables for stdout, checks
//! against the targets, and its part of the JSON results file. The TUI is measured in a
//! pseudo-terminal (`tui`): its own costs in the UI family (`ui`), and the storms it slows down
//! as one more tracer in `overhead`.

mod counts;
mod fleet;
mod latency;
mod loss;
mod otlp;
mod overhead;
mod procs;
mod stacks_view;
mod stats;
mod store_fill;
mod symbolize;
mod tui;
mod ui;
mod unwind;

use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Instant, SystemTime};

use anyhow::{Context, Result, bail};
use clap::ValueEnum;
use serde_json::{Value, json};

use crate::{cmd, setup};
use stats::Spread;

#[derive(Debug, clap::Args)]
pub struct BenchArgs {
    /// A smoke run: fewer repetitions and smaller loads (under two minutes).
    #[arg(long)]
    quick: bool,
    /// Repetitions of each overhead measurement [default: 5, or 3 with --quick].
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..=50))]
    reps: Option<u32>,
    /// Use target/release/ringside as it is, without `cargo build --release -p ringside`.
    #[arg(long)]
    no_build: bool,
    /// Measure this ringside binary instead, as it is (no build): e.g. target/dist/ringside,
    /// the static build of `cargo xtask dist`, against the glibc build's figures.
    #[arg(long, value_name = "PATH")]
    ringside: Option<PathBuf>,
    /// Run only these measurement families, comma-separated.
    #[arg(long, value_enum, value_delimiter = ',', value_name = "FAMILIES")]
    only: Vec<Family>,
}

/// The measurement families, in the order they run.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
enum Family {
    /// Slowdown of open/exec/connect storms, traced against untraced, and against bpftrace.
    Overhead,
    /// Highest zero-drop event rate, and exact accounting under overload.
    Loss,
    /// Kernel timestamp to event at 10k events/s.
    Latency,
    /// Frames symbolized per second and cache memory after many short-lived processes.
    Symbolize,
    /// The TUI's own costs: frame time with 1M events (Events and Stacks views), idle CPU,
    /// memory per event, first event.
    Ui,
    /// User stacks without frame pointers: copy cost per event, unwind cost per frame, and the
    /// copy size real programs need.
    Unwind,
    /// Connect counts per process, ringside against bpftrace, over a real workload.
    Counts,
    /// `--otlp` under open storms into a local collector: CPU per exported event, bytes on
    /// the wire, the rate delivered with no drop.
    Otlp,
    /// The fleet view over 1, 4 and 8 ssh hosts: the viewer's CPU per merged event, stream
    /// bytes per event, the remotes' CPU beside `--json`'s, end-to-end latency.
    Fleet,
}

impl Family {
    fn name(self) -> &'static str {
        match self {
            Family::Overhead => "overhead",
            Family::Loss => "loss",
            Family::Latency => "latency",
            Family::Symbolize => "symbolize",
            Family::Ui => "ui",
            Family::Unwind => "unwind",
            Family::Counts => "counts",
            Family::Otlp => "otlp",
            Family::Fleet => "fleet",
        }
    }

    fn run(self, bench: &Bench) -> Result<Section> {
        match self {
            Family::Overhead => overhead::run(bench),
            Family::Loss => loss::run(bench),
            Family::Latency => latency::run(bench),
            Family::Symbolize => symbolize::run(bench),
            Family::Ui => ui::run(bench),
            Family::Unwind => unwind::run(bench),
            Family::Counts => counts::run(bench),
            Family::Otlp => otlp::run(bench),
            Family::Fleet => fleet::run(bench),
        }
    }
}

/// What every measurement needs: the binaries, where files go, how much to do.
pub struct Bench {
    pub quick: bool,
    pub reps: usize,
    /// target/release/ringside
    pub ringside: PathBuf,
    /// The load generator, built from xtask/bench/load.c.
    pub load: PathBuf,
    pub bpftrace: Option<PathBuf>,
    /// target/bench: binaries, results, ringside's log.
    pub dir: PathBuf,
    /// A directory of our own for paths the loads open (removed at the end).
    pub scratch: PathBuf,
    /// When the bench started, for the progress lines.
    pub started: Instant,
}

impl Bench {
    /// `full` normally, `quick` with --quick.
    pub fn size(&self, full: u64, quick: u64) -> u64 {
        if self.quick { quick } else { full }
    }

    /// The load generator's comm, as bpftrace's `comm` sees it.
    pub fn load_comm(&self) -> String {
        comm_of(&self.load)
    }

    /// A progress line on stderr (stdout carries only the tables).
    pub fn progress(&self, text: &str) {
        eprintln!(
            "bench [{:5.1}s]: {text}",
            self.started.elapsed().as_secs_f64()
        );
    }
}

/// A table for stdout.
pub struct Table {
    pub title: String,
    pub header: Vec<&'static str>,
    pub rows: Vec<Vec<String>>,
}

impl Table {
    pub fn new(title: impl Into<String>, header: Vec<&'static str>) -> Self {
        Self {
            title: title.into(),
            header,
            rows: Vec::new(),
        }
    }

    pub fn row(&mut self, cells: Vec<String>) {
        self.rows.push(cells);
    }

    /// Columns padded to their widest cell; the first left-aligned, the others right-aligned.
    fn render(&self) -> String {
        let columns = self.header.len();
        let mut widths: Vec<usize> = self.header.iter().map(|h| h.chars().count()).collect();
        for row in &self.rows {
            for (i, cell) in row.iter().enumerate().take(columns) {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
        let line = |cells: &mut dyn Iterator<Item = &str>| {
            let mut out = String::new();
            for (i, cell) in cells.enumerate() {
                let pad = widths[i].saturating_sub(cell.chars().count());
                if i > 0 {
                    out.push_str("  ");
                }
                if i == 0 {
                    out.push_str(cell);
                    out.push_str(&" ".repeat(pad));
                } else {
                    out.push_str(&" ".repeat(pad));
                    out.push_str(cell);
                }
            }
            out.trim_end().to_owned()
        };
        let mut out = format!("{}\n", self.title);
        out.push_str(&line(&mut self.header.iter().copied()));
        out.push('\n');
        let total: usize = widths.iter().sum::<usize>() + 2 * columns.saturating_sub(1);
        out.push_str(&"-".repeat(total));
        out.push('\n');
        for row in &self.rows {
            out.push_str(&line(&mut row.iter().map(String::as_str)));
            out.push('\n');
        }
        out
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Status {
    Pass,
    Miss,
}

impl Status {
    pub fn of(pass: bool) -> Self {
        if pass { Status::Pass } else { Status::Miss }
    }

    pub fn word(self) -> &'static str {
        match self {
            Status::Pass => "PASS",
            Status::Miss => "MISS",
        }
    }
}

/// One of the targets and how this run did.
pub struct Check {
    pub what: String,
    pub target: String,
    pub value: String,
    pub status: Status,
}

impl Check {
    fn to_json(&self) -> Value {
        json!({
            "what": self.what,
            "target": self.target,
            "value": self.value,
            "status": self.status.word(),
        })
    }
}

/// What a measurement family hands back.
pub struct Section {
    pub tables: Vec<Table>,
    /// Lines printed under the tables: what was measured, caveats, what ringside lacks.
    pub notes: Vec<String>,
    pub checks: Vec<Check>,
    pub json: Value,
}

pub fn bench(args: BenchArgs) -> Result<()> {
    if !cmd::is_root()? {
        bail!(
            "the bench loads eBPF probes (ringside and bpftrace) and needs root: run \
             `cargo xtask bench` as root"
        );
    }
    let started = SystemTime::now();
    let clock = Instant::now();
    setup::setup()?;
    if !args.no_build && args.ringside.is_none() {
        eprintln!("bench: building ringside (release)");
        cmd::run(cmd::cargo().args(["build", "--release", "-p", "ringside"]))?;
    }
    let bench = prepare(&args, clock)?;
    let families: Vec<Family> = Family::value_variants()
        .iter()
        .copied()
        .filter(|f| args.only.is_empty() || args.only.contains(f))
        .collect();

    let others = procs::other_tracers(&[]);
    let mut out = String::new();
    let human = humantime::format_rfc3339_seconds(started).to_string();
    let cpus = std::thread::available_parallelism().map_or(0, usize::from);
    let kernel = fs::read_to_string("/proc/sys/kernel/osrelease").unwrap_or_default();
    let _ = writeln!(
        out,
        "ringside bench, {human}: {cpus} CPUs, Linux {}, {} repetitions{}",
        kernel.trim(),
        bench.reps,
        if bench.quick { " (--quick)" } else { "" }
    );
    if !others.is_empty() {
        let _ = writeln!(
            out,
            "warning: other tracers are running ({}): they slow the untraced baseline too, so \
             ratios understate ringside's cost",
            others.join(", ")
        );
    }
    print!("{out}");

    let mut results = json!({
        "version": 1,
        "started": human,
        "quick": bench.quick,
        "reps": bench.reps,
        "cpus": cpus,
        "kernel": kernel.trim(),
        "ringside": bench.ringside.display().to_string(),
        "bpftrace": bpftrace_version(&bench),
        "other_tracers_at_start": others,
    });
    let mut checks = Vec::new();
    let mut failed = Vec::new();
    for family in families {
        let name = family.name();
        bench.progress(&format!("== {name} =="));
        let begun = Instant::now();
        match family.run(&bench) {
            Ok(section) => {
                println!();
                for table in &section.tables {
                    println!("{}", table.render());
                }
                for note in &section.notes {
                    println!("  {note}");
                }
                results[name] = section.json;
                checks.extend(section.checks);
            }
            Err(error) => {
                println!("\n{name}: FAILED: {error:#}");
                results[name] = json!({ "error": format!("{error:#}") });
                failed.push(name);
            }
        }
        eprintln!("bench: {name} took {:.0?}", begun.elapsed());
    }

    let mut summary = Table::new(
        "\nTargets (issue 6)",
        vec!["target", "wanted", "this run", "result"],
    );
    for check in &checks {
        summary.row(vec![
            check.what.clone(),
            check.target.clone(),
            check.value.clone(),
            check.status.word().to_owned(),
        ]);
    }
    println!("{}", summary.render());
    let missed = checks.iter().filter(|c| c.status == Status::Miss).count();
    let elapsed = clock.elapsed();
    results["checks"] = checks.iter().map(Check::to_json).collect();
    results["failed_families"] = json!(failed);
    results["duration_s"] = json!(elapsed.as_secs_f64());
    let path = write_results(&bench, &human, &results)?;
    println!(
        "{missed} target(s) missed; bench took {:.0} s; results in {}",
        elapsed.as_secs_f64(),
        path.display()
    );
    let _ = fs::remove_dir_all(&bench.scratch);
    if !failed.is_empty() {
        bail!("measurements failed: {}", failed.join(", "));
    }
    Ok(())
}

/// Directories, the load generator, bpftrace.
fn prepare(args: &BenchArgs, started: Instant) -> Result<Bench> {
    let target = target_dir();
    let dir = target.join("bench");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let load = dir.join("rsbench-load");
    compile(
        &cmd::workspace_root().join("xtask/bench/load.c"),
        &load,
        &["-O2", "-Wall"],
    )?;
    let scratch = dir.join(format!("scratch-{}", std::process::id()));
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let bpftrace = cmd::find_on_path("bpftrace");
    if bpftrace.is_none() {
        eprintln!("bench: bpftrace is not installed: the anchor rows are skipped");
    }
    let quick = args.quick;
    let reps = args.reps.map_or(if quick { 3 } else { 5 }, |n| n as usize);
    Ok(Bench {
        quick,
        reps,
        ringside: match &args.ringside {
            Some(path) => fs::canonicalize(path)
                .with_context(|| format!("--ringside {}: no such binary", path.display()))?,
            None => target.join("release/ringside"),
        },
        load,
        bpftrace,
        dir,
        scratch,
        started,
    })
}

/// `cc <flags> -o output source`.
pub fn compile(source: &Path, output: &Path, flags: &[&str]) -> Result<()> {
    cmd::run(
        Command::new("cc")
            .args(flags)
            .arg("-o")
            .arg(output)
            .arg(source),
    )
    .with_context(|| format!("building {}", source.display()))
}

/// Where cargo puts the build: CARGO_TARGET_DIR (relative to the workspace root) or target/.
fn target_dir() -> PathBuf {
    let root = cmd::workspace_root();
    std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

fn bpftrace_version(bench: &Bench) -> Option<String> {
    let program = bench.bpftrace.as_ref()?;
    let out = cmd::output(Command::new(program).arg("--version")).ok()?;
    Some(out.trim().to_owned())
}

/// target/bench/results-<timestamp>.json and a copy as target/bench/latest.json.
fn write_results(bench: &Bench, started: &str, results: &Value) -> Result<PathBuf> {
    let path = bench
        .dir
        .join(format!("results-{}.json", file_stamp(started)));
    let text = format!("{}\n", serde_json::to_string_pretty(results)?);
    fs::write(&path, &text).with_context(|| format!("writing {}", path.display()))?;
    let latest = bench.dir.join("latest.json");
    fs::write(&latest, &text).with_context(|| format!("writing {}", latest.display()))?;
    Ok(path)
}

/// `20261125T031335Z` for a start at `2026-11-25T03:13:35Z`: a time in a file name.
fn file_stamp(started: &str) -> String {
    started.replace(['-', ':'], "")
}

/// The comm of a process that executed `path`: the file name, cut to the kernel's 15 bytes
/// (TASK_COMM_LEN - 1).
pub fn comm_of(path: &Path) -> String {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut end = name.len().min(15);
    while !name.is_char_boundary(end) {
        end -= 1;
    }
    name[..end].to_owned()
}

/// Nanoseconds for people: `2510 ns`, `61.2 µs`, `1.21 ms`.
pub fn human_ns(ns: f64) -> String {
    if !ns.is_finite() {
        "n/a".to_owned()
    } else if ns.abs() < 10_000.0 {
        format!("{ns:.0} ns")
    } else if ns.abs() < 1_000_000.0 {
        format!("{:.1} µs", ns / 1e3)
    } else {
        format!("{:.2} ms", ns / 1e6)
    }
}

/// A rate for people: `812 /s`, `81.2k/s`, `1.20M/s`.
pub fn human_rate(per_sec: f64) -> String {
    if per_sec >= 1e6 {
        format!("{:.2}M/s", per_sec / 1e6)
    } else if per_sec >= 1e3 {
        format!("{:.1}k/s", per_sec / 1e3)
    } else {
        format!("{per_sec:.0}/s")
    }
}

/// `min–max` of a spread, each formatted by `show`.
pub fn range(spread: &Spread, show: impl Fn(f64) -> String) -> String {
    format!("{}–{}", show(spread.min), show(spread.max))
}

/// A spread in the results file, samples included.
pub fn spread_json(spread: Option<&Spread>, samples: &[f64]) -> Value {
    match spread {
        None => Value::Null,
        Some(s) => json!({
            "median": s.median,
            "min": s.min,
            "max": s.max,
            "q1": s.q1,
            "q3": s.q3,
            "samples": samples,
        }),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, UNIX_EPOCH};

    use super::*;

    #[test]
    fn tables_align() {
        let mut table = Table::new("T", vec!["name", "value"]);
        table.row(vec!["a".into(), "1".into()]);
        table.row(vec!["longer".into(), "12345".into()]);
        let text = table.render();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "T");
        assert_eq!(lines[1], "name    value");
        assert_eq!(lines[3], "a           1");
        assert_eq!(lines[4], "longer  12345");
    }

    #[test]
    fn results_files_are_named_by_the_start_in_utc() {
        let started = UNIX_EPOCH + Duration::from_secs(1_795_576_415);
        let human = humantime::format_rfc3339_seconds(started).to_string();
        assert_eq!(human, "2026-11-25T03:13:35Z");
        assert_eq!(file_stamp(&human), "20261125T031335Z");
    }

    #[test]
    fn comms_are_file_names_cut_to_15_bytes() {
        assert_eq!(comm_of(Path::new("/usr/bin/python3")), "python3");
        assert_eq!(
            comm_of(Path::new("/x/a-very-long-program-name")),
            "a-very-long-pro"
        );
    }

    #[test]
    fn human_units() {
        assert_eq!(human_ns(2510.4), "2510 ns");
        assert_eq!(human_ns(61_234.0), "61.2 µs");
        assert_eq!(human_ns(1_210_000.0 * 10.0), "12.10 ms");
        assert_eq!(human_rate(812.0), "812/s");
        assert_eq!(human_rate(81_234.0), "81.2k/s");
        assert_eq!(human_rate(1_200_000.0), "1.20M/s");
    }
}
