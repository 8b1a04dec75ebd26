//! Syscall overhead: storms of open+close, fork+exec, loopback connect+accept+close and writes to
//! a file, timed by the load generator itself, untraced and under each tracer, in alternating
//! repetitions. Every ratio is traced / untraced of the same repetition, so slow phases of a
//! noisy machine hit both sides of a ratio.

use std::ffi::OsString;

use anyhow::{Context, Result};
use serde_json::{Map, Value, json};

use super::procs::{Load, LoadResult, Output, PinnedApart, Ringside, load_under_bpftrace};
use super::stats::{Spread, spread};
use super::tui::{COLS, ROWS, Screen, Tui};
use super::{Bench, Check, Section, Status, Table, human_ns, range, spread_json};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Storm {
    Open,
    Exec,
    Connect,
    /// write(2) to a scratch file: a system call ringside reports nothing about.
    Write,
    /// write(2) to a loopback TCP socket and a read at the other end: a packet each, which the
    /// DNS probes look at and pass by.
    Send,
}

impl Storm {
    const ALL: [Storm; 5] = [
        Storm::Open,
        Storm::Exec,
        Storm::Connect,
        Storm::Write,
        Storm::Send,
    ];

    /// Storms of system calls ringside reports nothing about: what its probes cost the rest of
    /// the system.
    fn silent(self) -> bool {
        matches!(self, Storm::Write | Storm::Send)
    }

    fn name(self) -> &'static str {
        match self {
            Storm::Open => "open",
            Storm::Exec => "exec",
            Storm::Connect => "connect",
            Storm::Write => "write",
            Storm::Send => "send",
        }
    }

    fn what(self) -> &'static str {
        match self {
            Storm::Open => "open+close /dev/null",
            Storm::Exec => "fork+exec /bin/true+wait",
            Storm::Connect => "loopback connect+accept+close",
            Storm::Write => "write 4 KiB to a 1 MiB scratch file (lseek every 256)",
            Storm::Send => "write 512 B to a loopback TCP socket (NODELAY) + read it",
        }
    }

    /// Operations per run: a few tenths of a second untraced.
    fn ops(self, bench: &Bench) -> u64 {
        match self {
            Storm::Open => bench.size(200_000, 100_000),
            Storm::Exec => bench.size(500, 250),
            Storm::Connect => bench.size(6_000, 3_000),
            Storm::Write => bench.size(400_000, 200_000),
            Storm::Send => bench.size(100_000, 50_000),
        }
    }

    fn load_args(self, bench: &Bench, ops: u64) -> Vec<OsString> {
        let ops = OsString::from(ops.to_string());
        match self {
            Storm::Open => vec!["open".into(), ops, "/dev/null".into()],
            Storm::Exec => vec!["exec".into(), ops],
            Storm::Connect => vec!["connect".into(), ops, "0".into()],
            // A file on the bench's disk, not /dev/null: a write that reaches the page cache.
            Storm::Write => vec![
                "write".into(),
                ops,
                bench.scratch.join("write-storm").into(),
            ],
            Storm::Send => vec!["send".into(), ops, "0".into()],
        }
    }

    /// bpftrace printing, for each event ringside reports during this storm, the same kind of
    /// line: who (pid, comm) and the main argument. bpftrace 0.17 spells tracepoint arguments
    /// `args->field`. `load_comm` is the load generator's comm, for the write storm, whose
    /// script watches the load's writes only (a machine writes all the time).
    fn bpftrace_script(self, load_comm: &str) -> String {
        match self {
            Storm::Open => {
                r#"tracepoint:syscalls:sys_enter_openat { printf("%d %s %s\n", pid, comm, str(args->filename)); }"#.to_owned()
            }
            // Each iteration: a fork, an exec, ld.so's opens in the child, and the child's exit.
            Storm::Exec => concat!(
                r#"tracepoint:syscalls:sys_enter_execve { printf("exec %d %s %s\n", pid, comm, str(args->filename)); } "#,
                r#"tracepoint:sched:sched_process_fork { printf("fork %d %s %d\n", pid, comm, args->child_pid); } "#,
                r#"tracepoint:sched:sched_process_exit { printf("exit %d %s\n", pid, comm); } "#,
                r#"tracepoint:syscalls:sys_enter_openat { printf("open %d %s %s\n", pid, comm, str(args->filename)); }"#
            )
            .to_owned(),
            // Each iteration: a connect, an accept and two TCP sessions closing.
            Storm::Connect => concat!(
                r#"tracepoint:syscalls:sys_enter_connect { printf("connect %d %s %d\n", pid, comm, args->fd); } "#,
                r#"tracepoint:syscalls:sys_exit_accept4 { printf("accept %d %s %d\n", pid, comm, args->ret); } "#,
                r#"tracepoint:syscalls:sys_exit_accept { printf("accept %d %s %d\n", pid, comm, args->ret); } "#,
                r#"tracepoint:sock:inet_sock_set_state /args->newstate == 7/ { printf("tcp_close %d %s %d %d\n", pid, comm, args->sport, args->dport); }"#
            )
            .to_owned(),
            // ringside reports nothing here: this is what a tool that watches writes costs.
            Storm::Write | Storm::Send => format!(
                r#"tracepoint:syscalls:sys_enter_write /comm == "{load_comm}"/ {{ printf("write %d %s %d %d\n", pid, comm, args->fd, args->count); }}"#
            ),
        }
    }

    /// bpftrace counting the same events in a map, printing nothing until it exits.
    fn bpftrace_count_script(self, load_comm: &str) -> String {
        match self {
            Storm::Open => "tracepoint:syscalls:sys_enter_openat { @opens = count(); }".to_owned(),
            Storm::Exec => concat!(
                "tracepoint:syscalls:sys_enter_execve, tracepoint:sched:sched_process_fork, ",
                "tracepoint:sched:sched_process_exit, tracepoint:syscalls:sys_enter_openat ",
                "{ @events[probe] = count(); }"
            )
            .to_owned(),
            Storm::Connect => concat!(
                "tracepoint:syscalls:sys_enter_connect, tracepoint:syscalls:sys_exit_accept4, ",
                "tracepoint:syscalls:sys_exit_accept, tracepoint:sock:inet_sock_set_state ",
                "{ @events[probe] = count(); }"
            )
            .to_owned(),
            Storm::Write | Storm::Send => format!(
                r#"tracepoint:syscalls:sys_enter_write /comm == "{load_comm}"/ {{ @writes = count(); }}"#
            ),
        }
    }
}

/// Where the load and the tracer run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Placement {
    /// Wherever the scheduler puts them: on a small machine the tracer competes with the load.
    Shared,
    /// The load on one CPU, the tracer on another: the tracer's cost shows in the kernel's work
    /// for each system call, apart from the fight for a CPU.
    PinnedApart,
}

impl Placement {
    fn key(self) -> &'static str {
        match self {
            Placement::Shared => "shared",
            Placement::PinnedApart => "pinned_apart",
        }
    }

    fn describe(self, cpus: PinnedApart) -> String {
        match self {
            Placement::Shared => "shared CPUs".to_owned(),
            Placement::PinnedApart => format!(
                "pinned apart: load on CPU {}, tracer on CPU {}",
                cpus.load, cpus.tracer
            ),
        }
    }

    fn pinning(self) -> Option<PinnedApart> {
        match self {
            Placement::Shared => None,
            Placement::PinnedApart => Some(PinnedApart::CPUS_0_1),
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
    /// bpftrace counting the storm's events in a map: the probes' floor, nothing sent.
    BpftraceCount,
    /// bpftrace printing a line per event.
    BpftracePrint,
}

struct Variant {
    key: &'static str,
    label: &'static str,
    tracer: Tracer,
    /// The TUI needs a terminal and a frame timer of its own: it runs in the shared mode only.
    shared_only: bool,
    /// Runs only under this storm, pinned apart: a comparison that matters for it alone.
    only: Option<Storm>,
}

/// `--events` for every kind but `signal`.
const EVERY_KIND_BUT_SIGNAL: &str = "exec,open,connect,accept,tcp_close,exit,fork,dns,oom_kill,\
                                     unlink,rename,mkdir,chmod,chown,truncate,link,symlink";

/// The most the signal kind may add to a fork storm, pinned apart: `ringside` with every kind
/// against the same without `signal`.
const SIGNAL_STORM_TARGET: f64 = 1.10;

const VARIANTS: &[Variant] = &[
    Variant {
        key: "untraced",
        label: "untraced",
        tracer: Tracer::Untraced,
        shared_only: false,
        only: None,
    },
    Variant {
        key: "events",
        label: "ringside --stacks none",
        tracer: Tracer::Ringside(&["--stacks", "none"]),
        shared_only: false,
        only: None,
    },
    Variant {
        key: "stacks_fp",
        label: "ringside --stack-bytes 0 (frame pointers)",
        tracer: Tracer::Ringside(&["--stack-bytes", "0"]),
        shared_only: false,
        only: None,
    },
    Variant {
        key: "stacks",
        label: "ringside (stacks, unwound)",
        tracer: Tracer::Ringside(&[]),
        shared_only: false,
        only: None,
    },
    Variant {
        key: "tui",
        label: "ringside TUI (stacks, 200x50 pty)",
        tracer: Tracer::Tui(&[]),
        shared_only: true,
        only: None,
    },
    // The fork storm's SIGCHLDs, one per child, with and without the signal kind (issue 29).
    Variant {
        key: "no_signals",
        label: "ringside (stacks), every kind but signal",
        tracer: Tracer::Ringside(&["--events", EVERY_KIND_BUT_SIGNAL]),
        shared_only: false,
        only: Some(Storm::Exec),
    },
    Variant {
        key: "pid_filter",
        label: "ringside --pid 1 (kernel-filtered floor)",
        tracer: Tracer::Ringside(&["--pid", "1"]),
        shared_only: false,
        only: None,
    },
    Variant {
        key: "bpftrace_count",
        label: "bpftrace counting in a map",
        tracer: Tracer::BpftraceCount,
        shared_only: false,
        only: None,
    },
    Variant {
        key: "bpftrace",
        label: "bpftrace printing the fields",
        tracer: Tracer::BpftracePrint,
        shared_only: false,
        only: None,
    },
];

/// The slowdown targets. Pinned apart (issue 13): the kernel-side cost of each event. Shared:
/// what a 2-CPU machine sees with the tracer competing; exec and connect have one target, with
/// and without stacks, since stacks are ringside's default.
fn target(placement: Placement, storm: Storm, variant: &str) -> Option<f64> {
    match (placement, storm, variant) {
        (Placement::PinnedApart, Storm::Open, "events") => Some(1.30),
        (Placement::PinnedApart, Storm::Open, "stacks") => Some(1.8),
        (Placement::PinnedApart, Storm::Exec, "stacks") => Some(1.10),
        (Placement::PinnedApart, Storm::Connect, "stacks") => Some(1.15),
        (Placement::PinnedApart, Storm::Write | Storm::Send, "events" | "stacks") => Some(1.05),
        (Placement::Shared, Storm::Open, "events") => Some(1.6),
        (Placement::Shared, Storm::Open, "stacks" | "tui") => Some(2.0),
        (Placement::Shared, Storm::Exec, "events" | "stacks" | "tui") => Some(1.10),
        (Placement::Shared, Storm::Connect, "events" | "stacks" | "tui") => Some(1.15),
        (_, _, "pid_filter") => Some(1.05),
        _ => None,
    }
}

/// ringside's own CPU per delivered event, pinned apart (issue 13): `--json --stacks none`, and
/// with stacks unwound and symbolized. None for the write storm: it makes no events, so the few
/// the rest of the machine makes meanwhile would carry all of ringside's idle CPU.
fn cpu_target_ns(placement: Placement, storm: Storm, variant: &str) -> Option<f64> {
    match (placement, storm, variant) {
        (_, storm, _) if storm.silent() => None,
        (Placement::PinnedApart, _, "events") => Some(1_000.0),
        (Placement::PinnedApart, _, "stacks") => Some(3_000.0),
        _ => None,
    }
}

/// One timed storm.
struct Run {
    ns_per_op: f64,
    /// ringside: events delivered (all types); bpftrace: none.
    events: Option<u64>,
    /// ringside's dropped counts, or the events bpftrace reported lost.
    dropped: Option<u64>,
    /// ringside's CPU time (all threads) while the storm ran, per operation and per event.
    tracer_cpu_ns_per_op: Option<f64>,
    tracer_cpu_ns_per_event: Option<f64>,
    /// Ring-buffer bytes read per event delivered (stack copies included).
    ring_bytes_per_event: Option<f64>,
}

impl Run {
    fn untraced(ns_per_op: f64) -> Self {
        Self {
            ns_per_op,
            events: None,
            dropped: None,
            tracer_cpu_ns_per_op: None,
            tracer_cpu_ns_per_event: None,
            ring_bytes_per_event: None,
        }
    }

    /// A ringside run: its CPU per operation while the load ran, and what it delivered.
    fn ringside(
        result: LoadResult,
        cpu_per_op: Option<f64>,
        delivered: u64,
        dropped: u64,
        ring_bytes: Option<u64>,
    ) -> Self {
        let per_event = |total: f64| (delivered > 0).then(|| total / delivered as f64);
        Self {
            ns_per_op: result.ns_per_op(),
            events: Some(delivered),
            dropped: Some(dropped),
            tracer_cpu_ns_per_op: cpu_per_op,
            tracer_cpu_ns_per_event: cpu_per_op.and_then(|c| per_event(c * result.ops as f64)),
            ring_bytes_per_event: ring_bytes.and_then(|b| per_event(b as f64)),
        }
    }
}

fn run_one(bench: &Bench, storm: Storm, variant: &Variant, placement: Placement) -> Result<Run> {
    let load_args = storm.load_args(bench, storm.ops(bench));
    let pinning = placement.pinning();
    let load_cpu = pinning.map(|cpus| cpus.load);
    let tracer_cpu = pinning.map(|cpus| cpus.tracer);
    match variant.tracer {
        Tracer::Untraced => Ok(Run::untraced(
            Load::spawn_on(bench, &load_args, load_cpu)?
                .run()?
                .ns_per_op(),
        )),
        Tracer::Ringside(args) => {
            let load = Load::spawn_on(bench, &load_args, load_cpu)?;
            let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
            let ringside = Ringside::start_on(bench, &args, Output::Null, tracer_cpu)?;
            let (result, cpu) = load.run_beside(ringside.pid())?;
            let summary = ringside.stop()?;
            let delivered = summary
                .counters
                .values()
                .filter_map(|c| c.get("delivered"))
                .sum();
            Ok(Run::ringside(
                result,
                cpu,
                delivered,
                summary.total_dropped(),
                summary.get("ring", "bytes"),
            ))
        }
        Tracer::Tui(args) => {
            let load = Load::spawn_on(bench, &load_args, load_cpu)?;
            let tui = Tui::start(bench, args, Screen::Discard)?;
            let (result, cpu) = load.run_beside(tui.pid())?;
            let stats = tui.quit()?;
            Ok(Run::ringside(
                result,
                cpu,
                stats.total_delivered(),
                stats.total_dropped(),
                stats.ring_bytes,
            ))
        }
        Tracer::BpftraceCount | Tracer::BpftracePrint => {
            let comm = bench.load_comm();
            let script = match variant.tracer {
                Tracer::BpftraceCount => storm.bpftrace_count_script(&comm),
                _ => storm.bpftrace_script(&comm),
            };
            let (result, stats) = load_under_bpftrace(bench, &script, &load_args, pinning)?;
            Ok(Run {
                dropped: Some(stats.lost),
                ..Run::untraced(result.ns_per_op())
            })
        }
    }
}

/// The placements this machine can run: pinned apart needs two CPUs.
fn placements() -> Vec<Placement> {
    let cpus = std::thread::available_parallelism().map_or(1, usize::from);
    if cpus >= 2 {
        vec![Placement::PinnedApart, Placement::Shared]
    } else {
        vec![Placement::Shared]
    }
}

pub fn run(bench: &Bench) -> Result<Section> {
    let mut tables = Vec::new();
    let mut checks = Vec::new();
    let mut placements_json = Map::new();
    for placement in placements() {
        let (table, placement_checks, json) = run_placement(bench, placement)?;
        tables.push(table);
        checks.extend(placement_checks);
        placements_json.insert(placement.key().to_owned(), json);
    }
    let mut notes = vec![
        "ns/op: the load's own CLOCK_MONOTONIC time around its loop, divided by the operations. \
         ratio: traced/untraced of the same repetition and placement. ringside runs `--json` \
         with stdout to /dev/null, every event type."
            .to_owned(),
        "pinned apart: the load on CPU 0 and the tracer on CPU 1 (`taskset`), so the ratio is \
         the work each traced system call does in the kernel. shared: both go where the \
         scheduler puts them, as on a busy 2-CPU VM."
            .to_owned(),
        "connect storm: the client closes with SO_LINGER 0 (RST), so no TIME_WAIT sockets pile up; \
         ringside reports 4 events per iteration (connect, accept, 2 tcp_close)."
            .to_owned(),
        "write storm: write(2) of 4 KiB to a 1 MiB file in the bench's scratch directory (an \
         lseek back to its start every 256 writes). ringside reports nothing about it: the ratio \
         is what ringside's probes cost an unrelated system call, the syscall tracepoints' slow \
         path included (any attached syscalls:* tracepoint sends every system call of every task \
         through it). A file write reaches no network device. The send storm is the socket \
         side: write(2) of 512 bytes to a loopback TCP socket with TCP_NODELAY and a read at the \
         other end, a packet each way through the raw tracepoints on net_dev_queue and \
         netif_receive_skb where ringside looks for DNS (a few header reads per packet). \
         bpftrace's rows watch the load's sys_enter_write (filtered on its comm): \
         what a tool tracing writes costs. No CPU/event or ring B/event: the events ringside \
         delivers meanwhile are the rest of the machine's (its CPU per write is \
         ringside_cpu_ns_per_op in the results file)."
            .to_owned(),
        "CPU/event: CPU time of all ringside's threads during the storm (from \
         /proc/<pid>/task/*/sched) divided by the events it delivered. ring B/event: the bytes \
         ringside read from the ring buffer (records and user stack copies) per event delivered."
            .to_owned(),
        "events/run: events ringside delivered (all types, all processes). dropped: ringside's \
         dropped counts, or the events bpftrace reported lost, summed over the repetitions."
            .to_owned(),
        format!(
            "TUI (shared only): `ringside` with its defaults (every event type, user+kernel \
             stacks) in a {COLS}x{ROWS} pseudo-terminal whose output a thread reads and \
             discards; started once it entered its screen (probes attached), quit with `q`; \
             events and drops from its --stats-file (events: those it decoded and kept)."
        ),
    ];
    if bench.bpftrace.is_some() {
        notes.push(
            "bpftrace runs the load itself (`bpftrace -o /dev/null -c LOAD -e SCRIPT`): it starts \
             the command once its probes are attached (its start-up lines go to the same stream \
             as its events, so waiting for them would need the events on a pipe or a file). \
             Pinned apart, bpftrace runs on the tracer's CPU and the load under `taskset` on the \
             load's."
                .to_owned(),
        );
    } else {
        notes.push("bpftrace is not installed: no anchor rows.".to_owned());
    }
    Ok(Section {
        tables,
        notes,
        checks,
        json: json!({
            "reps": bench.reps,
            "placements": placements_json,
        }),
    })
}

/// Every storm under every tracer in one placement: its table, its checks, its JSON.
fn run_placement(bench: &Bench, placement: Placement) -> Result<(Table, Vec<Check>, Value)> {
    let all_variants: Vec<&Variant> = VARIANTS
        .iter()
        .filter(|v| {
            let bpftrace = matches!(v.tracer, Tracer::BpftraceCount | Tracer::BpftracePrint);
            (!bpftrace || bench.bpftrace.is_some())
                && (!v.shared_only || placement == Placement::Shared)
                && (v.only.is_none() || placement == Placement::PinnedApart)
        })
        .collect();
    let mut table = Table::new(
        format!(
            "Syscall overhead, {}: ns per operation and slowdown traced/untraced (median of {} \
             alternating repetitions, min–max)",
            placement.describe(PinnedApart::CPUS_0_1),
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
            "CPU/event",
            "ring B/event",
        ],
    );
    let mut checks = Vec::new();
    let mut storms_json = Map::new();
    let load_cpu = placement.pinning().map(|cpus| cpus.load);
    for storm in Storm::ALL {
        let variants: Vec<&Variant> = all_variants
            .iter()
            .copied()
            .filter(|v| v.only.is_none_or(|only| only == storm))
            .collect();
        let ops = storm.ops(bench);
        // Warm-up, not counted: page cache, the dynamic loader's caches, socket slabs.
        Load::spawn_on(bench, &storm.load_args(bench, ops), load_cpu)?.run()?;
        let mut runs: Vec<Vec<Run>> = variants.iter().map(|_| Vec::new()).collect();
        for rep in 0..bench.reps {
            // Rotate the order each repetition, so no tracer always runs first or last.
            for k in 0..variants.len() {
                let index = (rep + k) % variants.len();
                let variant = variants[index];
                bench.progress(&format!(
                    "overhead {} storm ({ops} ops, {}), repetition {}/{}: {}",
                    storm.name(),
                    placement.key(),
                    rep + 1,
                    bench.reps,
                    variant.label
                ));
                let run = run_one(bench, storm, variant, placement)
                    .with_context(|| format!("{} storm under {}", storm.name(), variant.label))?;
                runs[index].push(run);
            }
        }
        let untraced: Vec<f64> = runs[0].iter().map(|r| r.ns_per_op).collect();
        if let Some(check) = signal_storm_check(&variants, &runs, &mut table) {
            checks.push(check);
        }
        let mut variants_json = Map::new();
        for (variant, runs) in variants.iter().zip(&runs) {
            let row = Row::of(placement, storm, variant, runs, &untraced);
            table.row(row.cells(storm, variant));
            checks.extend(row.checks(placement, storm, variant, ops, runs.len()));
            variants_json.insert(variant.key.to_owned(), row.json(variant));
        }
        storms_json.insert(
            storm.name().to_owned(),
            json!({
                "what": storm.what(),
                "ops_per_run": ops,
                "bpftrace_script": storm.bpftrace_script(&bench.load_comm()),
                "bpftrace_count_script": storm.bpftrace_count_script(&bench.load_comm()),
                "variants": variants_json,
            }),
        );
    }
    Ok((table, checks, Value::Object(storms_json)))
}

/// The fork storm with the signal kind on against off (`stacks` / `no_signals` of the same
/// repetition): a row of its own in the table and a check.
fn signal_storm_check(
    variants: &[&Variant],
    runs: &[Vec<Run>],
    table: &mut Table,
) -> Option<Check> {
    let index = |key: &str| variants.iter().position(|v| v.key == key);
    let (on, off) = (index("stacks")?, index("no_signals")?);
    let ratios: Vec<f64> = runs[on]
        .iter()
        .zip(&runs[off])
        .map(|(on, off)| on.ns_per_op / off.ns_per_op)
        .collect();
    let r = spread(&ratios)?;
    let status = Status::of(r.median <= SIGNAL_STORM_TARGET);
    let mut cells = vec![
        "exec".to_owned(),
        "signal kind on / off (SIGCHLD per child)".to_owned(),
        String::new(),
        String::new(),
        format!("{:.2}", r.median),
        range(&r, |x| format!("{x:.2}")),
        format!("<= {SIGNAL_STORM_TARGET:.2}"),
        status.word().to_owned(),
    ];
    cells.resize(12, String::new());
    table.row(cells);
    Some(Check {
        what: "fork storm with signal events against without, pinned_apart".to_owned(),
        target: format!("<= {SIGNAL_STORM_TARGET:.2}"),
        value: format!("{:.2} ({:.2}–{:.2})", r.median, r.min, r.max),
        status,
    })
}

/// One tracer's runs of one storm, summarized.
struct Row {
    is_baseline: bool,
    ns: Vec<f64>,
    ns_spread: Option<Spread>,
    ratios: Vec<f64>,
    ratio_spread: Option<Spread>,
    events: Vec<f64>,
    dropped: Option<u64>,
    cpu_per_op: Vec<f64>,
    cpu_per_event: Vec<f64>,
    cpu_per_event_spread: Option<Spread>,
    ring_bytes: Vec<f64>,
    ring_bytes_spread: Option<Spread>,
    target: Option<f64>,
    status: Option<Status>,
    cpu_target: Option<f64>,
}

impl Row {
    fn of(
        placement: Placement,
        storm: Storm,
        variant: &Variant,
        runs: &[Run],
        untraced: &[f64],
    ) -> Self {
        let ns: Vec<f64> = runs.iter().map(|r| r.ns_per_op).collect();
        let ratios: Vec<f64> = ns.iter().zip(untraced).map(|(t, u)| t / u).collect();
        let ratio_spread = spread(&ratios);
        let target = target(placement, storm, variant.key);
        let status = match (target, &ratio_spread) {
            (Some(t), Some(r)) => Some(Status::of(r.median <= t)),
            _ => None,
        };
        let cpu_per_event: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.tracer_cpu_ns_per_event)
            .collect();
        let ring_bytes: Vec<f64> = runs.iter().filter_map(|r| r.ring_bytes_per_event).collect();
        Self {
            is_baseline: variant.key == "untraced",
            ns_spread: spread(&ns),
            ns,
            ratios,
            ratio_spread,
            events: runs
                .iter()
                .filter_map(|r| r.events.map(|e| e as f64))
                .collect(),
            dropped: runs.iter().map(|r| r.dropped).sum(),
            cpu_per_op: runs.iter().filter_map(|r| r.tracer_cpu_ns_per_op).collect(),
            cpu_per_event_spread: spread(&cpu_per_event),
            cpu_per_event,
            ring_bytes_spread: spread(&ring_bytes),
            ring_bytes,
            target,
            status,
            cpu_target: cpu_target_ns(placement, storm, variant.key),
        }
    }

    fn cells(&self, storm: Storm, variant: &Variant) -> Vec<String> {
        let baseline_or = |text: String| {
            if self.is_baseline {
                String::new()
            } else {
                text
            }
        };
        vec![
            storm.name().to_owned(),
            variant.label.to_owned(),
            cell(&self.ns_spread, |s| human_ns(s.median)),
            cell(&self.ns_spread, |s| range(s, human_ns)),
            if self.is_baseline {
                "1".to_owned()
            } else {
                cell(&self.ratio_spread, |s| format!("{:.2}", s.median))
            },
            baseline_or(cell(&self.ratio_spread, |s| {
                range(s, |x| format!("{x:.2}"))
            })),
            self.target.map_or(String::new(), |t| format!("<= {t:.2}")),
            self.status.map_or(String::new(), |s| s.word().to_owned()),
            spread(&self.events).map_or(String::new(), |e| format!("{:.0}", e.median)),
            self.dropped.map_or(String::new(), |d| d.to_string()),
            // The write storm makes no events: per event would divide ringside's idle CPU by
            // whatever else the machine did.
            self.cpu_per_event_spread
                .as_ref()
                .filter(|_| !storm.silent())
                .map_or(String::new(), |s| human_ns(s.median)),
            self.ring_bytes_spread
                .as_ref()
                .filter(|_| !storm.silent())
                .map_or(String::new(), |s| format!("{:.0}", s.median)),
        ]
    }

    fn checks(
        &self,
        placement: Placement,
        storm: Storm,
        variant: &Variant,
        ops: u64,
        reps: usize,
    ) -> Vec<Check> {
        let mut checks = Vec::new();
        if let (Some(t), Some(status), Some(r)) = (self.target, self.status, &self.ratio_spread) {
            checks.push(Check {
                what: format!(
                    "{} storm slowdown, {}, {}",
                    storm.name(),
                    variant.label,
                    placement.key()
                ),
                target: format!("<= {t:.2}"),
                value: format!("{:.2} ({:.2}–{:.2})", r.median, r.min, r.max),
                status,
            });
        }
        if let (Some(t), Some(cpu)) = (self.cpu_target, &self.cpu_per_event_spread) {
            checks.push(Check {
                what: format!(
                    "ringside CPU per event, {} storm, {}, {}",
                    storm.name(),
                    variant.label,
                    placement.key()
                ),
                target: format!("<= {}", human_ns(t)),
                value: human_ns(cpu.median),
                status: Status::of(cpu.median <= t),
            });
        }
        if let (Storm::Open, "tui", Some(dropped)) = (storm, variant.key, self.dropped) {
            checks.push(Check {
                what: "zero drops, full-speed open storm with the TUI running".to_owned(),
                target: "0 dropped".to_owned(),
                value: format!("{dropped} dropped in {reps} storms of {ops} opens"),
                status: Status::of(dropped == 0),
            });
        }
        checks
    }

    fn json(&self, variant: &Variant) -> Value {
        let ratio = if self.is_baseline {
            Value::Null
        } else {
            spread_json(self.ratio_spread.as_ref(), &self.ratios)
        };
        json!({
            "label": variant.label,
            "ns_per_op": spread_json(self.ns_spread.as_ref(), &self.ns),
            "ratio": ratio,
            "target": self.target,
            "status": self.status.map(Status::word),
            "events_per_run": self.events,
            "dropped_total": self.dropped,
            "ringside_cpu_ns_per_op": spread_json(spread(&self.cpu_per_op).as_ref(), &self.cpu_per_op),
            "ringside_cpu_ns_per_event":
                spread_json(self.cpu_per_event_spread.as_ref(), &self.cpu_per_event),
            "ring_bytes_per_event": spread_json(self.ring_bytes_spread.as_ref(), &self.ring_bytes),
        })
    }
}

fn cell(spread: &Option<Spread>, show: impl Fn(&Spread) -> String) -> String {
    spread.as_ref().map_or_else(|| "n/a".to_owned(), show)
}
