//! Throughput and loss: the highest open rate ringside delivers with zero drops through the
//! default 16 MiB ring, and under overload (a 64 KiB ring) the exact accounting check: every
//! operation the load made is either delivered or counted as dropped, per event type.

use std::borrow::Cow;
use std::ffi::OsString;
use std::io::{BufRead, BufReader};
use std::thread;

use anyhow::{Context, Result, ensure};
use serde::Deserialize;
use serde_json::{Map, Value, json};

use super::procs::{Load, Output, Ringside};
use super::{Bench, Check, Section, Status, Table, human_rate};

/// A paced run no longer counts as paced when the load reaches less than this share of the rate
/// asked: it ran as fast as it could.
const PACING_SLACK: f64 = 0.9;

/// One open storm at a given pace (None: as fast as the load can).
struct Step {
    requested: Option<f64>,
    achieved: f64,
    delivered: u64,
    dropped: u64,
}

impl Step {
    fn json(&self) -> Value {
        json!({
            "requested_per_s": self.requested,
            "achieved_per_s": self.achieved,
            "delivered": self.delivered,
            "dropped": self.dropped,
        })
    }
}

fn open_step(bench: &Bench, stacks: bool, ops: u64, rate: Option<f64>) -> Result<Step> {
    let mut args: Vec<OsString> = vec!["open".into(), ops.to_string().into(), "/dev/null".into()];
    if let Some(rate) = rate {
        args.extend(["--rate".into(), format!("{rate:.0}").into()]);
    }
    let load = Load::spawn(bench, &args)?;
    let mut ringside_args = vec!["--pid".to_owned(), load.pid().to_string()];
    if !stacks {
        ringside_args.extend(["--stacks".to_owned(), "none".to_owned()]);
    }
    let ringside = Ringside::start(bench, &ringside_args, Output::Null)?;
    let result = load.run()?;
    let summary = ringside.stop()?;
    let (delivered, dropped) = summary
        .kind("open")
        .context("ringside printed no `ringside: open delivered=` line")?;
    Ok(Step {
        requested: rate,
        achieved: result.ops_per_sec(),
        delivered,
        dropped,
    })
}

/// Full speed first; if that drops, a bisection (in log space) between the best zero-drop rate
/// found and the lowest rate that dropped.
struct Throughput {
    label: &'static str,
    steps: Vec<Step>,
    /// The highest achieved rate with zero drops, and whether the load could not go faster.
    best: Option<(f64, bool)>,
}

fn throughput(bench: &Bench, stacks: bool) -> Result<Throughput> {
    let label = if stacks {
        "ringside (user+kernel stacks)"
    } else {
        "ringside --stacks none"
    };
    let seconds = if bench.quick { 1.0 } else { 2.0 };
    bench.progress(&format!("throughput, {label}: full speed"));
    let full = open_step(bench, stacks, bench.size(600_000, 200_000), None)?;
    let mut steps = Vec::new();
    let mut best = None;
    let mut lowest_bad = None;
    if full.dropped == 0 {
        best = Some((full.achieved, true));
    } else {
        lowest_bad = Some(full.achieved);
    }
    steps.push(full);
    let tries = if bench.quick { 2 } else { 4 };
    for _ in 0..tries {
        let Some(bad) = lowest_bad else { break };
        let rate = match best {
            Some((good, _)) => (good * bad).sqrt(),
            None => bad / 2.0,
        };
        let ops = ((rate * seconds) as u64).max(1000);
        bench.progress(&format!(
            "throughput, {label}: {} for {seconds} s",
            human_rate(rate)
        ));
        let step = open_step(bench, stacks, ops, Some(rate))?;
        let saturated = step.achieved < rate * PACING_SLACK;
        if step.dropped == 0 {
            if best.is_none_or(|(b, _)| step.achieved > b) {
                best = Some((step.achieved, saturated));
            }
        } else {
            lowest_bad = Some(lowest_bad.map_or(step.achieved, |b: f64| b.min(step.achieved)));
        }
        steps.push(step);
    }
    Ok(Throughput { label, steps, best })
}

/// One event type's books: produced by the load, delivered on stdout, counted in the summary.
struct Books {
    kind: &'static str,
    produced: u64,
    /// Lines of this type on stdout (for opens: only the load's `seq-N` paths, each once).
    seen: u64,
    delivered: u64,
    dropped: u64,
    /// Problems with the lines themselves (duplicates, paths not from the load).
    anomalies: Vec<String>,
}

impl Books {
    fn exact(&self) -> bool {
        self.seen == self.delivered
            && self.delivered + self.dropped == self.produced
            && self.anomalies.is_empty()
    }
}

/// What the overloaded storm did.
struct Accounting {
    storm: &'static str,
    offered_per_s: f64,
    books: Vec<Books>,
}

/// What the tally reads of a line of ringside's stdout.
#[derive(Deserialize)]
struct Line<'a> {
    #[serde(rename = "type", borrow)]
    kind: Cow<'a, str>,
    #[serde(borrow)]
    path: Option<Cow<'a, str>>,
}

/// Counts the lines of each type on ringside's stdout; for `seq-open`, checks each name.
#[derive(Default)]
struct Tally {
    per_type: std::collections::BTreeMap<String, u64>,
    seq_seen: Vec<bool>,
    seq_count: u64,
    duplicates: u64,
    foreign_opens: u64,
}

fn tally(
    stdout: impl std::io::Read + Send + 'static,
    seq: Option<(String, u64)>,
) -> thread::JoinHandle<Tally> {
    thread::spawn(move || {
        let mut tally = Tally::default();
        if let Some((_, n)) = &seq {
            tally.seq_seen = vec![false; *n as usize];
        }
        for line in BufReader::with_capacity(1 << 20, stdout).lines() {
            let Ok(line) = line else { break };
            let Ok(event) = serde_json::from_str::<Line>(&line) else {
                continue;
            };
            *tally.per_type.entry(event.kind.to_string()).or_default() += 1;
            if let (Some((prefix, _)), "open") = (&seq, event.kind.as_ref()) {
                let index = event
                    .path
                    .as_deref()
                    .and_then(|p| p.strip_prefix(prefix.as_str()))
                    .and_then(|n| n.parse::<usize>().ok());
                match index.and_then(|i| tally.seq_seen.get_mut(i)) {
                    Some(seen) if *seen => tally.duplicates += 1,
                    Some(seen) => {
                        *seen = true;
                        tally.seq_count += 1;
                    }
                    None => tally.foreign_opens += 1,
                }
            }
        }
        tally
    })
}

/// Runs a numbered storm under `ringside --json --pid <load> <args> --ring-size 64K` and
/// balances the books of each `(type, produced)`.
fn account(
    bench: &Bench,
    storm: &'static str,
    load_args: Vec<OsString>,
    ringside_args: &[&str],
    expected: &[(&'static str, u64)],
    seq: Option<(String, u64)>,
) -> Result<Accounting> {
    bench.progress(&format!(
        "accounting under overload: {storm} storm, 64 KiB ring"
    ));
    let load = Load::spawn(bench, &load_args)?;
    let mut args = vec![
        "--pid".to_owned(),
        load.pid().to_string(),
        "--ring-size".to_owned(),
        "64K".to_owned(),
    ];
    args.extend(ringside_args.iter().map(|a| a.to_string()));
    let mut ringside = Ringside::start(bench, &args, Output::Piped)?;
    let reader = tally(
        ringside.take_stdout().context("ringside's stdout")?,
        seq.clone(),
    );
    let result = load.run()?;
    let summary = ringside.stop()?;
    let tally = reader
        .join()
        .map_err(|_| anyhow::anyhow!("the stdout reader panicked"))?;
    let mut books = Vec::new();
    for &(kind, produced) in expected {
        let (delivered, dropped) = summary
            .kind(kind)
            .with_context(|| format!("ringside printed no `ringside: {kind} delivered=` line"))?;
        let mut anomalies = Vec::new();
        let seen = if seq.is_some() && kind == "open" {
            if tally.duplicates > 0 {
                anomalies.push(format!("{} duplicated seq-N opens", tally.duplicates));
            }
            if tally.foreign_opens > 0 {
                anomalies.push(format!("{} opens not of seq-N", tally.foreign_opens));
            }
            tally.seq_count
        } else {
            tally.per_type.get(kind).copied().unwrap_or(0)
        };
        books.push(Books {
            kind,
            produced,
            seen,
            delivered,
            dropped,
            anomalies,
        });
    }
    if let Some(skipped) = summary.get("malformed", "skipped")
        && let Some(first) = books.first_mut()
    {
        first
            .anomalies
            .push(format!("{skipped} malformed records skipped"));
    }
    Ok(Accounting {
        storm,
        offered_per_s: result.ops_per_sec(),
        books,
    })
}

pub fn run(bench: &Bench) -> Result<Section> {
    let with_stacks = throughput(bench, true)?;
    let events_only = throughput(bench, false)?;

    let seq_ops = bench.size(400_000, 150_000);
    let seq_dir = bench.scratch.join("seq");
    let prefix = format!("{}/seq-", seq_dir.display());
    let open = account(
        bench,
        "seq-open",
        vec![
            "seq-open".into(),
            seq_ops.to_string().into(),
            seq_dir.clone().into(),
        ],
        &["--events", "open"],
        &[("open", seq_ops)],
        Some((prefix, seq_ops)),
    )?;
    let exec_ops = bench.size(2_000, 600);
    let exec = account(
        bench,
        "exec",
        vec!["exec".into(), exec_ops.to_string().into()],
        &["--tree", "--events", "exec,fork,exit"],
        // Every child forks off the load, execs /bin/true and exits; then the load exits.
        &[
            ("exec", exec_ops),
            ("fork", exec_ops),
            ("exit", exec_ops + 1),
        ],
        None,
    )?;
    let connect_ops = bench.size(6_000, 2_000);
    let connect = account(
        bench,
        "connect",
        vec!["connect".into(), connect_ops.to_string().into(), "0".into()],
        &["--events", "connect,accept,tcp_close"],
        // Each iteration closes two TCP sessions: the client's and the accepted one.
        &[
            ("connect", connect_ops),
            ("accept", connect_ops),
            ("tcp_close", 2 * connect_ops),
        ],
        None,
    )?;

    let mut rate_table = Table::new(
        "Throughput: open storms of the load (pid filter), default 16 MiB ring, stdout to /dev/null",
        vec!["tracer", "asked", "achieved", "delivered", "dropped"],
    );
    let mut checks = Vec::new();
    let mut notes = Vec::new();
    for t in [&with_stacks, &events_only] {
        for step in &t.steps {
            rate_table.row(vec![
                t.label.to_owned(),
                step.requested.map_or("full speed".to_owned(), human_rate),
                human_rate(step.achieved),
                step.delivered.to_string(),
                step.dropped.to_string(),
            ]);
        }
        notes.push(match t.best {
            Some((rate, true)) => format!(
                "{}: zero drops at {} — as fast as the load could go, so the limit is higher",
                t.label,
                human_rate(rate)
            ),
            Some((rate, false)) => format!(
                "{}: highest rate with zero drops: {}",
                t.label,
                human_rate(rate)
            ),
            None => format!("{}: dropped at every rate tried", t.label),
        });
    }
    let full_speed_clean = with_stacks.steps.first().is_some_and(|s| s.dropped == 0);
    checks.push(Check {
        what: "zero drops, full-speed open storm, ringside --json (stacks)".to_owned(),
        target: "0 dropped".to_owned(),
        value: with_stacks.steps.first().map_or("n/a".to_owned(), |s| {
            format!("{} dropped at {}", s.dropped, human_rate(s.achieved))
        }),
        status: Status::of(full_speed_clean),
    });

    let mut books_table = Table::new(
        "Accounting under overload: 64 KiB ring, stdout read by the bench; produced == delivered + dropped?",
        vec![
            "storm",
            "type",
            "offered",
            "overload",
            "produced",
            "on stdout",
            "delivered",
            "dropped",
            "exact",
        ],
    );
    let zero_drop = with_stacks.best.map(|(rate, _)| rate);
    let mut all_exact = true;
    let mut accounting_json = Map::new();
    for accounting in [&open, &exec, &connect] {
        let mut books_json = Map::new();
        for books in &accounting.books {
            all_exact &= books.exact();
            let overload = (accounting.storm == "seq-open")
                .then_some(zero_drop)
                .flatten()
                .map(|z| accounting.offered_per_s / z);
            books_table.row(vec![
                accounting.storm.to_owned(),
                books.kind.to_owned(),
                human_rate(accounting.offered_per_s),
                overload.map_or(String::new(), |o| format!("{o:.1}x")),
                books.produced.to_string(),
                books.seen.to_string(),
                books.delivered.to_string(),
                books.dropped.to_string(),
                if books.exact() {
                    "yes".to_owned()
                } else {
                    let mut why = vec![format!(
                        "{} + {} = {}",
                        books.delivered,
                        books.dropped,
                        books.delivered + books.dropped
                    )];
                    if books.seen != books.delivered {
                        why.push(format!("{} on stdout", books.seen));
                    }
                    why.extend(books.anomalies.iter().cloned());
                    format!("NO: {}", why.join("; "))
                },
            ]);
            books_json.insert(
                books.kind.to_owned(),
                json!({
                    "produced": books.produced,
                    "on_stdout": books.seen,
                    "delivered": books.delivered,
                    "dropped": books.dropped,
                    "exact": books.exact(),
                    "anomalies": books.anomalies,
                }),
            );
        }
        accounting_json.insert(
            accounting.storm.to_owned(),
            json!({
                "offered_per_s": accounting.offered_per_s,
                "types": books_json,
            }),
        );
    }
    let seq_books = open.books.first();
    checks.push(Check {
        what: "exact accounting under overload (open, exec/fork/exit, connect/accept/tcp_close)"
            .to_owned(),
        target: "delivered + dropped == produced".to_owned(),
        value: seq_books.map_or("n/a".to_owned(), |b| {
            format!(
                "seq-open: {} + {} = {} of {}{}",
                b.delivered,
                b.dropped,
                b.delivered + b.dropped,
                b.produced,
                if all_exact {
                    "; all types exact"
                } else {
                    "; NOT all exact"
                }
            )
        }),
        status: Status::of(all_exact),
    });
    ensure!(!open.books.is_empty(), "no accounting for opens");
    notes.push(
        "overload: the seq-open storm's offered rate over the 16 MiB zero-drop rate with stacks. \
         seq-open opens DIR/seq-0..N-1 (ENOENT); every delivered path is checked by name."
            .to_owned(),
    );
    notes.push(
        "Throughput steps last about 2 s (1 s with --quick): a rate just above the limit may not \
         fill a 16 MiB ring that soon."
            .to_owned(),
    );
    let throughput_json = |t: &Throughput| {
        json!({
            "label": t.label,
            "zero_drop_per_s": t.best.map(|(r, _)| r),
            "load_bound": t.best.map(|(_, s)| s),
            "steps": t.steps.iter().map(Step::json).collect::<Value>(),
        })
    };
    Ok(Section {
        tables: vec![rate_table, books_table],
        notes,
        checks,
        json: json!({
            "throughput": {
                "stacks": throughput_json(&with_stacks),
                "events_only": throughput_json(&events_only),
            },
            "accounting": accounting_json,
        }),
    })
}
