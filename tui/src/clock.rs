//! Turns the kernel's CLOCK_MONOTONIC stamps into wall-clock time.

use std::time::{Duration, SystemTime};

use nix::time::{ClockId, clock_gettime};

/// The offset between the two clocks, measured once at start-up.
#[derive(Clone, Copy, Debug)]
pub struct WallClock {
    /// Wall-clock time at monotonic zero.
    epoch: SystemTime,
}

impl WallClock {
    pub fn now() -> anyhow::Result<Self> {
        let mono = clock_gettime(ClockId::CLOCK_MONOTONIC)?;
        let wall = SystemTime::now();
        let mono = Duration::new(mono.tv_sec() as u64, mono.tv_nsec() as u32);
        Ok(Self { epoch: wall - mono })
    }

    pub fn wall(&self, mono_ns: u64) -> SystemTime {
        self.epoch + Duration::from_nanos(mono_ns)
    }
}

/// CLOCK_MONOTONIC now, in nanoseconds: the clock of the kernel's event and mapping stamps.
pub fn mono_now_ns() -> u64 {
    clock_gettime(ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64)
        .unwrap_or(0)
}
