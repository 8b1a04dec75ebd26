//! Events from every host in one order. Each host's stream comes in batches, with a watermark
//! now and then: "nothing older than this is still to come from me". An event goes out once
//! every live host's watermark has passed its time, so hosts interleave by wall-clock time
//! however late one of them flushes. A host that stalls (its symbols take seconds, its link
//! is slow) holds the others back no longer than `patience` after their events arrived: then
//! they go out anyway, and the stalled host's come late, not lost.

use std::collections::{BTreeMap, VecDeque};
use std::time::{Duration, Instant, SystemTime};

use crate::model::Event;
use crate::model::host::HostId;

/// Events held at most: past it the oldest go out whatever the watermarks say, so the
/// viewer's memory stays bounded whatever the hosts send.
const MAX_HELD: usize = 200_000;

/// Events waiting for the hosts that may still send earlier ones.
pub struct Merger {
    patience: Duration,
    pending: Vec<Event>,
    sorted: bool,
    /// Each push's arrival and its newest event's time, oldest first: what is overdue.
    arrivals: VecDeque<(Instant, SystemTime)>,
    /// The live hosts' watermarks; the epoch for one that has not said yet.
    watermarks: BTreeMap<HostId, SystemTime>,
}

impl Merger {
    /// Holds an event at most `patience` after it arrived.
    pub fn new(patience: Duration) -> Self {
        Self {
            patience,
            pending: Vec::new(),
            sorted: true,
            arrivals: VecDeque::new(),
            watermarks: BTreeMap::new(),
        }
    }

    /// A host's stream came up: from now on it holds the others back until it says how far
    /// it is.
    pub fn live(&mut self, host: HostId) {
        self.watermarks.insert(host, SystemTime::UNIX_EPOCH);
    }

    /// A host went away: it no longer holds anyone back.
    pub fn gone(&mut self, host: HostId) {
        self.watermarks.remove(&host);
    }

    /// Nothing older than `through` is still to come from `host`.
    pub fn advance(&mut self, host: HostId, through: SystemTime) {
        if let Some(mark) = self.watermarks.get_mut(&host) {
            *mark = (*mark).max(through);
        }
    }

    pub fn push(&mut self, events: Vec<Event>, now: Instant) {
        let Some(newest) = events.iter().map(|event| event.time).max() else {
            return;
        };
        self.arrivals.push_back((now, newest));
        self.pending.extend(events);
        self.sorted = false;
    }

    /// The events every live host has passed, and those held `patience` already; oldest
    /// first.
    pub fn ready(&mut self, now: Instant) -> Vec<Event> {
        // How far every live host is; with none live, nothing holds anything back.
        let mut release = self.watermarks.values().min().copied();
        while let Some(&(arrived, newest)) = self.arrivals.front() {
            if now.duration_since(arrived) < self.patience {
                break;
            }
            release = release.map(|release| release.max(newest));
            self.arrivals.pop_front();
        }
        self.sort();
        let mut due = match release {
            Some(release) => self.pending.partition_point(|event| event.time <= release),
            None => self.pending.len(),
        };
        if self.pending.len() - due > MAX_HELD {
            due = self.pending.len() - MAX_HELD;
        }
        self.pending.drain(..due).collect()
    }

    /// Everything still held, oldest first: at the end of a run.
    pub fn rest(&mut self) -> Vec<Event> {
        self.sort();
        self.arrivals.clear();
        std::mem::take(&mut self.pending)
    }

    fn sort(&mut self) {
        if !self.sorted {
            // Stable, and fast on what is mostly sorted runs (one per host).
            self.pending.sort_by_key(|event| event.time);
            self.sorted = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample;

    fn base() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_000)
    }

    fn at(host: HostId, ms: u64) -> Event {
        let mut event = sample::event(sample::open("/etc/hostname", 3));
        event.time = base() + Duration::from_millis(ms);
        event.mono_ns = ms;
        event.host = host;
        event
    }

    fn times(events: &[Event]) -> Vec<u64> {
        events.iter().map(|e| e.mono_ns).collect()
    }

    #[test]
    fn events_wait_for_the_slowest_live_host_then_come_out_in_time_order() {
        let (web1, web2) = (HostId::intern("merge-web1"), HostId::intern("merge-web2"));
        let now = Instant::now();
        let mut merger = Merger::new(Duration::from_secs(3));
        merger.live(web1);
        merger.live(web2);
        merger.push(vec![at(web1, 10), at(web1, 50)], now);
        merger.advance(web1, base() + Duration::from_millis(60));
        // web2 has said nothing yet: it may still send something older.
        assert!(merger.ready(now).is_empty());
        merger.push(vec![at(web2, 30)], now);
        merger.advance(web2, base() + Duration::from_millis(40));
        assert_eq!(times(&merger.ready(now)), [10, 30]);
        merger.advance(web2, base() + Duration::from_millis(100));
        assert_eq!(times(&merger.ready(now)), [50]);
    }

    #[test]
    fn a_stalled_host_holds_the_others_back_only_so_long() {
        let (web1, slow) = (HostId::intern("merge-a"), HostId::intern("merge-slow"));
        let now = Instant::now();
        let mut merger = Merger::new(Duration::from_secs(2));
        merger.live(web1);
        merger.live(slow);
        merger.push(vec![at(web1, 10), at(web1, 20)], now);
        merger.advance(web1, base() + Duration::from_millis(20));
        assert!(merger.ready(now + Duration::from_secs(1)).is_empty());
        assert_eq!(times(&merger.ready(now + Duration::from_secs(2))), [10, 20]);
        // The host that went away holds nothing back at all.
        merger.push(vec![at(web1, 30)], now + Duration::from_secs(2));
        merger.gone(slow);
        merger.advance(web1, base() + Duration::from_millis(30));
        assert_eq!(times(&merger.ready(now + Duration::from_secs(2))), [30]);
    }

    #[test]
    fn the_end_of_a_run_gives_everything_in_order() {
        let host = HostId::intern("merge-end");
        let mut merger = Merger::new(Duration::from_secs(2));
        merger.live(host);
        merger.push(vec![at(host, 500), at(host, 10)], Instant::now());
        assert_eq!(times(&merger.rest()), [10, 500]);
    }
}
