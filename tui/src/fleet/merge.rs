//! Events from every host in one order: each host's arrive in batches, a host's late by up to
//! its flush interval; held that long, they come out in wall-clock order.

use std::time::{Duration, SystemTime};

use crate::model::Event;

/// Events waiting for the hosts that may still send earlier ones.
pub struct Merger {
    hold: Duration,
    pending: Vec<Event>,
}

impl Merger {
    /// Holds events for `hold` (the remotes' `--max-delay` and the way here).
    pub fn new(hold: Duration) -> Self {
        Self {
            hold,
            pending: Vec::new(),
        }
    }

    pub fn push(&mut self, events: Vec<Event>) {
        self.pending.extend(events);
    }

    /// The events older than `now` less the hold, oldest first.
    pub fn ready(&mut self, now: SystemTime) -> Vec<Event> {
        let cutoff = now.checked_sub(self.hold).unwrap_or(SystemTime::UNIX_EPOCH);
        self.pending.sort_by_key(|event| event.time);
        let due = self.pending.partition_point(|event| event.time <= cutoff);
        self.pending.drain(..due).collect()
    }

    /// Everything still held, oldest first: at the end of a run.
    pub fn rest(&mut self) -> Vec<Event> {
        self.pending.sort_by_key(|event| event.time);
        std::mem::take(&mut self.pending)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    #[test]
    fn events_come_out_in_time_order_once_the_hold_has_passed() {
        let base = SystemTime::UNIX_EPOCH + Duration::from_secs(1_000);
        let at = |ms: u64| {
            let mut event = sample::event(sample::open("/etc/hostname", 3));
            event.time = base + Duration::from_millis(ms);
            event.mono_ns = ms;
            event
        };
        let mut merger = Merger::new(Duration::from_millis(100));
        merger.push(vec![at(50), at(10)]);
        merger.push(vec![at(30), at(500)]);
        let ready: Vec<u64> = merger
            .ready(base + Duration::from_millis(160))
            .iter()
            .map(|e| e.mono_ns)
            .collect();
        assert_eq!(ready, [10, 30, 50]);
        let rest: Vec<u64> = merger.rest().iter().map(|e| e.mono_ns).collect();
        assert_eq!(rest, [500]);
    }
}
