//! One host's connection: ssh runs `ringside stream` there, and a thread of its own reads the
//! stream, so a slow, dead or hostile host holds up only itself. A lost connection is retried
//! with backoff (1 s doubling to 30 s); a version mismatch is not, since it would fail again.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read};
use std::process::{Child, ChildStdin, Command};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use tokio::sync::mpsc;

use super::wire::{self, Control, Message, WireError};
use crate::model::Event;
use crate::model::host::HostId;

const FIRST_RETRY: Duration = Duration::from_secs(1);
const LAST_RETRY: Duration = Duration::from_secs(30);
/// Lines of ssh's stderr kept: the last one says why a connection failed.
const STDERR_LINES: usize = 20;

/// What a host is doing, for its status line.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum HostState {
    Connecting,
    Live,
    /// The connection ended or never came up; another attempt follows after `retry`.
    Retrying {
        reason: String,
        retry: Duration,
    },
    /// It will not work by retrying (another ringside version there): given up.
    Refused(String),
}

/// What a host's thread tells the viewer.
#[derive(Debug)]
pub enum Report {
    State(HostId, HostState),
    Events(HostId, Vec<Event>),
    Drops(HostId, BTreeMap<String, u64>),
    /// The host's clock minus the viewer's, in milliseconds, when its stream started.
    ClockSkew(HostId, i64),
    Warning(HostId, String),
    /// Nothing older than this is still to come from the host (by its clock).
    Watermark(HostId, SystemTime),
    /// What getting the remote ready did: an `--install`'s copy, or its reuse.
    Note(HostId, String),
}

/// A host's connection, running until [`Link::stop`].
pub struct Link {
    stop: Arc<AtomicBool>,
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    /// The last control sent: a host that reconnects gets it again first.
    last_control: Arc<Mutex<Option<Control>>>,
    child_pid: Arc<AtomicU32>,
    thread: Option<JoinHandle<()>>,
}

/// How to start the remote side, again at each retry: the command, or why it cannot be
/// started (an `--install` that failed).
pub type Connect = Box<dyn Fn() -> Result<Launch, String> + Send>;

/// A remote side ready to start.
pub struct Launch {
    pub command: Command,
    /// What getting it ready did, for the host's line (`copied ringside to …`).
    pub note: Option<String>,
}

impl Link {
    pub fn start(
        host: HostId,
        label: String,
        connect: Connect,
        reports: mpsc::Sender<Report>,
    ) -> Link {
        let stop = Arc::new(AtomicBool::new(false));
        let stdin = Arc::new(Mutex::new(None));
        let last_control = Arc::new(Mutex::new(None));
        let child_pid = Arc::new(AtomicU32::new(0));
        let session = Session {
            host,
            label,
            connect,
            reports,
            stop: Arc::clone(&stop),
            stdin: Arc::clone(&stdin),
            last_control: Arc::clone(&last_control),
            child_pid: Arc::clone(&child_pid),
        };
        let thread = std::thread::Builder::new()
            .name(format!("host {host:?}"))
            .spawn(move || session.run())
            .ok();
        Link {
            stop,
            stdin,
            last_control,
            child_pid,
            thread,
        }
    }

    /// Sends a control message to the remote; a host that is not connected now gets it
    /// when it reconnects.
    pub fn send(&self, control: &Control) {
        if let Ok(mut last) = self.last_control.lock() {
            *last = Some(control.clone());
        }
        if let Ok(mut stdin) = self.stdin.lock()
            && let Some(pipe) = stdin.as_mut()
            && wire::write_frame(pipe, &[control]).is_err()
        {
            *stdin = None;
        }
    }

    /// Asks the remote to stop: its stdin closes, so it detaches its probes and exits.
    pub fn ask_to_stop(&self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
    }

    /// Waits until `deadline` for the remote to have stopped (after [`Link::ask_to_stop`]),
    /// then ends the connection by force. Never waits past the deadline.
    pub fn stop(mut self, deadline: Instant) {
        self.ask_to_stop();
        let Some(thread) = self.thread.take() else {
            return;
        };
        while !thread.is_finished() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        if !thread.is_finished() {
            let pid = self.child_pid.load(Ordering::SeqCst);
            if let Ok(pid) = i32::try_from(pid)
                && pid > 0
            {
                let _ = nix::sys::signal::kill(
                    nix::unistd::Pid::from_raw(pid),
                    nix::sys::signal::Signal::SIGKILL,
                );
            }
            // The thread follows once its process is gone; if something still holds it (a
            // pipe a lingering ssh helper keeps open), it is left behind, not waited for.
            let grace = Instant::now() + Duration::from_secs(2);
            while !thread.is_finished() && Instant::now() < grace {
                std::thread::sleep(Duration::from_millis(20));
            }
            if !thread.is_finished() {
                return;
            }
        }
        let _ = thread.join();
    }
}

struct Session {
    host: HostId,
    label: String,
    connect: Connect,
    reports: mpsc::Sender<Report>,
    stop: Arc<AtomicBool>,
    stdin: Arc<Mutex<Option<ChildStdin>>>,
    last_control: Arc<Mutex<Option<Control>>>,
    child_pid: Arc<AtomicU32>,
}

/// How one connection ended.
enum Ended {
    /// Worth another try: the reason, and whether the stream had come up.
    Lost {
        reason: String,
        was_live: bool,
    },
    Refused(String),
}

impl Session {
    fn run(self) {
        let mut retry = FIRST_RETRY;
        while !self.stopping() {
            self.report(Report::State(self.host, HostState::Connecting));
            match self.connect_once() {
                Ended::Refused(reason) => {
                    self.report(Report::State(self.host, HostState::Refused(reason)));
                    return;
                }
                Ended::Lost { reason, was_live } => {
                    if self.stopping() {
                        return;
                    }
                    if was_live {
                        retry = FIRST_RETRY;
                    }
                    self.report(Report::State(
                        self.host,
                        HostState::Retrying { reason, retry },
                    ));
                }
            }
            self.sleep(retry);
            retry = (retry * 2).min(LAST_RETRY);
        }
    }

    fn stopping(&self) -> bool {
        self.stop.load(Ordering::SeqCst)
    }

    /// Waits `pause`, or less when the viewer stops.
    fn sleep(&self, pause: Duration) {
        let until = Instant::now() + pause;
        while Instant::now() < until && !self.stopping() {
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// `false` once the viewer is gone.
    fn report(&self, report: Report) -> bool {
        self.reports.blocking_send(report).is_ok()
    }

    fn connect_once(&self) -> Ended {
        let launch = match (self.connect)() {
            Ok(launch) => launch,
            Err(reason) => {
                return Ended::Lost {
                    reason,
                    was_live: false,
                };
            }
        };
        if let Some(note) = launch.note {
            self.report(Report::Note(self.host, note));
        }
        let mut command = launch.command;
        let mut child = match command.spawn() {
            Ok(child) => child,
            Err(error) => {
                return Ended::Lost {
                    reason: format!("cannot run ssh: {error}"),
                    was_live: false,
                };
            }
        };
        self.child_pid.store(child.id(), Ordering::SeqCst);
        if let Ok(mut stdin) = self.stdin.lock() {
            // Under the lock: a stop that came meanwhile closes this pipe at once.
            let mut pipe = child.stdin.take().filter(|_| !self.stopping());
            // A filter typed while the host was away applies from its first event.
            let last = self.last_control.lock().ok().and_then(|last| last.clone());
            if let (Some(control), Some(open)) = (last, pipe.as_mut())
                && wire::write_frame(open, &[control]).is_err()
            {
                pipe = None;
            }
            *stdin = pipe;
        }
        let stderr = keep_last_lines(child.stderr.take());
        let Some(stdout) = child.stdout.take() else {
            return self.end(&mut child, &stderr, "no output pipe".into(), false);
        };
        let mut stdout = BufReader::with_capacity(1 << 16, stdout);
        let theirs = match wire::read_hello(&mut stdout) {
            Ok(version) => version,
            // Another version, which speaks another protocol: refused for its version below.
            Err(WireError::Protocol { version, .. }) if version != crate::version::LONG => version,
            Err(WireError::Ended) => {
                return self.end(&mut child, &stderr, "the connection closed".into(), false);
            }
            Err(error) => {
                // Not a stream: whatever follows is not read, so the sender is stopped.
                let _ = child.kill();
                return self.end(&mut child, &stderr, error.to_string(), false);
            }
        };
        if theirs != crate::version::LONG {
            let _ = child.kill();
            let _ = child.wait();
            return Ended::Refused(format!(
                "{} runs ringside {theirs}; this is ringside {}: put this version there (the \
                 static binary of `cargo xtask dist`) or name it with --remote-path",
                self.label,
                crate::version::LONG
            ));
        }
        let mut was_live = false;
        loop {
            match wire::read_frame::<Vec<Message>>(&mut stdout) {
                Ok(messages) => {
                    for message in messages {
                        was_live |= matches!(message, Message::Started { .. });
                        if !self.forward(message) {
                            return self.end(&mut child, &stderr, "stopped".into(), was_live);
                        }
                    }
                }
                Err(WireError::Ended) => {
                    return self.end(
                        &mut child,
                        &stderr,
                        "the connection closed".into(),
                        was_live,
                    );
                }
                Err(error) => {
                    // A broken or hostile stream: nothing after it can be trusted.
                    let _ = child.kill();
                    return self.end(&mut child, &stderr, error.to_string(), was_live);
                }
            }
        }
    }

    /// Hands a message on; `false` once the viewer is gone.
    fn forward(&self, message: Message) -> bool {
        let report = match message {
            Message::Started { wall_ns, .. } => {
                let ours = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .map_or(0, |since| since.as_nanos() as i128);
                let skew_ms = (i128::from(wall_ns) - ours) / 1_000_000;
                self.report(Report::ClockSkew(
                    self.host,
                    i64::try_from(skew_ms).unwrap_or(i64::MAX),
                ));
                Report::State(self.host, HostState::Live)
            }
            Message::Events(mut events) => {
                for event in &mut events {
                    event.host = self.host;
                }
                Report::Events(self.host, events)
            }
            Message::Drops(drops) => Report::Drops(self.host, drops),
            Message::Watermark(wall_ns) => {
                Report::Watermark(self.host, UNIX_EPOCH + Duration::from_nanos(wall_ns))
            }
            Message::Warning(text) => Report::Warning(self.host, text),
        };
        self.report(report)
    }

    /// Waits for the connection's end and says why it ended: ssh's or the remote's last line
    /// on stderr when there is one.
    fn end(
        &self,
        child: &mut Child,
        stderr: &StderrTail,
        fallback: String,
        was_live: bool,
    ) -> Ended {
        if let Ok(mut stdin) = self.stdin.lock() {
            stdin.take();
        }
        let status = wait_a_while(child);
        self.child_pid.store(0, Ordering::SeqCst);
        // The stderr reader ends with the process's stderr; give it a moment to take the last
        // lines, but no more: a helper ssh leaves behind (ControlPersist) may keep it open.
        if let Some(reader) = stderr.reader.lock().ok().and_then(|mut r| r.take()) {
            let until = Instant::now() + Duration::from_millis(500);
            while !reader.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(10));
            }
            if reader.is_finished() {
                let _ = reader.join();
            }
        }
        let last = stderr.lines.lock().ok().and_then(|lines| {
            lines
                .iter()
                .rev()
                .find(|line| !line.starts_with("ringside: ") || line.contains("error"))
                .cloned()
        });
        let reason = match (last, status) {
            (Some(line), _) => line,
            (None, Ok(status)) if !status.success() => format!("{fallback} ({status})"),
            (None, _) => fallback,
        };
        Ended::Lost { reason, was_live }
    }
}

/// Waits for a connection's process to end; one that lingers after its stream closed (a
/// session ssh keeps open) is ended.
fn wait_a_while(child: &mut Child) -> std::io::Result<std::process::ExitStatus> {
    let deadline = Instant::now() + Duration::from_secs(5);
    while Instant::now() < deadline {
        if let Some(status) = child.try_wait()? {
            return Ok(status);
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    child.wait()
}

/// The last lines of a process's stderr, read by a thread of their own.
struct StderrTail {
    lines: Arc<Mutex<Vec<String>>>,
    reader: Mutex<Option<JoinHandle<()>>>,
}

fn keep_last_lines(stderr: Option<impl Read + Send + 'static>) -> StderrTail {
    let lines = Arc::new(Mutex::new(Vec::new()));
    let sink = Arc::clone(&lines);
    let reader = stderr.and_then(|stderr| {
        std::thread::Builder::new()
            .name("host stderr".into())
            .spawn(move || {
                for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                    let Ok(mut lines) = sink.lock() else {
                        return;
                    };
                    if lines.len() == STDERR_LINES {
                        lines.remove(0);
                    }
                    // Inert: a remote's text reaches a status line.
                    lines.push(crate::model::text::printable(line.as_bytes()).into_owned());
                }
            })
            .ok()
    });
    StderrTail {
        lines,
        reader: Mutex::new(reader),
    }
}
