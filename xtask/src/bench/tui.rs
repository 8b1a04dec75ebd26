//! ringside's TUI in a pseudo-terminal, as the bench drives it: started with `--stats-file`,
//! its output drained by a reader thread (discarded, or run through a terminal emulator when a
//! measurement wants to read the screen), quit with `q`, and what it measured read back from the
//! stats file.

use std::collections::BTreeMap;
use std::fs;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};
use portable_pty::CommandBuilder;
use serde::{Deserialize, Serialize};

use super::Bench;
use super::procs::signal;
use crate::pty::Pty;

/// The terminal the issue measures the TUI in.
pub const ROWS: u16 = 50;
pub const COLS: u16 = 200;

/// How long the TUI may take to load its probes and draw (the verifier is slow on a busy machine).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long it may take to quit after `q`: detaching each probe waits for an RCU grace period.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// What the TUI writes when it enters its screen (ratatui's alternate screen), which it does
/// once the probes are attached: from then on it traces.
const ENTERED: &[u8] = b"\x1b[?1049h";
/// Output kept from the start, to show when the TUI fails before drawing.
const KEEP: usize = 8192;
/// Output after this much silence starts a new screen update: a frame that changed the screen
/// (ratatui writes only the cells that changed, all at once).
const UPDATE_GAP: Duration = Duration::from_millis(8);

const SIGKILL: i32 = 9;

/// What the reader thread does with the output.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Screen {
    /// Drains and drops it, as a fast terminal would.
    Discard,
    /// Keeps a terminal emulator's screen, to read what the TUI shows.
    Emulate,
}

/// What the reader thread keeps of the output.
#[derive(Default)]
struct Output {
    /// The first bytes, for error messages.
    head: Vec<u8>,
    /// The last bytes of the previous read, to find ENTERED across reads.
    tail: Vec<u8>,
    bytes: u64,
    /// Bursts of output: screen updates.
    updates: u64,
    last_read: Option<Instant>,
    entered: bool,
    parser: Option<vt100::Parser>,
}

impl Output {
    /// One read of the TUI's output, at `now`.
    fn take(&mut self, chunk: &[u8], now: Instant) {
        self.bytes += chunk.len() as u64;
        if self
            .last_read
            .is_none_or(|last| now.duration_since(last) >= UPDATE_GAP)
        {
            self.updates += 1;
        }
        self.last_read = Some(now);
        if self.head.len() < KEEP {
            let room = KEEP - self.head.len();
            self.head.extend_from_slice(&chunk[..chunk.len().min(room)]);
        }
        if !self.entered {
            let mut seen = std::mem::take(&mut self.tail);
            seen.extend_from_slice(chunk);
            self.entered = seen.windows(ENTERED.len()).any(|w| w == ENTERED);
            self.tail = seen[seen.len().saturating_sub(ENTERED.len())..].to_vec();
        }
        if let Some(parser) = &mut self.parser {
            parser.process(chunk);
        }
    }
}

/// A running TUI.
pub struct Tui {
    pty: Pty,
    pid: u32,
    output: Arc<Mutex<Output>>,
    stats_file: PathBuf,
    started: Instant,
}

impl Tui {
    /// Starts `ringside <args> --stats-file … --log-file …` in a ROWS x COLS pseudo-terminal and
    /// returns once it entered its screen (its probes are attached).
    pub fn start(bench: &Bench, args: &[&str], screen: Screen) -> Result<Tui> {
        static RUNS: AtomicU32 = AtomicU32::new(0);
        let run = RUNS.fetch_add(1, Ordering::Relaxed);
        let stats_file = bench.scratch.join(format!("tui-stats-{run}.json"));
        let _ = fs::remove_file(&stats_file);
        let mut command = CommandBuilder::new(&bench.ringside);
        command.args(args);
        command.arg("--stats-file");
        command.arg(&stats_file);
        command.arg("--log-file");
        command.arg(bench.dir.join("ringside.log"));
        command.cwd(&bench.dir);
        let shown = format!("{} {}", bench.ringside.display(), args.join(" "));
        let output = Arc::new(Mutex::new(Output {
            parser: (screen == Screen::Emulate).then(|| vt100::Parser::new(ROWS, COLS, 0)),
            ..Output::default()
        }));
        let sink = Arc::clone(&output);
        let started = Instant::now();
        let pty = Pty::spawn(command, ROWS, COLS, move |chunk| {
            let now = Instant::now();
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .take(chunk, now);
        })?;
        let pid = pty.pid().context("the TUI's pid")?;
        let mut tui = Tui {
            pty,
            pid,
            output,
            stats_file,
            started,
        };
        tui.wait_entered(&shown)?;
        Ok(tui)
    }

    fn wait_entered(&mut self, shown: &str) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.lock().entered {
                return Ok(());
            }
            if let Some(status) = self.pty.try_wait().context("polling the TUI")? {
                // Let the reader take the last of the output.
                thread::sleep(Duration::from_millis(100));
                bail!(
                    "`{shown}` exited ({status:?}) before drawing:\n{}",
                    self.head_text()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "`{shown}` did not draw within {START_TIMEOUT:?}; output so far:\n{}",
                    self.head_text()
                );
            }
            thread::sleep(Duration::from_millis(10));
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Output> {
        self.output.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn head_text(&self) -> String {
        String::from_utf8_lossy(&self.lock().head).into_owned()
    }

    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Screen updates so far: bursts of output, each a frame that changed something.
    pub fn updates(&self) -> u64 {
        self.lock().updates
    }

    /// The screen's text, with Screen::Emulate.
    pub fn screen_text(&self) -> Option<String> {
        Some(self.lock().parser.as_ref()?.screen().contents())
    }

    /// The events the store holds, from the Events pane's title ` Events [All] shown/held … `.
    pub fn store_len(&self) -> Option<u64> {
        store_len(&self.screen_text()?)
    }

    /// Types `keys`, as a person would.
    pub fn keys(&mut self, keys: &str) -> Result<()> {
        self.pty.type_keys(keys).context("typing into the TUI")
    }

    /// Types `q`, waits for the TUI to exit and reads its stats file.
    pub fn quit(mut self) -> Result<TuiStats> {
        let ran = self.started.elapsed();
        self.pty.type_keys("q").context("typing q")?;
        let deadline = Instant::now() + STOP_TIMEOUT;
        let status = loop {
            if let Some(status) = self.pty.try_wait().context("polling the TUI")? {
                break status;
            }
            if Instant::now() >= deadline {
                bail!("the TUI did not exit within {STOP_TIMEOUT:?} of `q`");
            }
            thread::sleep(Duration::from_millis(20));
        };
        if !status.success() {
            thread::sleep(Duration::from_millis(100));
            bail!(
                "the TUI exited unsuccessfully ({status:?}):\n{}",
                self.head_text()
            );
        }
        let text = fs::read_to_string(&self.stats_file).with_context(|| {
            format!(
                "the TUI wrote no stats file at {}",
                self.stats_file.display()
            )
        })?;
        let _ = fs::remove_file(&self.stats_file);
        let mut stats = TuiStats::parse(&text)?;
        stats.ran = ran;
        stats.output_bytes = self.lock().bytes;
        Ok(stats)
    }
}

impl Drop for Tui {
    /// Only when a measurement failed half-way: never leave probes attached behind us.
    fn drop(&mut self) {
        if matches!(self.pty.try_wait(), Ok(None)) {
            let _ = signal(self.pid, SIGKILL);
            let _ = self.pty.wait();
        }
    }
}

/// ` Events [All] 1000000/1000000 following `: the second number.
fn store_len(screen: &str) -> Option<u64> {
    let start = screen.find("Events [")?;
    let rest = &screen[start..];
    let rest = &rest[rest.find("] ")? + 2..];
    let counts = rest.split_whitespace().next()?;
    counts.split_once('/')?.1.parse().ok()
}

/// Percentiles as the stats file gives them, in ns.
#[derive(Clone, Copy, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

/// What the TUI measured about itself (`--stats-file`), and how long it ran for us.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TuiStats {
    pub frame_ns: Percentiles,
    /// Frames of the Stacks, Flame or Failures view, regrouping included.
    #[serde(default)]
    pub stacks_frame_ns: Percentiles,
    pub latency_ns: Percentiles,
    pub first_event_ms: Option<f64>,
    pub retained_events: u64,
    pub peak_rss_kib: u64,
    /// Per event type.
    #[serde(default)]
    pub delivered: BTreeMap<String, u64>,
    #[serde(default)]
    pub dropped: BTreeMap<String, u64>,
    /// Bytes read from the ring buffer (absent from older binaries' stats).
    pub ring_bytes: Option<u64>,
    /// From start to `q`.
    #[serde(skip)]
    pub ran: Duration,
    /// Bytes it wrote to the terminal.
    #[serde(skip)]
    pub output_bytes: u64,
}

impl TuiStats {
    fn parse(text: &str) -> Result<Self> {
        serde_json::from_str(text).with_context(|| format!("reading the stats file:\n{text}"))
    }

    pub fn total_delivered(&self) -> u64 {
        self.delivered.values().sum()
    }

    pub fn total_dropped(&self) -> u64 {
        self.dropped.values().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_store_count_in_the_title() {
        let screen = "ringside  live\n┌ Events [All] 999/1000000 following ──┐┌ Processes ┐\n";
        assert_eq!(store_len(screen), Some(1_000_000));
        assert_eq!(store_len("┌ Events [Open] 0/0 PAUSED ┐"), Some(0));
        assert_eq!(store_len("nothing"), None);
    }

    #[test]
    fn a_stats_file() {
        let text = r#"{
  "mode": "tui",
  "delivered": {
    "open": 1000100
  },
  "dropped": {
    "open": 7
  },
  "latency_ns": {
    "count": 1000100,
    "p50": 1000,
    "p99": 9000,
    "max": 12000
  },
  "frame_ns": {
    "count": 420,
    "p50": 800000,
    "p99": 2500000,
    "max": 4100000
  },
  "first_event_ms": null,
  "retained_events": 1000000,
  "peak_rss_kib": 350000,
  "stacks_symbolized": 0
}"#;
        let stats = TuiStats::parse(text).expect("parse");
        assert_eq!(stats.frame_ns.p99, 2_500_000);
        assert_eq!(stats.frame_ns.count, 420);
        assert_eq!(stats.latency_ns.p50, 1000);
        assert_eq!(stats.first_event_ms, None);
        assert_eq!(stats.retained_events, 1_000_000);
        assert_eq!(stats.peak_rss_kib, 350_000);
        assert_eq!(stats.total_delivered(), 1_000_100);
        assert_eq!(stats.dropped, BTreeMap::from([("open".to_owned(), 7)]));
        assert_eq!(stats.total_dropped(), 7);
    }
}
