//! Runs the real `ringside --json` binary for kernel tests and collects what it prints.
#![allow(
    dead_code,
    reason = "each test binary uses a different part of this module"
)]

pub mod dns_responder;
pub mod fixtures;
pub mod otlp_receiver;
pub mod otlp_tls;
pub mod pty;
pub mod sshd;
pub mod stacks;
mod tui;

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

/// How long a test waits for something that should come at once: generous, because the tests
/// run on small shared machines beside other builds, where a second can stretch to many.
pub const PATIENCE: Duration = Duration::from_secs(60);

/// How long a ringside gets to exit after it was told to: detaching each tracepoint waits for
/// an RCU grace period, which a loaded machine can stretch to seconds each.
pub const EXIT_PATIENCE: Duration = Duration::from_secs(180);

/// Whether kernel tests can run here. Under `cargo xtask test` or CI they must: not being root
/// is then a failure. A plain `cargo test` as a non-root user skips them with a reason.
pub fn kernel_tests_enabled(test: &str) -> bool {
    let required = std::env::var("RINGSIDE_KERNEL_TESTS").is_ok_and(|v| v == "require")
        || std::env::var("CI").is_ok_and(|v| v == "true");
    if nix::unistd::geteuid().is_root() {
        return true;
    }
    assert!(
        !required,
        "{test}: kernel tests must run here (CI or `cargo xtask test`) but need root"
    );
    eprintln!("{test}: skipped: loading eBPF probes needs root; run `cargo xtask test` as root");
    false
}

/// The static binary `cargo xtask dist` makes (`cargo xtask test` makes it before the tests),
/// or `$RINGSIDE_DIST_BINARY`. Tests of what only a static build does need it.
pub fn dist_binary(test: &str) -> PathBuf {
    let path = std::env::var_os("RINGSIDE_DIST_BINARY").map_or_else(
        || Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/dist/ringside"),
        PathBuf::from,
    );
    assert!(
        path.is_file(),
        "{test}: needs the static binary {}: run `cargo xtask dist` first (`cargo xtask test` does)",
        path.display()
    );
    path
}

/// Reads `child`'s stderr on a thread; returns once `count` of its lines contained `needle`,
/// with the thread, which gives every line when the child exits. Panics with what it printed
/// (and kills it) if that takes longer than [`PATIENCE`].
pub fn stderr_once_said(child: &mut Child, needle: &str, count: usize) -> JoinHandle<Vec<String>> {
    let stderr = child.stderr.take().expect("stderr piped");
    let (said_tx, said) = std::sync::mpsc::channel();
    let needle_owned = needle.to_owned();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains(&needle_owned) {
                let _ = said_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let deadline = Instant::now() + PATIENCE;
    for _ in 0..count {
        if let Err(error) = said.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = reader.join().unwrap_or_default();
            panic!(
                "ringside did not say `{needle}` {count} times within {} s ({error}): {stderr:?}",
                PATIENCE.as_secs()
            );
        }
    }
    reader
}

/// A unique token for paths and arguments, so a test finds its own events among the system's.
pub fn nonce() -> String {
    // Tests of one binary run in parallel, and a coarse clock can give two of them the same
    // time: a count keeps their tokens apart.
    static COUNT: AtomicU64 = AtomicU64::new(0);
    let count = u128::from(COUNT.fetch_add(1, Ordering::Relaxed));
    let nanos = Instant::now().elapsed().as_nanos() ^ u128::from(std::process::id());
    let time = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_nanos();
    format!("{:x}", (time ^ nanos ^ (count << 36)) & 0xffff_ffff_ffff)
}

/// Waits for `child` to exit, up to [`EXIT_PATIENCE`]; kills it and panics naming `what`
/// if it does not.
pub fn wait_for_exit(child: &mut Child, what: &str) -> ExitStatus {
    exit_status_in_time(child)
        .unwrap_or_else(|| panic!("{what} did not exit within {} s", EXIT_PATIENCE.as_secs()))
}

/// `child`'s exit status if it exits within [`EXIT_PATIENCE`]; else it is killed and `None`.
pub fn exit_status_in_time(child: &mut Child) -> Option<ExitStatus> {
    let deadline = Instant::now() + EXIT_PATIENCE;
    loop {
        if let Some(status) = child.try_wait().expect("waiting for a child") {
            return Some(status);
        }
        if Instant::now() >= deadline {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A running `ringside --json`.
pub struct Ringside {
    child: Child,
    events: Arc<Mutex<Vec<Value>>>,
    stderr: Arc<Mutex<Vec<String>>>,
    /// The threads reading stdout and stderr: done once ringside has exited and they have
    /// taken its last lines.
    readers: Vec<JoinHandle<()>>,
}

pub struct Finished {
    pub events: Vec<Value>,
    pub stderr: Vec<String>,
    pub success: bool,
}

impl Ringside {
    /// Starts ringside with `args` after `--json` and waits until its probes are attached.
    pub fn start(args: &[&str]) -> Self {
        Self::start_with_env(args, &[])
    }

    /// As [`Ringside::start`], with these environment variables set for ringside.
    pub fn start_with_env(args: &[&str], env: &[(&str, &str)]) -> Self {
        let mut ringside = Self::spawn(args, env);
        ringside.wait_for_stderr("ringside: tracing", PATIENCE);
        ringside
    }

    /// A fleet view (`--host`) over `hosts` hosts: waits until each has said it is live.
    pub fn start_fleet(args: &[&str], hosts: usize) -> Self {
        let mut ringside = Self::spawn(args, &[]);
        ringside.wait_for_stderr_count(": live", hosts, PATIENCE);
        ringside
    }

    /// The lines ringside has written to stderr so far.
    pub fn stderr_lines(&self) -> Vec<String> {
        self.stderr.lock().expect("lock").clone()
    }

    /// The child's pid.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits until `count` lines of stderr contain `needle`.
    pub fn wait_for_stderr_count(&mut self, needle: &str, count: usize, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            let seen = self
                .stderr
                .lock()
                .expect("lock")
                .iter()
                .filter(|line| line.contains(needle))
                .count();
            if seen >= count {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "ringside did not print `{needle}` {count} times within {} s: {:?}",
                timeout.as_secs(),
                self.stderr.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// [`Ringside::start_fleet`] with another ringside binary (the static one, say).
    pub fn start_fleet_with(binary: &Path, args: &[&str], hosts: usize) -> Self {
        let mut ringside = Self::spawn_binary(binary, args, &[]);
        ringside.wait_for_stderr_count(": live", hosts, PATIENCE);
        ringside
    }

    fn spawn(args: &[&str], env: &[(&str, &str)]) -> Self {
        Self::spawn_binary(Path::new(env!("CARGO_BIN_EXE_ringside")), args, env)
    }

    fn spawn_binary(binary: &Path, args: &[&str], env: &[(&str, &str)]) -> Self {
        let log = std::env::temp_dir().join(format!("ringside-test-{}.log", nonce()));
        let mut child = Command::new(binary)
            .envs(env.iter().copied())
            .arg("--json")
            .arg("--log-file")
            .arg(&log)
            // The tests check what symbols say, not how fast they come: a loaded machine
            // (parallel tests, a bench, another build) must not turn that into a timing test.
            // Batches are symbolized side by side, so a long wait costs only when it is needed.
            .args(["--symbol-wait", "30000"])
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawning ringside");
        let events = Arc::new(Mutex::new(Vec::new()));
        let stderr = Arc::new(Mutex::new(Vec::new()));
        let stdout = child.stdout.take().expect("stdout");
        let sink = Arc::clone(&events);
        let stdout_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                let value: Value = serde_json::from_str(&line).unwrap_or_else(|error| {
                    panic!("ringside wrote invalid JSON ({error}): {line}")
                });
                sink.lock().expect("lock").push(value);
            }
        });
        let errors = child.stderr.take().expect("stderr");
        let sink = Arc::clone(&stderr);
        let stderr_reader = std::thread::spawn(move || {
            for line in BufReader::new(errors).lines().map_while(Result::ok) {
                sink.lock().expect("lock").push(line);
            }
        });
        Self {
            child,
            events,
            stderr,
            readers: vec![stdout_reader, stderr_reader],
        }
    }

    fn wait_for_stderr(&mut self, needle: &str, timeout: Duration) {
        let deadline = Instant::now() + timeout;
        loop {
            if self
                .stderr
                .lock()
                .expect("lock")
                .iter()
                .any(|line| line.contains(needle))
            {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                panic!(
                    "ringside exited ({status}) before tracing: {:?}",
                    self.stderr.lock().expect("lock")
                );
            }
            assert!(
                Instant::now() < deadline,
                "ringside did not print `{needle}` within {} s: {:?}",
                timeout.as_secs(),
                self.stderr.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to [`PATIENCE`]) until an event matching `predicate` arrives; panics naming
    /// `what` otherwise.
    pub fn wait_for(&self, what: &str, predicate: impl Fn(&Value) -> bool) -> Value {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let arrived = {
                let events = self.events.lock().expect("lock");
                if let Some(found) = events.iter().find(|e| predicate(e)) {
                    return found.clone();
                }
                events.len()
            };
            assert!(
                Instant::now() < deadline,
                "no {what} arrived within {} s (among {arrived} events); stderr: {:?}",
                PATIENCE.as_secs(),
                self.stderr.lock().expect("lock")
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits until `count` events match `predicate`, for as long as matching events keep
    /// coming (a slow machine delivers a burst slowly, not partly); returns how many matched
    /// when they stopped coming for [`PATIENCE`].
    pub fn wait_for_count(&self, count: usize, predicate: impl Fn(&Value) -> bool) -> usize {
        let mut last_seen = 0;
        let mut last_progress = Instant::now();
        loop {
            let seen = self
                .events
                .lock()
                .expect("lock")
                .iter()
                .filter(|e| predicate(e))
                .count();
            if seen >= count {
                return seen;
            }
            if seen > last_seen {
                last_seen = seen;
                last_progress = Instant::now();
            } else if last_progress.elapsed() >= PATIENCE {
                return seen;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Events so far that match `predicate`.
    pub fn matching(&self, predicate: impl Fn(&Value) -> bool) -> Vec<Value> {
        self.events
            .lock()
            .expect("lock")
            .iter()
            .filter(|e| predicate(e))
            .cloned()
            .collect()
    }

    /// Stops ringside with SIGINT, as a user's Ctrl-C, and returns everything it printed.
    pub fn stop(mut self) -> Finished {
        let pid = nix::unistd::Pid::from_raw(self.child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
        let Some(status) = exit_status_in_time(&mut self.child) else {
            panic!(
                "ringside did not exit within {} s of SIGINT: {:?}",
                EXIT_PATIENCE.as_secs(),
                self.stderr.lock().expect("lock")
            );
        };
        // Its pipes are closed now: the readers end once they have taken the last lines.
        for reader in std::mem::take(&mut self.readers) {
            if let Err(panic) = reader.join() {
                std::panic::resume_unwind(panic);
            }
        }
        Finished {
            events: self.events.lock().expect("lock").clone(),
            stderr: self.stderr.lock().expect("lock").clone(),
            success: status.success(),
        }
    }
}

impl Drop for Ringside {
    fn drop(&mut self) {
        let _ = self.child.kill();
    }
}

/// A scratch directory removed at the end of the test.
pub fn scratch_dir() -> tempfile::TempDir {
    tempfile::Builder::new()
        .prefix("ringside-test-")
        .tempdir()
        .expect("temp dir")
}

pub fn path_string(path: &Path) -> String {
    path.to_str().expect("utf-8 temp path").to_owned()
}

pub fn field<'a>(event: &'a Value, key: &str) -> &'a Value {
    event
        .get(key)
        .unwrap_or_else(|| panic!("event has no `{key}`: {event}"))
}

pub fn is_type(event: &Value, kind: &str) -> bool {
    event["type"] == kind
}
