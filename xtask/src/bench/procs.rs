//! The processes a measurement drives: ringside (started, waited for, stopped with SIGINT and its
//! summary collected), bpftrace (the anchor), the load generator, and readings from /proc.

use std::collections::BTreeMap;
use std::ffi::{OsStr, OsString};
use std::fs;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Command, Stdio};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
use std::thread::{self, JoinHandle};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use super::Bench;
use crate::cmd;

/// How long a tracer may take to attach (bpftrace compiles its script first).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a tracer may take to drain and exit after SIGINT.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);

const SIGINT: i32 = 2;
const SIGKILL: i32 = 9;

unsafe extern "C" {
    /// kill(2), from the C library std already links.
    fn kill(pid: i32, signal: i32) -> i32;
}

/// Sends a signal to one process we started.
pub fn signal(pid: u32, signal: i32) -> Result<()> {
    let pid = i32::try_from(pid).context("pid out of range")?;
    // SAFETY: kill(2) takes two integers and touches no memory of ours.
    if unsafe { kill(pid, signal) } != 0 {
        return Err(std::io::Error::last_os_error())
            .with_context(|| format!("sending signal {signal} to pid {pid}"));
    }
    Ok(())
}

/// Waits for a child up to `timeout`, then kills it. Returns whether it exited by itself.
fn wait_or_kill(child: &mut Child, timeout: Duration) -> Result<bool> {
    let deadline = Instant::now() + timeout;
    loop {
        if child.try_wait()?.is_some() {
            return Ok(true);
        }
        if Instant::now() >= deadline {
            let _ = signal(child.id(), SIGKILL);
            child.wait()?;
            return Ok(false);
        }
        thread::sleep(Duration::from_millis(5));
    }
}

/// Reads a child's stream line by line on a thread: every line is sent on the channel and kept.
fn line_reader(stream: impl Read + Send + 'static) -> (Receiver<String>, JoinHandle<Vec<String>>) {
    let (tx, rx) = mpsc::channel();
    let handle = thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stream).lines() {
            let Ok(line) = line else { break };
            let _ = tx.send(line.clone());
            lines.push(line);
        }
        lines
    });
    (rx, handle)
}

/// ringside's stderr at exit: `ringside: <name> key=value ...` lines by name, e.g.
/// `counters["open"]["dropped"]`, `counters["stacks"]["frames"]`, `counters["latency_ns"]["p99"]`.
#[derive(Debug, Default)]
pub struct Summary {
    pub counters: BTreeMap<String, BTreeMap<String, u64>>,
    pub lines: Vec<String>,
    /// Whether ringside exited by itself within STOP_TIMEOUT of the SIGINT.
    pub clean_exit: bool,
}

impl Summary {
    pub fn parse(lines: Vec<String>) -> Self {
        let mut counters = BTreeMap::new();
        for line in &lines {
            let Some(rest) = line.strip_prefix("ringside: ") else {
                continue;
            };
            let mut words = rest.split_whitespace();
            let Some(name) = words.next() else { continue };
            let values: BTreeMap<String, u64> = words
                .filter_map(|word| word.split_once('='))
                .filter_map(|(k, v)| Some((k.to_owned(), v.parse().ok()?)))
                .collect();
            if !values.is_empty() {
                counters.insert(name.to_owned(), values);
            }
        }
        Self {
            counters,
            lines,
            clean_exit: true,
        }
    }

    pub fn get(&self, name: &str, key: &str) -> Option<u64> {
        self.counters.get(name)?.get(key).copied()
    }

    /// `delivered` and `dropped` of an event type.
    pub fn kind(&self, kind: &str) -> Option<(u64, u64)> {
        Some((self.get(kind, "delivered")?, self.get(kind, "dropped")?))
    }

    /// Drops over every event type.
    pub fn total_dropped(&self) -> u64 {
        self.counters
            .values()
            .filter_map(|c| c.get("dropped"))
            .sum()
    }
}

/// Where ringside's stdout goes.
pub enum Output {
    Null,
    /// Piped to us: take it with `Ringside::take_stdout` and read it on a thread.
    Piped,
    /// No `--json` at all: the events go elsewhere (`--otlp`).
    NoJson,
}

/// The CPUs of a pinned-apart run: the load on one, the tracer on the other, so that the
/// tracer's cost shows in the kernel's work for each system call, not in the fight for a CPU.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PinnedApart {
    pub load: u32,
    pub tracer: u32,
}

impl PinnedApart {
    pub const CPUS_0_1: Self = Self { load: 0, tracer: 1 };
}

/// Where `taskset` (util-linux) is, from PATH.
fn taskset_path() -> Result<std::path::PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|dir| dir.join("taskset"))
        .find(|path| path.is_file())
        .context("taskset (util-linux) is not on PATH: pinned-apart runs need it")
}

/// `program`, or `taskset -c CPU program` when a CPU is given.
fn command_on(program: &Path, cpu: Option<u32>) -> Command {
    match cpu {
        None => Command::new(program),
        Some(cpu) => {
            let mut command = Command::new("taskset");
            command.arg("-c").arg(cpu.to_string()).arg(program);
            command
        }
    }
}

/// A running `ringside --json`.
pub struct Ringside {
    child: Child,
    stdout: Option<ChildStdout>,
    stderr_rx: Receiver<String>,
    stderr_thread: Option<JoinHandle<Vec<String>>>,
    command: String,
}

impl Ringside {
    /// Starts `ringside --json <args>` and returns once it printed `ringside: tracing (`.
    pub fn start(bench: &Bench, args: &[String], output: Output) -> Result<Self> {
        Self::start_on(bench, args, output, None)
    }

    /// [`Ringside::start`] on one CPU (taskset execs ringside in its own process: same pid).
    pub fn start_on(
        bench: &Bench,
        args: &[String],
        output: Output,
        cpu: Option<u32>,
    ) -> Result<Self> {
        Self::start_until(bench, args, output, cpu, "ringside: tracing (", 1)
    }

    /// [`Ringside::start_on`], returning once `count` lines of its stderr contained `ready`
    /// (a fleet viewer says `: live` once per host).
    pub fn start_until(
        bench: &Bench,
        args: &[String],
        output: Output,
        cpu: Option<u32>,
        ready: &str,
        count: usize,
    ) -> Result<Self> {
        let mut command = command_on(&bench.ringside, cpu);
        command
            .args(if matches!(output, Output::NoJson) {
                None
            } else {
                Some("--json")
            })
            .args(args)
            .arg("--log-file")
            .arg(bench.dir.join("ringside.log"))
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .stdout(match output {
                Output::Null | Output::NoJson => Stdio::null(),
                Output::Piped => Stdio::piped(),
            });
        let shown = cmd::show(&command);
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let stderr = child.stderr.take().context("ringside's stderr")?;
        let (stderr_rx, handle) = line_reader(stderr);
        let mut ringside = Self {
            stdout: child.stdout.take(),
            child,
            stderr_rx,
            stderr_thread: Some(handle),
            command: shown,
        };
        ringside.wait_ready(ready, count)?;
        Ok(ringside)
    }

    fn wait_ready(&mut self, ready: &str, count: usize) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        let mut seen = Vec::new();
        let mut said = 0;
        while said < count {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.stderr_rx.recv_timeout(left) {
                Ok(line) => {
                    said += usize::from(line.contains(ready));
                    seen.push(line);
                }
                Err(RecvTimeoutError::Timeout) => {
                    bail!(
                        "`{}` did not print `{ready}` {count} times within {START_TIMEOUT:?}; \
                         stderr so far:\n{}",
                        self.command,
                        seen.join("\n")
                    )
                }
                Err(RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait()?;
                    bail!(
                        "`{}` exited ({status}) before tracing; stderr:\n{}",
                        self.command,
                        seen.join("\n")
                    )
                }
            }
        }
        Ok(())
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn take_stdout(&mut self) -> Option<ChildStdout> {
        self.stdout.take()
    }

    /// SIGINT, then waits for the exit and reads the summary from stderr.
    pub fn stop(mut self) -> Result<Summary> {
        signal(self.child.id(), SIGINT)?;
        let clean_exit = wait_or_kill(&mut self.child, STOP_TIMEOUT)?;
        let lines = self
            .stderr_thread
            .take()
            .map(|handle| handle.join().unwrap_or_default())
            .unwrap_or_default();
        let mut summary = Summary::parse(lines);
        summary.clean_exit = clean_exit;
        if let Some(error) = summary
            .lines
            .iter()
            .find(|l| l.starts_with("ringside: error"))
        {
            bail!("`{}` failed: {error}", self.command);
        }
        Ok(summary)
    }
}

impl Drop for Ringside {
    fn drop(&mut self) {
        // Only when a measurement failed half-way: never leave probes attached behind us.
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = signal(self.child.id(), SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// The load run by bpftrace: `bpftrace -o /dev/null -c "<load> <args>" -e <script>`. bpftrace
/// starts the command once every probe is attached and exits when it ends; its events go to
/// /dev/null like ringside's, and the load's result line comes through bpftrace's stdout.
pub fn load_under_bpftrace(
    bench: &Bench,
    script: &str,
    load_args: &[OsString],
    pinned: Option<PinnedApart>,
) -> Result<(LoadResult, BpftraceStats)> {
    let program = bench
        .bpftrace
        .as_ref()
        .context("bpftrace is not installed")?;
    // bpftrace -c wants the command's full path.
    let taskset: Vec<OsString> = match pinned {
        Some(cpus) => vec![
            taskset_path()?.into(),
            "-c".into(),
            cpus.load.to_string().into(),
        ],
        None => Vec::new(),
    };
    let words: Vec<&OsStr> = taskset
        .iter()
        .map(OsString::as_os_str)
        .chain(std::iter::once(bench.load.as_os_str()))
        .chain(load_args.iter().map(OsString::as_os_str))
        .collect();
    let mut command = command_on(program, pinned.map(|cpus| cpus.tracer));
    command
        .args(["-o", "/dev/null", "-c"])
        .arg(bpftrace_command_line(&words)?)
        .arg("-e")
        .arg(script);
    let shown = cmd::show(&command);
    let run = run_bpftrace(command)?;
    let result = run.stdout.iter().find_map(|line| LoadResult::parse(line));
    let result = result.with_context(|| {
        format!(
            "`{shown}` printed no load result:\n{}",
            run.stdout.join("\n")
        )
    })?;
    Ok((result, run.stats))
}

/// The words of a command as `bpftrace -c` takes them: joined by spaces, which it splits on, so
/// no word may hold one (hence full paths).
fn bpftrace_command_line(words: &[&OsStr]) -> Result<String> {
    let words: Vec<String> = words
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    if words.iter().any(|w| w.contains(char::is_whitespace)) {
        bail!("bpftrace -c cannot run a command with spaces in its words: {words:?}");
    }
    Ok(words.join(" "))
}

/// What bpftrace printed around a command it ran.
pub struct BpftraceRun {
    /// Its stdout: `Attaching N probes...`, the command's own output, and the maps it printed
    /// at exit (`@name[key]: value`).
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
    pub stats: BpftraceStats,
}

/// Any command run by bpftrace: `bpftrace -c "<words>" -e <script>`, with the output on a pipe
/// ([`load_under_bpftrace`] is this for the load generator, with the events thrown away). bpftrace
/// starts the command once its probes are attached, exits when it ends and prints its maps.
pub fn command_under_bpftrace(
    bench: &Bench,
    words: &[&OsStr],
    script: &str,
) -> Result<BpftraceRun> {
    let program = bench
        .bpftrace
        .as_ref()
        .context("bpftrace is not installed")?;
    let mut command = Command::new(program);
    command
        .arg("-c")
        .arg(bpftrace_command_line(words)?)
        .arg("-e")
        .arg(script);
    run_bpftrace(command)
}

/// Runs a bpftrace `command` to its end with stdin closed and its output read on pipes; an
/// error, with all it printed, unless it exits successfully in time.
fn run_bpftrace(mut command: Command) -> Result<BpftraceRun> {
    command
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let shown = cmd::show(&command);
    let mut child = command
        .spawn()
        .with_context(|| format!("could not start `{shown}`"))?;
    let (_, stdout) = line_reader(child.stdout.take().context("bpftrace's stdout")?);
    let (_, stderr) = line_reader(child.stderr.take().context("bpftrace's stderr")?);
    let exited = wait_or_kill(&mut child, STOP_TIMEOUT)?;
    let status = child.wait()?;
    let stdout = stdout.join().unwrap_or_default();
    let stderr = stderr.join().unwrap_or_default();
    if !exited || !status.success() {
        let timeout = if exited {
            ""
        } else {
            ", killed after a timeout"
        };
        let printed: Vec<String> = stdout.iter().chain(&stderr).cloned().collect();
        bail!(
            "`{shown}` failed ({status}{timeout}):\n{}",
            printed.join("\n")
        );
    }
    let lost = lost_events(&stderr);
    Ok(BpftraceRun {
        stdout,
        stderr,
        stats: BpftraceStats { lost },
    })
}

/// The entries of one bpftrace map as it prints them at exit, `@name[k1, k2]: value`, keyed by
/// their integer keys (entries whose keys or value are not integers are left out).
pub fn bpftrace_map(stdout: &[String], name: &str) -> BTreeMap<Vec<i64>, u64> {
    let prefix = format!("@{name}[");
    stdout
        .iter()
        .filter_map(|line| {
            let (keys, value) = line.trim().strip_prefix(&prefix)?.split_once("]: ")?;
            let keys: Option<Vec<i64>> = keys.split(',').map(|k| k.trim().parse().ok()).collect();
            Some((keys?, value.trim().parse().ok()?))
        })
        .collect()
}

/// What bpftrace reported about itself.
pub struct BpftraceStats {
    /// Events its perf buffers lost (`Lost N events` on stderr).
    pub lost: u64,
}

fn lost_events(stderr: &[String]) -> u64 {
    stderr
        .iter()
        .filter_map(|line| {
            let rest = line.trim().strip_prefix("Lost ")?;
            rest.strip_suffix(" events")?.parse::<u64>().ok()
        })
        .sum()
}

/// What the load generator printed: `ops=N elapsed_ns=E ns_per_op=X`.
#[derive(Clone, Copy, Debug)]
pub struct LoadResult {
    pub ops: u64,
    pub elapsed_ns: u64,
}

impl LoadResult {
    /// `ops=N elapsed_ns=E ns_per_op=X`
    pub fn parse(line: &str) -> Option<Self> {
        let field = |key: &str| -> Option<u64> {
            line.split_whitespace()
                .find_map(|word| word.strip_prefix(key)?.strip_prefix('='))?
                .parse()
                .ok()
        };
        match (field("ops"), field("elapsed_ns")) {
            (Some(ops), Some(elapsed_ns)) if ops > 0 && elapsed_ns > 0 => {
                Some(LoadResult { ops, elapsed_ns })
            }
            _ => None,
        }
    }

    pub fn ns_per_op(&self) -> f64 {
        self.elapsed_ns as f64 / self.ops as f64
    }
    pub fn ops_per_sec(&self) -> f64 {
        self.ops as f64 * 1e9 / self.elapsed_ns as f64
    }
}

/// The load's arguments for `ops` opens of /dev/null at `rate` a second.
pub fn paced_opens(ops: u64, rate: f64) -> Vec<OsString> {
    vec![
        "open".into(),
        ops.to_string().into(),
        "/dev/null".into(),
        "--rate".into(),
        format!("{rate:.0}").into(),
    ]
}

/// The load generator, started with `--wait`: its start-up is over, it waits for `go`.
pub struct Load {
    child: Child,
    stdin: Option<ChildStdin>,
    stdout: BufReader<ChildStdout>,
    command: String,
}

impl Load {
    pub fn spawn(bench: &Bench, args: &[OsString]) -> Result<Self> {
        Self::spawn_on(bench, args, None)
    }

    /// [`Load::spawn`] on one CPU.
    pub fn spawn_on(bench: &Bench, args: &[OsString], cpu: Option<u32>) -> Result<Self> {
        let mut command = command_on(&bench.load, cpu);
        command
            .arg("--wait")
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let shown = cmd::show(&command);
        let mut child = command
            .spawn()
            .with_context(|| format!("could not start `{shown}`"))?;
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().context("the load's stdout")?);
        let mut ready = String::new();
        stdout.read_line(&mut ready)?;
        if !ready.starts_with("ready pid=") {
            let status = child.wait()?;
            bail!("`{shown}` did not get ready ({status}): {ready:?}");
        }
        Ok(Self {
            child,
            stdin,
            stdout,
            command: shown,
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Starts the timed loop.
    pub fn go(&mut self) -> Result<()> {
        let mut stdin = self.stdin.take().context("the load was already started")?;
        stdin
            .write_all(b"go\n")
            .with_context(|| format!("starting `{}`", self.command))
    }

    /// Waits for the loop to end and reads its timing.
    pub fn finish(mut self) -> Result<LoadResult> {
        let mut line = String::new();
        self.stdout.read_line(&mut line)?;
        let status = self.child.wait()?;
        if !status.success() {
            bail!("`{}` failed ({status})", self.command);
        }
        LoadResult::parse(&line).with_context(|| format!("`{}` printed {line:?}", self.command))
    }

    /// go + finish, with nothing else running: the untraced baseline.
    pub fn run(mut self) -> Result<LoadResult> {
        self.go()?;
        self.finish()
    }

    /// go + finish with a tracer `pid` running alongside; also the tracer's CPU time per
    /// operation while the load ran (on a small machine it competes with the load).
    pub fn run_beside(self, pid: u32) -> Result<(LoadResult, Option<f64>)> {
        let before = cpu_ns(pid, None);
        let result = self.run()?;
        let cpu = cpu_ns(pid, None)
            .zip(before)
            .map(|(after, before)| after.saturating_sub(before) as f64 / result.ops as f64);
        Ok((result, cpu))
    }
}

impl Drop for Load {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = signal(self.child.id(), SIGKILL);
            let _ = self.child.wait();
        }
    }
}

/// A `Vm*:` value of /proc/<pid>/status, in kB.
pub fn status_kb(pid: u32, key: &str) -> Option<u64> {
    let status = fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// CPU time of a process's threads, in ns: all of them, or those whose comm is `comm`. Read from
/// `se.sum_exec_runtime` in /proc/<pid>/task/<tid>/sched (ns precision) where the kernel has it,
/// else from the utime + stime clock ticks of /proc/<pid>/task/<tid>/stat.
pub fn cpu_ns(pid: u32, comm: Option<&str>) -> Option<u64> {
    let tasks = fs::read_dir(format!("/proc/{pid}/task")).ok()?;
    let mut total = 0;
    let mut found = false;
    for task in tasks.flatten() {
        let dir = task.path();
        if let Some(comm) = comm {
            let name = fs::read_to_string(dir.join("comm")).unwrap_or_default();
            if name.trim_end() != comm {
                continue;
            }
        }
        if let Some(ns) = sched_runtime_ns(&dir).or_else(|| stat_ticks_ns(&dir)) {
            total += ns;
            found = true;
        }
    }
    found.then_some(total)
}

fn sched_runtime_ns(task: &Path) -> Option<u64> {
    let sched = fs::read_to_string(task.join("sched")).ok()?;
    let ms: f64 = sched
        .lines()
        .find(|line| line.starts_with("se.sum_exec_runtime"))?
        .split(':')
        .nth(1)?
        .trim()
        .parse()
        .ok()?;
    Some((ms * 1e6) as u64)
}

fn stat_ticks_ns(task: &Path) -> Option<u64> {
    let stat = fs::read_to_string(task.join("stat")).ok()?;
    // Fields after the `(comm)`, which may itself hold spaces: utime and stime are 14 and 15.
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: u64 = fields.get(11)?.parse().ok()?;
    let stime: u64 = fields.get(12)?.parse().ok()?;
    // USER_HZ is 100 on every Linux the kernel's ABI promises.
    Some((utime + stime) * 10_000_000)
}

/// The pids of the processes running now.
pub fn all_pids() -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|entry| entry.file_name().to_str()?.parse().ok())
        .collect()
}

/// Other tracers on the machine (not ours): they slow the "untraced" baseline too.
pub fn other_tracers(ours: &[u32]) -> Vec<String> {
    let me = std::process::id();
    let mut found = Vec::new();
    for pid in all_pids() {
        if pid == me || ours.contains(&pid) {
            continue;
        }
        let comm = fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
        let comm = comm.trim_end();
        if matches!(comm, "ringside" | "bpftrace") {
            found.push(format!("{comm}[{pid}]"));
        }
    }
    found.sort();
    found
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_lines() {
        let lines = [
            "ringside: tracing (20 tracepoints attached)",
            "ringside: open delivered=2492 dropped=7",
            "ringside: exec delivered=3 dropped=1",
            "ringside: stacks symbolized=5 timed_out=0 frames=60 unresolved_frames=2 mapping_records_lost=0",
            "ringside: latency_ns p50=1200 p99=80000",
            "ringside: malformed records skipped=3",
        ];
        let summary = Summary::parse(lines.iter().map(|l| l.to_string()).collect());
        assert_eq!(summary.kind("open"), Some((2492, 7)));
        assert_eq!(summary.total_dropped(), 8);
        assert_eq!(summary.get("stacks", "frames"), Some(60));
        assert_eq!(summary.get("latency_ns", "p99"), Some(80_000));
        assert_eq!(summary.get("malformed", "skipped"), Some(3));
        assert_eq!(summary.get("tracing", "x"), None);
    }

    #[test]
    fn bpftrace_lost_lines() {
        let stderr = [
            "Attaching 1 probe...",
            "Lost 12 events",
            "Lost 3 events",
            "x",
        ];
        let stderr: Vec<String> = stderr.iter().map(|l| l.to_string()).collect();
        assert_eq!(lost_events(&stderr), 15);
    }

    #[test]
    fn bpftrace_maps() {
        let stdout = [
            "Attaching 2 probes...",
            "pid=4242",
            "@connects[4242]: 25",
            "@connects[17]: 1",
            "@results[4242, -2]: 2",
            "@results[4242, 0]: 22",
            "@other[4242]: 3",
        ];
        let stdout: Vec<String> = stdout.iter().map(|l| l.to_string()).collect();
        let connects = bpftrace_map(&stdout, "connects");
        assert_eq!(connects.len(), 2);
        assert_eq!(connects[&vec![4242]], 25);
        let results = bpftrace_map(&stdout, "results");
        assert_eq!(results[&vec![4242, -2]], 2);
        assert_eq!(results[&vec![4242, 0]], 22);
        assert!(bpftrace_map(&stdout, "missing").is_empty());
    }

    #[test]
    fn load_lines() {
        let r = LoadResult::parse("ops=200 elapsed_ns=1000 ns_per_op=5.0").expect("line");
        assert_eq!((r.ops, r.elapsed_ns), (200, 1000));
        assert_eq!(r.ns_per_op(), 5.0);
        assert!(LoadResult::parse("ops=0 elapsed_ns=1").is_none());
        assert!(LoadResult::parse("hello").is_none());
    }

    #[test]
    fn reads_our_own_cpu_and_memory() {
        let me = std::process::id();
        assert!(status_kb(me, "VmRSS").is_some_and(|kb| kb > 0));
        assert!(cpu_ns(me, None).is_some());
    }
}
