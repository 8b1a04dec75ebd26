//! The queue between the events and the network: bounded in bytes, so a slow or absent
//! collector costs at most that much memory and never slows the probes; what does not fit
//! is dropped and counted.

use std::collections::VecDeque;
use std::sync::{Condvar, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// What holding one record costs besides its bytes.
const PER_RECORD: usize = 64;

pub struct Queue {
    state: Mutex<State>,
    changed: Condvar,
    limit: usize,
}

#[derive(Default)]
struct State {
    /// Each an encoded `LogRecord`: held as its bytes, the bound counts exactly what it
    /// holds.
    records: VecDeque<Vec<u8>>,
    bytes: usize,
    /// No more records come: the run is over.
    closed: bool,
}

/// A batch taken from the queue: encoded `LogRecord`s.
pub struct Batch {
    pub records: Vec<Vec<u8>>,
    /// Whether the queue is closed and now empty: nothing follows.
    pub last: bool,
}

impl Queue {
    pub fn new(limit: usize) -> Queue {
        Queue {
            state: Mutex::new(State::default()),
            changed: Condvar::new(),
            limit,
        }
    }

    /// Queues an encoded record; `false` when it does not fit (it is dropped).
    pub fn push(&self, record: Vec<u8>) -> bool {
        let cost = record.len() + PER_RECORD;
        let mut state = self.lock();
        if state.bytes + cost > self.limit {
            return false;
        }
        state.bytes += cost;
        state.records.push_back(record);
        if state.records.len() >= super::BATCH_RECORDS {
            self.changed.notify_one();
        }
        true
    }

    /// No more records: a waiting [`Queue::take`] returns what is left.
    pub fn close(&self) {
        self.lock().closed = true;
        self.changed.notify_all();
    }

    /// Up to `max_records` records of at most `max_bytes` encoded (one at the least), once
    /// that many are queued, `wait` has passed or the queue closed.
    pub fn take(&self, max_records: usize, max_bytes: usize, wait: Duration) -> Batch {
        let deadline = Instant::now() + wait;
        let mut state = self.lock();
        while state.records.len() < max_records && !state.closed {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                break;
            }
            state = self
                .changed
                .wait_timeout(state, left)
                .unwrap_or_else(PoisonError::into_inner)
                .0;
        }
        let mut records = Vec::new();
        let mut encoded = 0;
        while let Some(next) = state.records.front() {
            if records.len() == max_records
                || (!records.is_empty() && encoded + next.len() > max_bytes)
            {
                break;
            }
            let Some(record) = state.records.pop_front() else {
                break;
            };
            encoded += record.len();
            state.bytes -= record.len() + PER_RECORD;
            records.push(record);
        }
        Batch {
            records,
            last: state.closed && state.records.is_empty(),
        }
    }

    /// Bytes held now, as counted against the bound.
    #[cfg(test)]
    pub fn bytes(&self) -> usize {
        self.lock().bytes
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(size: usize) -> Vec<u8> {
        vec![0; size]
    }

    #[test]
    fn the_bound_drops_what_does_not_fit_and_frees_what_is_taken() {
        let queue = Queue::new((100 + PER_RECORD) * 3);
        for _ in 0..3 {
            assert!(queue.push(record(100)));
        }
        assert!(!queue.push(record(100)), "a fourth fitted in three's room");
        let batch = queue.take(2, 1 << 20, Duration::ZERO);
        assert_eq!(batch.records.len(), 2);
        assert!(!batch.last);
        assert!(queue.push(record(100)));
        queue.close();
        let rest = queue.take(512, 1 << 20, Duration::from_secs(5));
        assert_eq!(rest.records.len(), 2);
        assert!(rest.last);
        assert_eq!(queue.bytes(), 0);
    }

    #[test]
    fn a_batch_stops_at_its_byte_cap_but_takes_one_record_at_least() {
        let queue = Queue::new(1 << 20);
        for _ in 0..3 {
            assert!(queue.push(record(1000)));
        }
        let batch = queue.take(512, 1500, Duration::ZERO);
        assert_eq!(batch.records.len(), 1);
        let batch = queue.take(512, 10, Duration::ZERO);
        assert_eq!(batch.records.len(), 1);
    }
}
