//! `--otlp --tui`: events go out while the TUI shows them. The TUI symbolizes after an event
//! is shown, so an event that asked for its stacks is exported when they come, with them.

use std::collections::HashSet;

use super::{Exporter, OtlpCounts, OtlpStats};
use crate::app::store::EventStore;
use crate::model::{Event, EventId};

/// What the status bar says of the export.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OtlpStatus {
    pub counts: OtlpCounts,
    /// Whether a batch waits to be sent again (the collector away or busy).
    pub retrying: bool,
}

pub struct TuiExport {
    exporter: Exporter,
    /// Events shown whose stacks are still being symbolized.
    awaiting: HashSet<EventId>,
}

impl TuiExport {
    pub fn new(exporter: Exporter) -> Self {
        Self {
            exporter,
            awaiting: HashSet::new(),
        }
    }

    /// A batch about to be shown, its first event to be `first`: the events that asked for
    /// stacks (`asked`, indices, when a symbolizer will answer) wait for them, the rest go now.
    pub fn batch(&mut self, events: &[Event], first: EventId, asked: &[usize], symbolizing: bool) {
        let mut asked = asked.iter().copied().peekable();
        for (index, event) in events.iter().enumerate() {
            if symbolizing && asked.next_if_eq(&index).is_some() {
                self.awaiting.insert(first + index as EventId);
            } else {
                self.exporter.export(event);
            }
        }
    }

    /// Stacks came for `ids`: those events go out, with them.
    pub fn symbolized(&mut self, ids: &[EventId], store: &EventStore) {
        for id in ids {
            if self.awaiting.remove(id) {
                self.export_stored(*id, store);
            }
        }
    }

    pub fn status(&self) -> OtlpStatus {
        OtlpStatus {
            counts: self.exporter.stats().counts(),
            retrying: self
                .exporter
                .stats()
                .retrying
                .load(std::sync::atomic::Ordering::Relaxed),
        }
    }

    /// At the end: what still waits for stacks goes as it is, then the queue is flushed.
    pub fn finish(mut self, store: &EventStore) -> OtlpCounts {
        for id in std::mem::take(&mut self.awaiting) {
            self.export_stored(id, store);
        }
        self.exporter.finish()
    }

    fn export_stored(&self, id: EventId, store: &EventStore) {
        match store.get(id) {
            Some(event) => self.exporter.export(event),
            // The store let it go before its stacks came: the export fell behind, as when
            // its queue is full.
            None => OtlpStats::add(&self.exporter.stats().dropped_queue_full, 1),
        }
    }
}
