//! Unwinding without frame pointers (issue 8): what copying each event's user stack costs the
//! traced program, what unwinding the copies costs ringside per frame, and how large a copy
//! real programs need to be unwound to their entry (which chose the `--stack-bytes` default).

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::thread;
use std::time::Duration;

use anyhow::{Context, Result};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::procs::{Load, Output, Ringside};
use super::stats::spread;
use super::{Bench, Section, Table, human_ns, human_rate, range, spread_json};

/// `--stack-bytes` values compared in the open storm (the default is 32K).
const COPY_WINDOWS: [&str; 4] = ["0", "4K", "16K", "64K"];
/// `--stack-bytes` values tried on real programs.
const PROGRAM_WINDOWS: [&str; 5] = ["4K", "8K", "16K", "32K", "64K"];

pub fn run(bench: &Bench) -> Result<Section> {
    let (copy_table, copy_json) = copy_cost(bench)?;
    let (window_table, window_json) = windows_needed(bench)?;
    Ok(Section {
        tables: vec![copy_table, window_table],
        notes: vec![
            "open storm: `load open N /dev/null` untraced and under `ringside --events open \
             --stack-bytes W` in alternating repetitions. copy cost/event: ns/op at W minus ns/op \
             at 0 in the same repetition (each op is one open event): the bpf_probe_read_user \
             of the stack and its ring-buffer record, paid by the traced thread."
                .to_owned(),
            "unwind: ringside's time in framehop per frame and per stack (from --stats-file \
             unwind_ns, frames_unwound, stacks_unwound), symbolization not included; the storm's \
             stacks are all alike, so framehop's rule cache is warm: the real-program table \
             below is the varied case."
                .to_owned(),
            "copy of 0: frame-pointer stacks only (the kernel's walk), the behaviour before \
             unwinding; the main thread's copy stops early at the top of its stack (arguments \
             and environment above main), so 64K costs no more than the stack really holds."
                .to_owned(),
            "real programs: each run under ringside --events open,exec,connect --stack-bytes W; \
             complete = stacks that ended at the program's entry (ustack_end \"complete\"), of \
             all the program's events with a user stack."
                .to_owned(),
        ],
        checks: Vec::new(),
        json: json!({ "copy_cost": copy_json, "windows_needed": window_json }),
    })
}

/// One open storm under `--stack-bytes window`, or untraced with `None`.
struct StormRun {
    ns_per_op: f64,
    ringside_cpu_ns_per_op: Option<f64>,
    delivered: u64,
    dropped: u64,
    stats: UnwindStats,
}

/// What ringside's --stats-file says of unwinding.
#[derive(Default, Clone, Copy, Deserialize)]
#[serde(default)]
struct UnwindStats {
    stacks_unwound: u64,
    stacks_unwound_complete: u64,
    frames_unwound: u64,
    unwind_ns: u64,
    stack_copies_lost: u64,
}

impl UnwindStats {
    fn read(path: &Path) -> Self {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        serde_json::from_str(&text).unwrap_or_default()
    }

    fn ns_per_frame(&self) -> Option<f64> {
        (self.frames_unwound > 0).then(|| self.unwind_ns as f64 / self.frames_unwound as f64)
    }

    fn stacks_per_cpu_second(&self) -> Option<f64> {
        (self.unwind_ns > 0).then(|| self.stacks_unwound as f64 * 1e9 / self.unwind_ns as f64)
    }
}

fn storm(bench: &Bench, ops: u64, window: Option<&str>) -> Result<StormRun> {
    let args: Vec<OsString> = ["open", &ops.to_string(), "/dev/null"]
        .iter()
        .map(OsString::from)
        .collect();
    let load = Load::spawn(bench, &args)?;
    let Some(window) = window else {
        return Ok(StormRun {
            ns_per_op: load.run()?.ns_per_op(),
            ringside_cpu_ns_per_op: None,
            delivered: 0,
            dropped: 0,
            stats: UnwindStats::default(),
        });
    };
    let stats_file = bench.scratch.join(format!("unwind-{window}.json"));
    let ringside_args: Vec<String> = ["--events", "open", "--stack-bytes", window, "--stats-file"]
        .iter()
        .map(|a| a.to_string())
        .chain([stats_file.display().to_string()])
        .collect();
    let ringside = Ringside::start(bench, &ringside_args, Output::Null)?;
    let (result, cpu) = load.run_beside(ringside.pid())?;
    let summary = ringside.stop()?;
    let (delivered, dropped) = summary.kind("open").unwrap_or_default();
    Ok(StormRun {
        ns_per_op: result.ns_per_op(),
        ringside_cpu_ns_per_op: cpu,
        delivered,
        dropped,
        stats: UnwindStats::read(&stats_file),
    })
}

fn copy_cost(bench: &Bench) -> Result<(Table, Value)> {
    let ops = bench.size(100_000, 50_000);
    let variants: Vec<Option<&str>> = std::iter::once(None)
        .chain(COPY_WINDOWS.iter().copied().map(Some))
        .collect();
    storm(bench, ops, None)?; // warm-up
    let mut runs: Vec<Vec<StormRun>> = variants.iter().map(|_| Vec::new()).collect();
    for rep in 0..bench.reps {
        for k in 0..variants.len() {
            let index = (rep + k) % variants.len();
            let window = variants[index];
            bench.progress(&format!(
                "unwind: open storm ({ops} ops), repetition {}/{}: {}",
                rep + 1,
                bench.reps,
                window.map_or("untraced".to_owned(), |w| format!("--stack-bytes {w}"))
            ));
            runs[index].push(storm(bench, ops, window).context("open storm")?);
        }
    }
    let mut table = Table::new(
        format!(
            "Stack copy and unwinding: open storm of {ops} opens under `ringside --events open \
             --stack-bytes W` (median of {} alternating repetitions)",
            bench.reps
        ),
        vec![
            "W",
            "ns/op",
            "ratio",
            "ratio min–max",
            "copy cost/event",
            "ringside CPU/op",
            "events/run",
            "dropped",
            "copies lost",
            "complete",
            "unwind/frame",
            "unwind stacks/s CPU",
        ],
    );
    let untraced: Vec<f64> = runs[0].iter().map(|r| r.ns_per_op).collect();
    let no_copy: Vec<f64> = runs[1].iter().map(|r| r.ns_per_op).collect();
    let mut rows_json = Map::new();
    for (window, runs) in variants.iter().zip(&runs) {
        let ns: Vec<f64> = runs.iter().map(|r| r.ns_per_op).collect();
        let ratios: Vec<f64> = ns.iter().zip(&untraced).map(|(t, u)| t / u).collect();
        let copy: Vec<f64> = ns.iter().zip(&no_copy).map(|(t, z)| t - z).collect();
        let cpu: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.ringside_cpu_ns_per_op)
            .collect();
        let per_frame: Vec<f64> = runs.iter().filter_map(|r| r.stats.ns_per_frame()).collect();
        let stacks_rate: Vec<f64> = runs
            .iter()
            .filter_map(|r| r.stats.stacks_per_cpu_second())
            .collect();
        let total = runs
            .iter()
            .fold(UnwindStats::default(), |sum, r| UnwindStats {
                stacks_unwound: sum.stacks_unwound + r.stats.stacks_unwound,
                stacks_unwound_complete: sum.stacks_unwound_complete
                    + r.stats.stacks_unwound_complete,
                stack_copies_lost: sum.stack_copies_lost + r.stats.stack_copies_lost,
                ..sum
            });
        let delivered: Vec<f64> = runs.iter().map(|r| r.delivered as f64).collect();
        let dropped: u64 = runs.iter().map(|r| r.dropped).sum();
        let median = |values: &[f64], show: &dyn Fn(f64) -> String| {
            spread(values).map_or(String::new(), |s| show(s.median))
        };
        let Some(window) = window else {
            let mut row = vec![
                "untraced".to_owned(),
                median(&ns, &human_ns),
                "1".to_owned(),
            ];
            row.resize(table.header.len(), String::new());
            table.row(row);
            rows_json.insert(
                "untraced".to_owned(),
                json!({ "ns_per_op": spread_json(spread(&ns).as_ref(), &ns) }),
            );
            continue;
        };
        let complete = (total.stacks_unwound > 0)
            .then(|| 100.0 * total.stacks_unwound_complete as f64 / total.stacks_unwound as f64);
        table.row(vec![
            window.to_string(),
            median(&ns, &human_ns),
            median(&ratios, &|r| format!("{r:.2}")),
            spread(&ratios).map_or(String::new(), |s| range(&s, |x| format!("{x:.2}"))),
            if *window == "0" {
                "(baseline)".to_owned()
            } else {
                median(&copy, &human_ns)
            },
            median(&cpu, &human_ns),
            median(&delivered, &|e| format!("{e:.0}")),
            dropped.to_string(),
            total.stack_copies_lost.to_string(),
            complete.map_or("-".to_owned(), |c| format!("{c:.1}%")),
            median(&per_frame, &|ns| format!("{ns:.0} ns")),
            median(&stacks_rate, &human_rate),
        ]);
        rows_json.insert(
            (*window).to_owned(),
            json!({
                "ns_per_op": spread_json(spread(&ns).as_ref(), &ns),
                "ratio": spread_json(spread(&ratios).as_ref(), &ratios),
                "copy_cost_ns": spread_json(spread(&copy).as_ref(), &copy),
                "ringside_cpu_ns_per_op": spread_json(spread(&cpu).as_ref(), &cpu),
                "events_per_run": delivered,
                "dropped_total": dropped,
                "stack_copies_lost": total.stack_copies_lost,
                "stacks_unwound": total.stacks_unwound,
                "stacks_complete_percent": complete,
                "unwind_ns_per_frame": spread_json(spread(&per_frame).as_ref(), &per_frame),
                "unwind_stacks_per_cpu_second":
                    spread_json(spread(&stacks_rate).as_ref(), &stacks_rate),
            }),
        );
    }
    Ok((table, json!({ "ops_per_run": ops, "windows": rows_json })))
}

/// What the real programs' run reads of a line of ringside's stdout.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(borrow)]
    comm: Cow<'a, str>,
    /// Why the user stack ends where it does: "complete" when it reached the entry.
    #[serde(borrow)]
    ustack_end: Option<Cow<'a, str>>,
}

/// A real program to run, the comms its events carry, and how to run it.
struct Program {
    name: &'static str,
    comms: &'static [&'static str],
    command: Vec<OsString>,
}

fn programs(bench: &Bench) -> Result<Vec<Program>> {
    let source = bench.scratch.join("unwind-window.c");
    std::fs::write(
        &source,
        "#include <stdio.h>\nint main(void) { puts(\"hi\"); return 0; }\n",
    )?;
    let object = bench.scratch.join("unwind-window.o");
    let os = |args: &[&str]| args.iter().map(OsString::from).collect::<Vec<_>>();
    let mut gcc = os(&["cc", "-O2", "-c", "-o"]);
    gcc.push(object.into_os_string());
    gcc.push(source.into_os_string());
    let candidates = vec![
        Program {
            name: "cat FILE (coreutils)",
            comms: &["cat"],
            command: os(&["cat", "/etc/hostname"]),
        },
        Program {
            name: "ls -l /usr/lib (coreutils)",
            comms: &["ls"],
            command: os(&["ls", "-l", "/usr/lib"]),
        },
        Program {
            name: "python3 -c open()",
            comms: &["python3"],
            command: os(&["python3", "-c", "open('/etc/hostname').read()"]),
        },
        Program {
            name: "perl -e open",
            comms: &["perl"],
            command: os(&["perl", "-e", "open(F, '/etc/hostname'); print <F>"]),
        },
        Program {
            name: "gcc -O2 -c (cc1, as)",
            comms: &["cc", "cc1", "as"],
            command: gcc,
        },
        Program {
            name: "rustc --version (Rust)",
            comms: &["rustc"],
            command: os(&["rustc", "--version"]),
        },
    ];
    Ok(candidates
        .into_iter()
        .filter(|p| {
            Command::new(&p.command[0])
                .arg("--version")
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status()
                .is_ok()
        })
        .collect())
}

/// Per program and window: (complete stacks, stacks).
fn windows_needed(bench: &Bench) -> Result<(Table, Value)> {
    let programs = programs(bench)?;
    let mut counts = vec![vec![(0u64, 0u64); PROGRAM_WINDOWS.len()]; programs.len()];
    for (w, window) in PROGRAM_WINDOWS.iter().enumerate() {
        bench.progress(&format!(
            "unwind: real programs under --stack-bytes {window}"
        ));
        let args: Vec<String> = ["--events", "open,exec,connect", "--stack-bytes", window]
            .iter()
            .map(|a| a.to_string())
            .collect();
        let mut ringside = Ringside::start(bench, &args, Output::Piped)?;
        let stdout = ringside.take_stdout().context("ringside's stdout")?;
        let reader = thread::spawn(move || {
            BufReader::with_capacity(1 << 20, stdout)
                .lines()
                .map_while(Result::ok)
                .filter_map(|line| {
                    let event = serde_json::from_str::<Line>(&line).ok()?;
                    Some((event.comm.into_owned(), event.ustack_end?.into_owned()))
                })
                .collect::<Vec<_>>()
        });
        for program in &programs {
            let _ = Command::new(&program.command[0])
                .args(&program.command[1..])
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .status();
        }
        // The last stacks are symbolized before ringside stops.
        thread::sleep(Duration::from_millis(500));
        ringside.stop()?;
        let ends = reader
            .join()
            .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
        for (p, program) in programs.iter().enumerate() {
            for (comm, end) in &ends {
                if program.comms.contains(&comm.as_str()) {
                    counts[p][w].1 += 1;
                    counts[p][w].0 += u64::from(end == "complete");
                }
            }
        }
    }
    let mut header = vec!["program"];
    header.extend(PROGRAM_WINDOWS.iter().copied());
    let mut table = Table::new(
        "Copy needed by real programs: stacks unwound to the entry (complete / events) by \
         --stack-bytes",
        header,
    );
    let mut json_rows = Map::new();
    for (program, counts) in programs.iter().zip(&counts) {
        let mut row = vec![program.name.to_owned()];
        row.extend(counts.iter().map(|(complete, total)| {
            if *total == 0 {
                "-".to_owned()
            } else {
                format!("{complete}/{total}")
            }
        }));
        table.row(row);
        let windows: Map<String, Value> = PROGRAM_WINDOWS
            .iter()
            .zip(counts)
            .map(|(w, (complete, total))| {
                let counts = json!({ "complete": complete, "stacks": total });
                ((*w).to_owned(), counts)
            })
            .collect();
        json_rows.insert(program.name.to_owned(), Value::Object(windows));
    }
    Ok((table, Value::Object(json_rows)))
}
