//! What became of every exported record, by reason: nothing is lost silently.

use std::sync::atomic::{AtomicU64, Ordering};

/// Counted as they happen, by the exporter's threads; read by the summary and the status bar.
#[derive(Debug, Default)]
pub struct OtlpStats {
    /// Records the collector accepted.
    pub sent: AtomicU64,
    /// Export attempts that failed in a way worth another (connection refused, 429, 503…).
    pub retried: AtomicU64,
    /// Records the collector refused (a 400, or a partial success's rejected count).
    pub rejected: AtomicU64,
    /// Records dropped because the queue was full: the collector was slower than the events.
    pub dropped_queue_full: AtomicU64,
    /// Records still queued when the 5 s flush at exit ran out.
    pub dropped_at_exit: AtomicU64,
    /// What is wrong now (the collector unreachable, refusing): `None` once a batch went
    /// through.
    problem: std::sync::Mutex<Option<String>>,
    /// Whether a batch is waiting to be sent again now.
    pub retrying: std::sync::atomic::AtomicBool,
}

/// The counters at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct OtlpCounts {
    pub sent: u64,
    pub retried: u64,
    pub rejected: u64,
    pub dropped_queue_full: u64,
    pub dropped_at_exit: u64,
}

impl OtlpStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn set_problem(&self, problem: Option<String>) {
        if let Ok(mut now) = self.problem.lock() {
            *now = problem;
        }
    }

    pub fn problem(&self) -> Option<String> {
        self.problem.lock().ok().and_then(|now| now.clone())
    }

    pub fn counts(&self) -> OtlpCounts {
        let get = |counter: &AtomicU64| counter.load(Ordering::Relaxed);
        OtlpCounts {
            sent: get(&self.sent),
            retried: get(&self.retried),
            rejected: get(&self.rejected),
            dropped_queue_full: get(&self.dropped_queue_full),
            dropped_at_exit: get(&self.dropped_at_exit),
        }
    }
}

impl OtlpCounts {
    /// The pairs the summary line and the stats file carry.
    pub fn fields(&self) -> [(&'static str, u64); 5] {
        [
            ("sent", self.sent),
            ("retried", self.retried),
            ("rejected", self.rejected),
            ("dropped_queue_full", self.dropped_queue_full),
            ("dropped_at_exit", self.dropped_at_exit),
        ]
    }
}

impl std::fmt::Display for OtlpCounts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let fields: Vec<String> = self
            .fields()
            .iter()
            .map(|(name, value)| format!("{name}={value}"))
            .collect();
        f.write_str(&fields.join(" "))
    }
}
