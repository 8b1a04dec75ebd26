//! Where the headless pipeline's events go: NDJSON on stdout (and, for `ringside record`, a
//! recording file).

use std::collections::BTreeMap;
use std::io::{BufWriter, ErrorKind, Write};
use std::path::Path;

use anyhow::Context as _;

use crate::model::Event;
use crate::output::json::JsonEvent;
use crate::recording::{Entry, Header, ProcessInfo, RecordingWriter};

pub trait Output {
    /// Writes one event; `false` once the output is gone (e.g. a closed pipe), which ends the run.
    fn write(&mut self, event: &Event) -> anyhow::Result<bool>;
    /// Called after each batch.
    fn flush(&mut self) -> anyhow::Result<bool>;
    /// Called when every event the kernel wrote before `through` has been delivered: a
    /// fleet's remote (`ringside stream`) tells its viewer how far it is. Comes every
    /// `--max-delay` (25 ms at the least) while its pipeline is idle.
    fn caught_up(&mut self, _through: std::time::SystemTime) -> anyhow::Result<()> {
        Ok(())
    }
    /// Called once a second with the kernel's drop counters so far, per type name.
    fn every_second(&mut self, _drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        Ok(())
    }
    /// Called once at the end with the kernel's final drop counters, per type name.
    fn finish(&mut self, _drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        Ok(())
    }
    /// After `finish`: what became of the records an OTLP export took.
    fn otlp(&self) -> Option<crate::otlp::OtlpCounts> {
        None
    }
}

/// Two outputs at once (`--json --otlp`): every call to both; the run goes on while either
/// takes events.
pub struct Both<'a>(pub &'a mut dyn Output, pub &'a mut dyn Output);

impl Output for Both<'_> {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        Ok(self.0.write(event)? | self.1.write(event)?)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        Ok(self.0.flush()? | self.1.flush()?)
    }

    fn caught_up(&mut self, through: std::time::SystemTime) -> anyhow::Result<()> {
        self.0.caught_up(through)?;
        self.1.caught_up(through)
    }

    fn every_second(&mut self, drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        self.0.every_second(drops.clone())?;
        self.1.every_second(drops)
    }

    fn finish(&mut self, drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        self.0.finish(drops.clone())?;
        self.1.finish(drops)
    }

    fn otlp(&self) -> Option<crate::otlp::OtlpCounts> {
        self.0.otlp().or_else(|| self.1.otlp())
    }
}

/// One JSON object per line on stdout (or, in tests, into any writer).
pub struct Ndjson<W: Write = std::io::Stdout> {
    out: BufWriter<W>,
    closed: bool,
}

impl Ndjson {
    pub fn new() -> Self {
        Self::to(std::io::stdout())
    }
}

impl<W: Write> Ndjson<W> {
    pub fn to(writer: W) -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, writer),
            closed: false,
        }
    }

    #[cfg(test)]
    pub fn into_inner(self) -> W {
        self.out.into_inner().unwrap_or_else(|_| panic!("flushed"))
    }

    /// A closed stdout (`| head`) ends the run quietly; other errors are errors.
    fn keep_going(&mut self, result: std::io::Result<()>) -> anyhow::Result<bool> {
        match result {
            Ok(()) => Ok(!self.closed),
            Err(error) if error.kind() == ErrorKind::BrokenPipe => {
                self.closed = true;
                Ok(false)
            }
            Err(error) => Err(error).context("writing events to stdout"),
        }
    }
}

impl<W: Write> Output for Ndjson<W> {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        if self.closed {
            return Ok(false);
        }
        let written = serde_json::to_writer(&mut self.out, &JsonEvent(event))
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        self.keep_going(written)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        let flushed = self.out.flush();
        self.keep_going(flushed)
    }
}

/// `ringside record`: every event with its stacks into a recording, flushed once a second so
/// that a recorder killed mid-run leaves a file that replays up to its last second.
pub struct Recording {
    writer: Option<RecordingWriter>,
    last_flush: std::time::Instant,
    written: u64,
}

impl Recording {
    /// Creates the file and writes the header and the processes running now.
    pub fn create(path: &Path, force: bool, header: &Header) -> anyhow::Result<Self> {
        let mut writer = RecordingWriter::create(path, force, header)?;
        for (pid, ppid) in crate::procfs::parent_links() {
            let comm = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
            let comm = comm.strip_suffix(b"\n").map(<[u8]>::to_vec).unwrap_or(comm);
            writer.write(&Entry::Process(ProcessInfo {
                pid,
                ppid,
                start_ns: 0,
                comm,
            }))?;
        }
        Ok(Self {
            writer: Some(writer),
            last_flush: std::time::Instant::now(),
            written: 0,
        })
    }

    pub fn written(&self) -> u64 {
        self.written
    }
}

impl Output for Recording {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        let Some(writer) = &mut self.writer else {
            return Ok(false);
        };
        writer.write(&Entry::of_event(event))?;
        self.written += 1;
        Ok(true)
    }

    /// Writes the final drop counters and closes the file whole; later calls do nothing.
    fn finish(&mut self, drops: BTreeMap<String, u64>) -> anyhow::Result<()> {
        if let Some(mut writer) = self.writer.take() {
            writer.write(&Entry::Drops(drops))?;
            writer.finish()?;
        }
        Ok(())
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        if self.last_flush.elapsed() >= std::time::Duration::from_secs(1)
            && let Some(writer) = &mut self.writer
        {
            writer.flush()?;
            self.last_flush = std::time::Instant::now();
        }
        Ok(self.writer.is_some())
    }
}
