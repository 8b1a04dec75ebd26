//! `ringside stream`: the remote end of a fleet view, run by the viewer over ssh.
//!
//! It traces like `--json` does, symbolizes here (only this machine has its binaries), and
//! writes the [`wire`] stream to stdout, a frame per batch. Its stdin takes nothing but the
//! viewer's control frames; when stdin closes (the viewer quit, the connection dropped) it
//! detaches its probes and exits, so a lost connection never leaves probes attached.

use std::collections::BTreeMap;
use std::io::{BufWriter, Stdout, Write};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context as _;
use tokio::sync::mpsc;

use super::wire::{self, Control, Message, WireError};
use crate::filter::Filter;
use crate::headless::output::Output;
use crate::headless::{self, RunControl, Settings};
use crate::model::Event;
use crate::model::host::HostId;
use crate::probes::ProbeOptions;

/// How long a batch waits for its symbols before it goes with bare addresses: the viewer
/// shows events live, as the TUI does.
pub(super) const SYMBOL_WAIT: Duration = Duration::from_secs(2);

pub async fn run(
    options: ProbeOptions,
    filter: Filter,
    duration: Option<Duration>,
    host: HostId,
) -> anyhow::Result<()> {
    let mut output = StreamOutput::new();
    // First, before anything can fail: the viewer reads the version from it.
    output.hello()?;
    let (controls_tx, controls) = mpsc::channel(16);
    std::thread::Builder::new()
        .name("controls".into())
        .spawn(move || read_controls(controls_tx))
        .context("starting the control reader")?;
    let settings = Settings {
        duration,
        stats_file: None,
        symbol_wait: SYMBOL_WAIT,
        mode: "stream",
        controls: Some(controls),
        host,
    };
    headless::run(options, filter, settings, &mut output).await
}

/// Control frames from stdin, until it closes; a bad filter is reported and skipped.
fn read_controls(controls: mpsc::Sender<RunControl>) {
    let mut stdin = std::io::stdin().lock();
    loop {
        match wire::read_frame::<Vec<Control>>(&mut stdin) {
            Ok(batch) => {
                for control in batch {
                    let Control::SetFilter(text) = control;
                    tracing::info!("the viewer's filter: {text:?}");
                    match Filter::parse(&text) {
                        Ok(filter) => {
                            if controls
                                .blocking_send(RunControl::SetFilter(filter))
                                .is_err()
                            {
                                return;
                            }
                        }
                        Err(error) => eprintln!("ringside: the viewer's filter: {error}"),
                    }
                }
            }
            Err(WireError::Ended) => return,
            Err(error) => {
                eprintln!("ringside: stopping: {error}");
                return;
            }
        }
    }
}

/// How far events of one batch may be out of time order (CPUs stamp, then commit, each at
/// their own pace): a watermark stays this far behind the newest event sent.
const REORDER_SLACK: Duration = Duration::from_millis(10);

/// The stream on stdout: the events of a batch go out as one frame.
struct StreamOutput {
    out: BufWriter<Stdout>,
    pending: Vec<Event>,
    started: bool,
    /// The last watermark sent.
    watermark: SystemTime,
}

impl StreamOutput {
    fn new() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            pending: Vec::new(),
            started: false,
            watermark: UNIX_EPOCH,
        }
    }

    fn hello(&mut self) -> anyhow::Result<()> {
        self.out
            .write_all(wire::hello_line(crate::version::LONG).as_bytes())?;
        self.out.flush()?;
        Ok(())
    }

    /// `false` once the viewer is gone.
    fn send(&mut self, messages: &[Message]) -> anyhow::Result<bool> {
        let sent =
            wire::write_frame(&mut self.out, messages).and_then(|()| Ok(self.out.flush()?));
        match sent {
            Ok(()) => Ok(true),
            Err(error) if is_broken_pipe(&error) => Ok(false),
            Err(error) => Err(error).context("writing the stream to stdout"),
        }
    }

    fn started_message() -> Message {
        let wall_ns = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |since| {
                u64::try_from(since.as_nanos()).unwrap_or(u64::MAX)
            });
        let hostname = nix::unistd::gethostname()
            .map(|name| name.to_string_lossy().into_owned())
            .unwrap_or_default();
        let kernel = nix::sys::utsname::uname()
            .map(|uname| uname.release().to_string_lossy().into_owned())
            .unwrap_or_default();
        Message::Started {
            hostname,
            kernel,
            wall_ns,
        }
    }
}

impl Output for StreamOutput {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        self.pending.push(event.clone());
        Ok(true)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        let mut messages = Vec::with_capacity(2);
        if !self.started {
            self.started = true;
            messages.push(Self::started_message());
        }
        if let Some(newest) = self.pending.iter().map(|event| event.time).max() {
            messages.push(Message::Events(std::mem::take(&mut self.pending)));
            // Later batches hold later events: all but the last few milliseconds' are out.
            if let Some(through) = self.advance(newest.checked_sub(REORDER_SLACK)) {
                messages.push(through);
            }
        }
        if messages.is_empty() {
            return Ok(true);
        }
        self.send(&messages)
    }

    fn caught_up(&mut self, through: SystemTime) -> anyhow::Result<()> {
        match self.advance(Some(through)) {
            Some(watermark) if self.started => self.send(&[watermark]).map(drop),
            _ => Ok(()),
        }
    }

    fn every_second(&mut self, drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        let mut messages = Vec::with_capacity(2);
        if !self.started {
            // A quiet host says it is up before its first event.
            self.started = true;
            messages.push(Self::started_message());
        }
        messages.push(Message::Drops(drops));
        self.send(&messages).map(drop)
    }

    fn finish(&mut self, drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        self.flush()?;
        self.send(&[Message::Drops(drops)]).map(drop)
    }
}

impl StreamOutput {
    /// The watermark to send, when `through` is past the last one.
    fn advance(&mut self, through: Option<SystemTime>) -> Option<Message> {
        let through = through.filter(|&through| through > self.watermark)?;
        self.watermark = through;
        let ns = through.duration_since(UNIX_EPOCH).ok()?.as_nanos();
        Some(Message::Watermark(u64::try_from(ns).unwrap_or(u64::MAX)))
    }
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error
        .downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}
