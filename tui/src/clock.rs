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
