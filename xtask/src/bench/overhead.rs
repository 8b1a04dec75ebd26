//! Syscall overhead: storms of open+close, fork+exec and loopback connect+accept+close, timed by
//! the load generator itself, untraced and under each tracer, in alternating repetitions. Every
//! ratio is traced / untraced of the same repetition, so slow phases of a noisy machine hit both
//! sides of a ratio.

use std::ffi::OsString;

use anyhow::{Context, Result};

use super::json::{Json, obj};
use super::procs::{Load, Output, Ringside, load_under_bpftrace};
use super::stats::{Spread, spread};
use super::tui::{COLS, ROWS, Screen, Tui};
use super::{Bench, Check, Section, Status, Table, human_ns, range, spread_json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Storm {
    Open,
    Exec,
    Connect,
}

impl Storm {
    const ALL: [Storm; 3] = [Storm::Open, Storm::Exec, Storm::Connect];

    fn name(self) -> &'static str {
        match self {
            Storm::Open => "open",
            Storm::Exec => "exec",
            Storm::Connect => "connect",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Storm::Open => "open+close /dev/null",
            Storm::Exec => "fork+exec /bin/true+wait",
            Storm::Connect => "loopback connect+accept+close",
        }
    }

    /// Operations per run: a few tenths of a second untraced.
    fn ops(self, bench: &Bench) -> u64 {
        match self {
            Storm::Open => bench.size(200_000, 100_000),
            Storm::Exec => bench.size(500, 250),
            Storm::Connect => bench.size(6_000, 3_000),
        }
    }

    fn load_args(self, ops: u64) -> Vec<OsString> {
        let ops = ops.to_string();
        let args: Vec<&str> = match self {
            Storm::Open => vec!["open", &ops, "/dev/null"],
            Storm::Exec => vec!["exec", &ops],
            Storm::Connect => vec!["connect", &ops, "0"],
        };
        args.into_iter().map(OsString::from).collect()
    }

    /// bpftrace printing, for each event ringside reports during this storm, the same kind of
    /// line: who (pid, comm) and the main argument. bpftrace 0.17 spells tracepoint arguments
    /// `args->field`.
    fn bpftrace_script(self) -> &'static str {
        match self {
            Storm::Open => {
                r#"tracepoint:syscalls:sys_enter_openat { printf("%d %s %s\n", pid, comm, str(args->filename)); }"#
            }
            // Each iteration: a fork, an exec, ld.so's opens in the child, and the child's exit.
            Storm::Exec => concat!(
                r#"tracepoint:syscalls:sys_enter_execve { printf("exec %d %s %s\n", pid, comm, str(args->filename)); } "#,
                r#"tracepoint:sched:sched_process_fork { printf("fork %d %s %d\n", pid, comm, args->child_pid); } "#,
                r#"tracepoint:sched:sched_process_exit { printf("exit %d %s\n", pid, comm); } "#,
                r#"tracepoint:syscalls:sys_enter_openat { printf("open %d %s %s\n", pid, comm, str(args->filename)); }"#
            ),
            // Each iteration: a connect, an accept and two TCP sessions closing.
            Storm::Connect => concat!(
                r#"tracepoint:syscalls:sys_enter_connect { printf("connect %d %s %d\n", pid, comm, args->fd); } "#,
                r#"tracepoint:syscalls:sys_exit_accept4 { printf("accept %d %s %d\n", pid, comm, args->ret); } "#,
                r#"tracepoint:syscalls:sys_exit_accept { printf("accept %d %s %d\n", pid, comm, args->ret); } "#,
                r#"tracepoint:sock:inet_sock_set_state /args->newstate == 7/ { printf("tcp_close %d %s %d %d\n", pid, comm, args->sport, args->dport); }"#
            ),
        }
    }
}

/// What runs alongside the storm.
#[derive(Clone, Copy)]
enum Tracer {
    Untraced,
    /// `ringside --json <args>` with stdout to /dev/null.
    Ringside(&'static [&'static str]),
    /// `ringside <args>`: the TUI in a 200x50 pseudo-terminal whose output a thread drains.
    Tui(&'static [&'static str]),
    Bpftrace,
}

struct Variant {
    key: &'static str,
    label: &'static str,
    tracer: Tracer,
}

const VARIANTS: &[Variant] = &[
    Variant {
        key: "untraced",
        label: "untraced",
        tracer: Tracer::Untraced,
    },
    Variant {
        key: "events",
        label: "ringside --stacks none",
        tracer: Tracer::Ringside(&["--stacks", "none"]),
    },
    Variant {
        key: "stacks_fp",
        label: "ringside --stack-bytes 0 (frame pointers)",
        tracer: Tracer::Ringside(&["--stack-bytes", "0"]),
    },
    Variant {
        key: "stacks",
        label: "ringside (stacks, unwound)",
        tracer: Tracer::Ringside(&[]),
    },
    Variant {
        key: "tui",
        label: "ringside TUI (stacks, 200x50 pty)",
        tracer: Tracer::Tui(&[]),
    },
    Variant {
        key: "pid_filter",
        label: "ringside --pid 1",
        tracer: Tracer::Ringside(&["--pid", "1"]),
    },
    Variant {
        key: "bpftrace",
        label: "bpftrace one-liner",
        tracer: Tracer::Bpftrace,
    },
];

/// The issue's slowdown targets. exec and connect have one target; it applies with and
/// without stacks, since stacks are ringside's default. The TUI runs with its defaults (every
/// event type, user+kernel stacks), so it has the targets of the stacks row.
fn target(storm: Storm, variant: &str) -> Option<f64> {
    match (storm, variant) {
        (Storm::Open, "events") => Some(1.25),
        (Storm::Open, "stacks" | "tui") => Some(2.0),
        (Storm::Exec, "events" | "stacks" | "tui") => Some(1.10),
        (Storm::Connect, "events" | "stacks" | "tui") => Some(1.15),
        (_, "pid_filter") => Some(1.05),
        _ => None,
    }
}

/// One timed storm.
struct Run {
    ns_per_op: f64,
    /// ringside: events delivered and dropped (all types); bpftrace: lines printed.
    events: Option<u64>,
    dropped: Option<u64>,
    /// ringside's CPU time (all threads) while the storm ran, per operation.
    tracer_cpu_ns_per_op: Option<f64>,
}

fn run_one(bench: &Bench, storm: Storm, variant: &Variant) -> Result<Run> {
    let load_args = storm.load_args(storm.ops(bench));
    match variant.tracer {
        Tracer::Untraced => Ok(Run {
            ns_per_op: Load::spawn(bench, &load_args)?.run()?.ns_per_op(),
            events: None,
            dropped: None,
            tracer_cpu_ns_per_op: None,
        }),
        Tracer::Ringside(args) => {
            let load = Load::spawn(bench, &load_args)?;
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let ringside = Ringside::start(bench, &args, Output::Null)?;
            let (result, cpu) = load.run_beside(ringside.pid())?;
            let summary = ringside.stop()?;
            let delivered = summary
                .counters
                .values()
                .filter_map(|c| c.get("delivered"))
                .sum();
            Ok(Run {
                ns_per_op: result.ns_per_op(),
                events: Some(delivered),
                dropped: Some(summary.total_dropped()),
                tracer_cpu_ns_per_op: cpu,
            })
        }
        Tracer::Tui(args) => {
            let load = Load::spawn(bench, &load_args)?;
            let tui = Tui::start(bench, args, Screen::Discard)?;
            let (result, cpu) = load.run_beside(tui.pid())?;
            let stats = tui.quit()?;
            Ok(Run {
                ns_per_op: result.ns_per_op(),
                events: Some(stats.total_delivered()),
                dropped: Some(stats.total_dropped()),
                tracer_cpu_ns_per_op: cpu,
            })
        }
        Tracer::Bpftrace => {
            let (result, stats) = load_under_bpftrace(bench, storm.bpftrace_script(), &load_args)?;
            Ok(Run {
                ns_per_op: result.ns_per_op(),
                events: None,
                dropped: Some(stats.lost),
                tracer_cpu_ns_per_op: None,
            })
        }
    }
}

pub fn run(bench: &Bench) -> Result<Section> {
    let variants: Vec<&Variant> = VARIANTS
        .iter()
        .filter(|v| !matches!(v.tracer, Tracer::Bpftrace) || bench.bpftrace.is_some())
        .collect();
    let mut table = Table::new(
        format!(
            "Syscall overhead: ns per operation and slowdown traced/untraced (median of {} \
             alternating repetitions, min–max)",
            bench.reps
        ),
        vec![
            "storm",
            "tracer",
            "ns/op",
            "ns/op min–max",
            "ratio",
            "ratio min–max",
            "target",
            "result",
            "events/run",
            "dropped",
            "ringside CPU/op",
        ],
    );
    let mut checks = Vec::new();
    let mut storms_json = Vec::new();
    for storm in Storm::ALL {
        let ops = storm.ops(bench);
        // Warm-up, not counted: page cache, the dynamic loader's caches, socket slabs.
        Load::spawn(bench, &storm.load_args(ops))?.run()?;
        let mut runs: Vec<Vec<Run>> = variants.iter().map(|_| Vec::new()).collect();
        for rep in 0..bench.reps {
            // Rotate the order each repetition, so no tracer always runs first or last.
            for k in 0..variants.len() {
                let index = (rep + k) % variants.len();
                let variant = variants[index];
                bench.progress(&format!(
                    "overhead {} storm ({ops} ops), repetition {}/{}: {}",
                    storm.name(),
                    rep + 1,
                    bench.reps,
                    variant.label
                ));
                let run = run_one(bench, storm, variant)
                    .with_context(|| format!("{} storm under {}", storm.name(), variant.label))?;
                runs[index].push(run);
            }
        }
        let untraced: Vec<f64> = runs[0].iter().map(|r| r.ns_per_op).collect();
        let mut variants_json = Vec::new();
        for (variant, runs) in variants.iter().zip(&runs) {
            let ns: Vec<f64> = runs.iter().map(|r| r.ns_per_op).collect();
            let ratios: Vec<f64> = ns.iter().zip(&untraced).map(|(t, u)| t / u).collect();
            let ns_spread = spread(&ns);
            let ratio_spread = spread(&ratios);
            let events: Vec<f64> = runs
                .iter()
                .filter_map(|r| r.events.map(|e| e as f64))
                .collect();
            let events_median = spread(&events).map(|s| s.median);
            let dropped: Option<u64> = runs.iter().map(|r| r.dropped).sum();
            let cpu: Vec<f64> = runs.iter().filter_map(|r| r.tracer_cpu_ns_per_op).collect();
            let cpu_spread = spread(&cpu);
            let target = target(storm, variant.key);
            let status = match (target, &ratio_spread) {
                (Some(t), Some(r)) => Some(Status::of(r.median <= t)),
                _ => None,
            };
            let is_baseline = variant.key == "untraced";
            table.row(vec![
                storm.name().to_owned(),
                variant.label.to_owned(),
                cell(&ns_spread, |s| human_ns(s.median)),
                cell(&ns_spread, |s| range(s, human_ns)),
                if is_baseline {
                    "1".to_owned()
                } else {
                    cell(&ratio_spread, |s| format!("{:.2}", s.median))
                },
                if is_baseline {
                    String::new()
                } else {
                    cell(&ratio_spread, |s| range(s, |x| format!("{x:.2}")))
                },
                target.map_or(String::new(), |t| format!("<= {t:.2}")),
                status.map_or(String::new(), |s| s.word().to_owned()),
                events_median.map_or(String::new(), |e| format!("{e:.0}")),
                dropped.map_or(String::new(), |d| d.to_string()),
                cpu_spread
                    .as_ref()
                    .map_or(String::new(), |s| human_ns(s.median)),
            ]);
            if let (Some(t), Some(status), Some(r)) = (target, status, &ratio_spread) {
                checks.push(Check {
                    what: format!("{} storm slowdown, {}", storm.name(), variant.label),
                    target: format!("<= {t:.2}"),
                    value: format!("{:.2} ({:.2}–{:.2})", r.median, r.min, r.max),
                    status,
                });
            }
            if let (Storm::Open, "tui", Some(dropped)) = (storm, variant.key, dropped) {
                checks.push(Check {
                    what: "zero drops, full-speed open storm with the TUI running".to_owned(),
                    target: "0 dropped".to_owned(),
                    value: format!("{dropped} dropped in {} storms of {ops} opens", runs.len()),
                    status: Status::of(dropped == 0),
                });
            }
            variants_json.push((
                variant.key,
                obj([
                    ("label", Json::from(variant.label)),
                    ("ns_per_op", spread_json(ns_spread.as_ref(), &ns)),
                    (
                        "ratio",
                        if is_baseline {
                            Json::Null
                        } else {
                            spread_json(ratio_spread.as_ref(), &ratios)
                        },
                    ),
                    ("target", Json::from(target)),
                    ("status", Json::from(status.map(Status::word))),
                    ("events_per_run", Json::from(events)),
                    ("dropped_total", Json::from(dropped)),
                    (
                        "ringside_cpu_ns_per_op",
                        spread_json(cpu_spread.as_ref(), &cpu),
                    ),
                ]),
            ));
        }
        storms_json.push((
            storm.name(),
            obj([
                ("what", Json::from(storm.what())),
                ("ops_per_run", Json::from(ops)),
                ("bpftrace_script", Json::from(storm.bpftrace_script())),
                ("variants", obj(variants_json)),
            ]),
        ));
    }
    let mut notes = vec![
        "ns/op: the load's own CLOCK_MONOTONIC time around its loop, divided by the operations. \
         ratio: traced/untraced of the same repetition. ringside runs `--json` with stdout to \
         /dev/null, every event type."
            .to_owned(),
        "connect storm: the client closes with SO_LINGER 0 (RST), so no TIME_WAIT sockets pile up; \
         ringside reports 4 events per iteration (connect, accept, 2 tcp_close)."
            .to_owned(),
        "ringside CPU/op: CPU time of all ringside's threads during the storm (from \
         /proc/<pid>/task/*/sched), per operation: on 2 CPUs it competes with the load."
            .to_owned(),
        "events/run: events ringside delivered (all types, all processes). dropped: ringside's \
         dropped counts, or the events bpftrace reported lost, summed over the repetitions."
            .to_owned(),
        format!(
            "TUI: `ringside` with its defaults (every event type, user+kernel stacks) in a \
             {COLS}x{ROWS} pseudo-terminal whose output a thread reads and discards; started \
             once it entered its screen (probes attached), quit with `q`; events and drops from \
             its --stats-file (events: those it decoded and kept)."
        ),
    ];
    if bench.bpftrace.is_some() {
        notes.push(
            "bpftrace runs the load itself (`bpftrace -o /dev/null -c LOAD -e SCRIPT`): it starts \
             the command once its probes are attached (its start-up lines go to the same stream \
             as its events, so waiting for them would need the events on a pipe or a file)."
                .to_owned(),
        );
    } else {
        notes.push("bpftrace is not installed: no anchor rows.".to_owned());
    }
    Ok(Section {
        tables: vec![table],
        notes,
        checks,
        json: obj([
            ("reps", Json::from(bench.reps)),
            ("storms", obj(storms_json)),
        ]),
    })
}

fn cell(spread: &Option<Spread>, show: impl Fn(&Spread) -> String) -> String {
    spread.as_ref().map_or_else(|| "n/a".to_owned(), show)
}
