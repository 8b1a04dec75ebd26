//! What the headless pipeline counts on the way through, and the userspace part of `--filter`.

use crate::app::ProcessTable;
use crate::filter::Filter;
use crate::ingest::Batch;
use crate::model::{Event, EventKind};
use crate::runstats::Sampler;

pub struct Tally {
    /// The userspace part of `--filter`; the process table answers its `tree=`.
    filter: Filter,
    processes: ProcessTable,
    /// Delivered by the kernel, per kind's index (before the userspace filter).
    delivered: [u64; EventKind::ALL.len()],
    pub malformed: u64,
    /// Delivered, then held back by the userspace part of `--filter`.
    pub filtered_out: u64,
    /// Events written with bare addresses: their symbols did not come in time.
    pub stacks_timed_out: usize,
    pub latency: Sampler,
    pub first_event_ms: Option<f64>,
}

impl Tally {
    pub fn new(filter: Filter) -> Self {
        Self {
            filter,
            processes: ProcessTable::default(),
            delivered: [0; EventKind::ALL.len()],
            malformed: 0,
            filtered_out: 0,
            stacks_timed_out: 0,
            latency: Sampler::default(),
            first_event_ms: None,
        }
    }

    /// Events of `kind` the kernel delivered.
    /// A filter changed while running (a fleet viewer's): later events meet it.
    pub fn set_filter(&mut self, filter: Filter) {
        self.filter = filter;
    }

    pub fn delivered(&self, kind: EventKind) -> u64 {
        self.delivered[kind.index()]
    }

    /// Counts a batch and returns the events that pass the filter.
    pub fn take<'a>(
        &'a mut self,
        batch: &'a Batch,
        timed_out: usize,
    ) -> impl Iterator<Item = &'a Event> {
        self.malformed += batch.malformed;
        self.stacks_timed_out += timed_out;
        if self.first_event_ms.is_none() && !batch.events.is_empty() {
            self.first_event_ms = crate::runstats::ms_since_process_start();
        }
        batch.events.iter().filter(move |event| {
            self.delivered[event.kind().index()] += 1;
            self.latency
                .add(batch.decoded_mono_ns.saturating_sub(event.mono_ns));
            self.processes.observe(event);
            let passes = self.filter.matches(event, &self.processes);
            self.filtered_out += u64::from(!passes);
            passes
        })
    }
}
