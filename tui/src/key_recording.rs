//! The TUI's `r` key: records the events the filter passes, each written once its stacks are
//! symbolized (or after a grace period without them), into `ringside-<time>.rsrec`.

use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::time::{Duration, Instant};

use crate::app::{EventId, EventStore, RecordingStatus};
use crate::recording::{Entry, RecordingWriter, session_header};

/// How long an event waits for its stacks before it is recorded without them.
const STACK_GRACE: Duration = Duration::from_secs(2);

/// A recording the `r` key started: events are written as their stacks arrive.
pub struct KeyRecording {
    writer: RecordingWriter,
    path: PathBuf,
    pending: VecDeque<(EventId, Instant)>,
    written: u64,
    last_flush: Instant,
}

impl KeyRecording {
    /// Starts a recording in the current directory, named after the time.
    pub fn start(filter: &str, stacks: bool) -> anyhow::Result<Self> {
        let stamp = humantime::format_rfc3339_seconds(std::time::SystemTime::now())
            .to_string()
            .replace(':', "");
        let path = PathBuf::from(format!("ringside-{stamp}.rsrec"));
        let header = session_header(filter, stacks)?;
        let writer = RecordingWriter::create(&path, false, &header)?;
        Ok(Self {
            writer,
            path,
            pending: VecDeque::new(),
            written: 0,
            last_flush: Instant::now(),
        })
    }

    pub fn status(&self) -> RecordingStatus {
        RecordingStatus {
            path: self.path.display().to_string(),
            events: self.written,
        }
    }

    /// Takes the events the app marked, and writes those of them and of the earlier ones that
    /// are ready.
    pub fn pump(&mut self, marked: Vec<EventId>, store: &EventStore) -> anyhow::Result<()> {
        let now = Instant::now();
        self.pending
            .extend(marked.into_iter().map(|id| (id, now + STACK_GRACE)));
        while let Some(&(id, deadline)) = self.pending.front() {
            let Some(event) = store.get(id) else {
                // Evicted before it could be written: it is still in the count of evictions.
                self.pending.pop_front();
                continue;
            };
            let waiting =
                event.stacks.is_none() && (!event.ustack.is_empty() || !event.kstack.is_empty());
            if waiting && now < deadline {
                break;
            }
            self.writer.write(&Entry::of_event(event))?;
            self.written += 1;
            self.pending.pop_front();
        }
        if self.last_flush.elapsed() >= Duration::from_secs(1) {
            self.writer.flush()?;
            self.last_flush = now;
        }
        Ok(())
    }

    /// Writes what is still pending, the drop counters, and closes the file whole.
    pub fn finish(
        mut self,
        marked: Vec<EventId>,
        store: &EventStore,
        drops: BTreeMap<String, u64>,
    ) -> anyhow::Result<String> {
        self.pending
            .extend(marked.into_iter().map(|id| (id, Instant::now())));
        for (id, _) in std::mem::take(&mut self.pending) {
            if let Some(event) = store.get(id) {
                self.writer.write(&Entry::of_event(event))?;
                self.written += 1;
            }
        }
        self.writer.write(&Entry::Drops(drops))?;
        self.writer.finish()?;
        Ok(format!(
            "recorded {} events to {}",
            self.written,
            self.path.display()
        ))
    }
}
