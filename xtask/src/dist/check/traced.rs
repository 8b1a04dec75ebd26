//! Running ringside while this process causes events, and finding them in its NDJSON.

use std::fs::File;
use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, bail};
use serde_json::Value;

use crate::cmd;

/// How long ringside may take to load its probes and say `ringside: tracing`.
const START_LIMIT: Duration = Duration::from_secs(60);
/// How long past its `--duration` ringside may take to exit.
const EXIT_GRACE: Duration = Duration::from_secs(30);

/// What a finished ringside wrote.
pub struct Finished {
    pub stdout: Vec<String>,
    pub stderr: Vec<String>,
}

impl Finished {
    /// stderr as one block, for failure messages.
    pub fn stderr_text(&self) -> String {
        self.stderr.join("\n")
    }
}

/// Something only this run causes: an exec of `/bin/true TOKEN` and an open of a file whose
/// name holds TOKEN.
pub struct Marker {
    pub token: String,
    pub path: PathBuf,
}

impl Marker {
    pub fn new(what: &str) -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let token = format!("ringside-dist-{what}-{}-{nanos}", std::process::id());
        let path = std::env::temp_dir().join(&token);
        Self { token, path }
    }

    /// Execs /bin/true with the token as its argument, then opens (creates) the marker file.
    pub fn fire(&self) -> Result<()> {
        cmd::run(Command::new("/bin/true").arg(&self.token))?;
        File::create(&self.path).with_context(|| format!("creating {}", self.path.display()))?;
        Ok(())
    }

    /// Whether `event` is the exec of `/bin/true TOKEN`.
    pub fn is_exec(&self, event: &Value) -> bool {
        event["type"] == "exec"
            && event["filename"] == "/bin/true"
            && event["argv"]
                .as_array()
                .is_some_and(|argv| argv.iter().any(|arg| arg == self.token.as_str()))
    }

    /// Whether `event` is the open of the marker file.
    pub fn is_open(&self, event: &Value) -> bool {
        event["type"] == "open" && event["path"].as_str() == self.path.to_str()
    }

    /// Fails unless `lines` (NDJSON) hold the exec and the open; `what` names the run.
    pub fn expect_in(&self, lines: &[String], what: &str, stderr: &str) -> Result<()> {
        let events: Vec<Value> = lines
            .iter()
            .filter_map(|line| serde_json::from_str(line).ok())
            .collect();
        let exec = events.iter().any(|event| self.is_exec(event));
        let open = events.iter().any(|event| self.is_open(event));
        if !(exec && open) {
            bail!(
                "{what}: among {} events, the exec of `/bin/true {}` {} and the open of {} {}; \
                 ringside's stderr:\n{stderr}",
                events.len(),
                self.token,
                if exec { "arrived" } else { "is missing" },
                self.path.display(),
                if open { "arrived" } else { "is missing" },
            );
        }
        Ok(())
    }
}

impl Drop for Marker {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// Starts `ringside` (a command that runs it, with a `--duration`), waits until it traces,
/// runs `cause`, then waits for it to exit by itself. Fails, naming `what`, if it does not
/// start tracing, exits unsuccessfully or outlives its duration.
pub fn run(
    mut ringside: Command,
    what: &str,
    duration: Duration,
    cause: impl FnOnce() -> Result<()>,
) -> Result<Finished> {
    let shown = cmd::show(&ringside);
    let child = ringside
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("{what}: could not start `{shown}`"))?;
    let mut child = Reaped(child);
    let stdout = child.0.stdout.take().context("ringside's stdout")?;
    let stderr = child.0.stderr.take().context("ringside's stderr")?;
    let stdout = thread::spawn(move || {
        BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
            .collect::<Vec<_>>()
    });
    let (lines, stderr_lines) = mpsc::channel();
    let stderr = thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if lines.send(line).is_err() {
                break;
            }
        }
    });

    let mut said = Vec::new();
    let started = Instant::now();
    loop {
        let left = START_LIMIT.saturating_sub(started.elapsed());
        match stderr_lines.recv_timeout(left) {
            Ok(line) => {
                let tracing = line.starts_with("ringside: tracing");
                said.push(line);
                if tracing {
                    break;
                }
            }
            Err(_) => {
                let status = child.stop();
                bail!(
                    "{what}: `{shown}` did not start tracing within {} s ({status}); its stderr:\n{}",
                    START_LIMIT.as_secs(),
                    said.join("\n")
                );
            }
        }
    }
    cause()?;
    let status = child.wait(duration + EXIT_GRACE);
    let stdout = stdout.join().unwrap_or_default();
    let _ = stderr.join();
    said.extend(stderr_lines.try_iter());
    let finished = Finished {
        stdout,
        stderr: said,
    };
    match status {
        Some(status) if status.success() => Ok(finished),
        Some(status) => bail!(
            "{what}: `{shown}` failed ({status}); its stderr:\n{}",
            finished.stderr_text()
        ),
        None => bail!(
            "{what}: `{shown}` ran past its --duration by {} s; its stderr:\n{}",
            EXIT_GRACE.as_secs(),
            finished.stderr_text()
        ),
    }
}

/// A child that is killed and reaped if it is still running when dropped.
struct Reaped(Child);

impl Reaped {
    /// Waits up to `limit` for the child to exit; None if it did not (it is killed then).
    fn wait(&mut self, limit: Duration) -> Option<ExitStatus> {
        let started = Instant::now();
        while started.elapsed() < limit {
            match self.0.try_wait() {
                Ok(Some(status)) => return Some(status),
                Ok(None) => thread::sleep(Duration::from_millis(50)),
                Err(_) => break,
            }
        }
        self.stop();
        None
    }

    /// Kills the child and says how it ended.
    fn stop(&mut self) -> String {
        let _ = self.0.kill();
        self.0
            .wait()
            .map_or_else(|e| format!("wait failed: {e}"), |status| status.to_string())
    }
}

impl Drop for Reaped {
    fn drop(&mut self) {
        if matches!(self.0.try_wait(), Ok(None)) {
            self.stop();
        }
    }
}
