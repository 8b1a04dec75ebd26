//! Where the headless pipeline's events go: NDJSON on stdout (and, for `ringside record`, a
//! recording file).

use std::io::{BufWriter, ErrorKind, Write};

use anyhow::Context as _;

use crate::model::Event;
use crate::output::json::event_to_json;

pub trait Output {
    /// Writes one event; `false` once the output is gone (e.g. a closed pipe), which ends the run.
    fn write(&mut self, event: &Event) -> anyhow::Result<bool>;
    /// Called after each batch.
    fn flush(&mut self) -> anyhow::Result<bool>;
}

/// One JSON object per line on stdout.
pub struct Ndjson {
    out: BufWriter<std::io::Stdout>,
    closed: bool,
}

impl Ndjson {
    pub fn new() -> Self {
        Self {
            out: BufWriter::with_capacity(1 << 16, std::io::stdout()),
            closed: false,
        }
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

impl Output for Ndjson {
    fn write(&mut self, event: &Event) -> anyhow::Result<bool> {
        if self.closed {
            return Ok(false);
        }
        let written = serde_json::to_writer(&mut self.out, &event_to_json(event))
            .map_err(std::io::Error::from)
            .and_then(|()| self.out.write_all(b"\n"));
        self.keep_going(written)
    }

    fn flush(&mut self) -> anyhow::Result<bool> {
        let flushed = self.out.flush();
        self.keep_going(flushed)
    }
}
