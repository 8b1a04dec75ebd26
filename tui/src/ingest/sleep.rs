//! The reader's sleep when nothing happens. Draining the ring every `--max-delay` costs a
//! wakeup each time (100 a second at the default), whether or not anything came. After ten
//! empty drains in a row (100 ms at the default; a second at most) the reader sets the probes'
//! `READER_ASLEEP` flag and slows its timer to once a second: the next record the probes commit
//! then wakes it at once, and it goes back to its timer. An idle server's occasional event
//! costs one wakeup and ten drains, not a second of them. A record committed just as the reader fell asleep (the probe read the flag
//! before the reader set it) waits at most for the slow tick.

use std::time::Duration;

use aya::maps::{Array, MapData};
use tokio::time::{Instant, Interval, MissedTickBehavior};

/// Empty drains for this many `--max-delay` periods put the reader to sleep...
const SLEEP_AFTER_DRAINS: u32 = 10;
/// ...or for this long, with a long `--max-delay`.
const SLEEP_AFTER_MAX: Duration = Duration::from_secs(1);
/// The timer while asleep.
const ASLEEP_TICK: Duration = Duration::from_secs(1);

/// How the reader's timer changes after a drain.
pub enum Change {
    /// The ring stayed empty: the slow timer, and drain once more at once for what came before
    /// the probes saw the flag.
    FellAsleep(Interval),
    /// Records came: the `--max-delay` timer again.
    Woke(Interval),
}

pub struct ReaderSleep {
    /// The probes' flag; `None` once an update failed, which keeps the reader on its timer.
    flag: Option<Array<MapData, u32>>,
    max_delay: Duration,
    /// How long the ring stays empty before the reader sleeps.
    sleep_after: Duration,
    asleep: bool,
    /// When the ring was last found with records in it.
    last_record: Instant,
}

impl ReaderSleep {
    pub fn new(flag: Array<MapData, u32>, max_delay: Duration) -> Self {
        Self {
            flag: Some(flag),
            max_delay,
            sleep_after: (max_delay * SLEEP_AFTER_DRAINS).min(SLEEP_AFTER_MAX),
            asleep: false,
            last_record: Instant::now(),
        }
    }

    /// The drain timer for the reader awake.
    pub fn awake_timer(&self) -> Interval {
        timer(self.max_delay)
    }

    /// After a drain, whether it found records: a change of timer when the reader falls asleep
    /// or wakes up.
    pub fn after_drain(&mut self, found: bool) -> Option<Change> {
        let now = Instant::now();
        if found {
            self.last_record = now;
            if self.asleep {
                self.asleep = false;
                self.set_flag(false);
                return Some(Change::Woke(timer(self.max_delay)));
            }
            return None;
        }
        if self.asleep || self.flag.is_none() || now - self.last_record < self.sleep_after {
            return None;
        }
        if !self.set_flag(true) {
            return None;
        }
        self.asleep = true;
        Some(Change::FellAsleep(timer(ASLEEP_TICK)))
    }

    /// Whether the probes now see `asleep`; a failed update keeps the reader on its timer.
    fn set_flag(&mut self, asleep: bool) -> bool {
        let Some(flag) = &mut self.flag else {
            return false;
        };
        match flag.set(0, u32::from(asleep), 0) {
            Ok(()) => true,
            Err(error) => {
                tracing::warn!("the reader stays on its timer: setting READER_ASLEEP: {error}");
                self.flag = None;
                false
            }
        }
    }
}

/// A drain timer that first fires one period from now. After a long drain one tick is
/// enough: ticks missed meanwhile would find nothing new.
fn timer(period: Duration) -> Interval {
    let mut timer = tokio::time::interval_at(Instant::now() + period, period);
    timer.set_missed_tick_behavior(MissedTickBehavior::Delay);
    timer
}
