//! What a run measured about itself, written as JSON with `--stats-file` at exit: for scripts,
//! and for `cargo xtask bench`, which compares runs.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::Context as _;
use serde::Serialize;

/// Keeps at most this many samples; beyond that, a uniform random subset (reservoir sampling).
const SAMPLES: usize = 100_000;

#[derive(Debug, Default)]
pub struct Sampler {
    samples: Vec<u64>,
    seen: u64,
    rng: u64,
}

impl Sampler {
    pub fn add(&mut self, value: u64) {
        self.seen += 1;
        if self.samples.len() < SAMPLES {
            self.samples.push(value);
            return;
        }
        // xorshift: no need for a crate to pick a slot.
        self.rng ^= self.rng << 13 | 1;
        self.rng ^= self.rng >> 7;
        self.rng ^= self.rng << 17;
        let slot = self.rng % self.seen;
        if let Some(kept) = self
            .samples
            .get_mut(usize::try_from(slot).unwrap_or(usize::MAX))
        {
            *kept = value;
        }
    }

    pub fn percentiles(&self) -> Percentiles {
        let mut sorted = self.samples.clone();
        sorted.sort_unstable();
        let at = |q: f64| {
            let index = ((sorted.len() as f64 - 1.0) * q).round() as usize;
            sorted.get(index).copied().unwrap_or(0)
        };
        Percentiles {
            count: self.seen,
            p50: at(0.50),
            p99: at(0.99),
            max: sorted.last().copied().unwrap_or(0),
        }
    }
}

#[derive(Debug, Default, Serialize, PartialEq, Eq)]
pub struct Percentiles {
    pub count: u64,
    pub p50: u64,
    pub p99: u64,
    pub max: u64,
}

#[derive(Debug, Default, Serialize)]
pub struct RunStats {
    pub mode: &'static str,
    pub delivered: BTreeMap<&'static str, u64>,
    pub dropped: BTreeMap<&'static str, u64>,
    /// From the kernel's timestamp to the event decoded in userspace.
    pub latency_ns: Percentiles,
    /// Time to draw one TUI frame of the Events view.
    pub frame_ns: Percentiles,
    /// Time to draw one frame of the Stacks, Flame or Failures view, regrouping included.
    pub stacks_frame_ns: Percentiles,
    /// From start (process launch) to the first event decoded.
    pub first_event_ms: Option<f64>,
    pub retained_events: usize,
    /// Peak resident memory of ringside (VmHWM).
    pub peak_rss_kib: u64,
    pub stacks_symbolized: usize,
    pub frames_symbolized: usize,
    pub frames_unresolved: usize,
    pub mapping_records_lost: usize,
    pub symbolizer_processes: usize,
    pub symbolizer_mappings: usize,
    pub symbolizer_cached_frames: usize,
    pub stack_copies_lost: usize,
    pub stacks_unwound: usize,
    pub stacks_unwound_complete: usize,
    pub frames_unwound: usize,
    /// Time spent unwinding copied stacks (not symbolizing them).
    pub unwind_ns: usize,
    /// User binaries whose symbols were loaded at the end, and their files' bytes.
    pub symbol_binaries: usize,
    pub symbol_file_bytes: usize,
    /// What the reader took from the ring buffer: records (events and stack copies), their
    /// bytes, and the drains that found any (see `ingest::RingReads`).
    pub ring_records: u64,
    pub ring_bytes: u64,
    pub ring_drains: u64,
    /// Times the reader slept until the next record, and times a record woke it.
    pub ring_sleeps: u64,
    pub ring_woken: u64,
    /// The bound of every cache (see the README's "Memory and descriptors").
    pub bounds: Option<crate::symbolize::bounds::Bounds>,
    /// With --otlp: records sent, retried attempts, rejected, dropped (queue full, at exit).
    pub otlp: Option<BTreeMap<&'static str, u64>>,
}

impl RunStats {
    pub fn write(&mut self, path: &Path) -> anyhow::Result<()> {
        self.peak_rss_kib = peak_rss_kib();
        let text = serde_json::to_string_pretty(self)?;
        std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
    }

    pub fn add_ring_reads(&mut self, reads: crate::ingest::RingReads) {
        self.ring_records = reads.records;
        self.ring_bytes = reads.bytes;
        self.ring_drains = reads.drains;
        self.ring_sleeps = reads.sleeps;
        self.ring_woken = reads.woken;
    }

    pub fn add_symbolizer(&mut self, stats: &crate::symbolize::SymbolizerStats) {
        use std::sync::atomic::Ordering::Relaxed;
        self.stacks_symbolized = stats.stacks.load(Relaxed);
        self.frames_symbolized = stats.frames.load(Relaxed);
        self.frames_unresolved = stats.unresolved_frames.load(Relaxed);
        self.mapping_records_lost = stats.mapping_records_lost.load(Relaxed);
        self.symbolizer_processes = stats.processes.load(Relaxed);
        self.symbolizer_mappings = stats.mappings.load(Relaxed);
        self.symbolizer_cached_frames = stats.cached_frames.load(Relaxed);
        self.stack_copies_lost = stats.stack_copies_lost.load(Relaxed);
        self.stacks_unwound = stats.stacks_unwound.load(Relaxed);
        self.stacks_unwound_complete = stats.stacks_unwound_complete.load(Relaxed);
        self.frames_unwound = stats.frames_unwound.load(Relaxed);
        self.unwind_ns = stats.unwind_ns.load(Relaxed);
        self.symbol_binaries = stats.symbol_binaries.load(Relaxed);
        self.symbol_file_bytes = stats.symbol_file_bytes.load(Relaxed);
        self.bounds = Some(crate::symbolize::bounds::Bounds::current());
    }
}

/// Milliseconds since this process started (from /proc/self/stat's start time).
pub fn ms_since_process_start() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let rest = &stat[stat.rfind(')')? + 1..];
    let start_ticks: f64 = rest.split_whitespace().nth(19)?.parse().ok()?;
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let ticks = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()? as f64;
    Some((uptime - start_ticks / ticks) * 1000.0)
}

fn peak_rss_kib() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
            line.split_whitespace().nth(1)?.parse().ok()
        })
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_of_a_known_spread() {
        let mut sampler = Sampler::default();
        for value in 1..=1000 {
            sampler.add(value);
        }
        assert_eq!(
            sampler.percentiles(),
            Percentiles {
                count: 1000,
                p50: 501,
                p99: 990,
                max: 1000
            }
        );
        assert_eq!(Sampler::default().percentiles(), Percentiles::default());
    }

    #[test]
    fn the_reservoir_stays_bounded() {
        let mut sampler = Sampler::default();
        for value in 0..(SAMPLES as u64 * 3) {
            sampler.add(value);
        }
        assert_eq!(sampler.samples.len(), SAMPLES);
        let p = sampler.percentiles();
        assert_eq!(p.count, SAMPLES as u64 * 3);
        // A uniform subset of 0..300k has its median near 150k.
        assert!((120_000..180_000).contains(&p.p50), "{p:?}");
    }
}
