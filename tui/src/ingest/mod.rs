//! The ring-buffer task: woken (by the probes past their wakeup mark, or by the `--max-delay`
//! timer) -> drain bounded batches -> decode -> send.
//!
//! The probes commit records without waking the reader (a wakeup per record was an
//! inter-processor interrupt each, the largest cost of a traced system call on a VM). So the
//! ring is drained on a timer: an event waits at most `max_delay` plus one drain before it is
//! decoded, and a burst that fills an eighth of the ring wakes the reader at once. When the
//! ring stays empty, the reader sleeps until the next record ([`sleep`]).

pub mod copy_budget;
pub mod decode;
mod sleep;
#[cfg(test)]
pub mod test_news_records;
#[cfg(test)]
pub mod test_records;
pub mod text_arena;
pub mod user_copies;

use aya::maps::{Array, MapData, RingBuf};
use std::time::Duration;

use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};

use self::sleep::{Change, ReaderSleep};
use crate::cgroups::Cgroups;
use crate::clock::WallClock;
use crate::dns::pairing::DnsPairs;
use crate::model::user_stack::UserCopy;
use crate::model::{Event, EventKind};
use copy_budget::{CopyBudget, DECODED_COPY_BYTES_MAX, Reservation};
use decode::Record;
use text_arena::TextArena;
use user_copies::UserCopies;

/// Records taken per wake-up before the task yields: keeps the rest of the runtime responsive in
/// an event flood. The ring buffer keeps what is left; it is read on the next turn.
const BATCH: usize = 2048;

/// What the reader took from the ring buffer in a run: with the events delivered, the ring
/// bytes each event cost (stack copies included), and how many events one drain found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RingReads {
    /// Records read, events and stack copies alike.
    pub records: u64,
    /// Their bytes, as the probes sized them (the ring's 8-byte headers not included).
    pub bytes: u64,
    /// Drains that found at least one record.
    pub drains: u64,
    /// Times the reader found the ring empty long enough to sleep until the next record.
    pub sleeps: u64,
    /// Times a record's wakeup (the probes saw the reader asleep) woke it.
    pub woken: u64,
}

/// What one drain produced.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Each event's user stack copy, or why it has none; parallel to `events` (a batch from a
    /// recording has none). Kept out of `Event`: a copy is only needed until it is unwound.
    pub user_copies: Vec<UserCopy>,
    /// The bytes of those copies, held against [`DECODED_COPY_BYTES_MAX`] until they are taken.
    pub copy_reservation: Option<Reservation>,
    /// Records that could not be decoded (counted, never shown as events).
    pub malformed: u64,
    /// CLOCK_MONOTONIC when the batch was decoded: with each event's stamp, its latency.
    pub decoded_mono_ns: u64,
}

impl Batch {
    /// Takes the user stack copies, one for each event in order (`NotTaken` where the batch
    /// has none).
    pub fn take_user_copies(&mut self) -> impl Iterator<Item = UserCopy> + use<> {
        // The symbolizer bounds them from here on.
        self.copy_reservation = None;
        std::mem::take(&mut self.user_copies)
            .into_iter()
            .chain(std::iter::repeat_with(UserCopy::default))
    }
}

/// Reads the ring buffer until `stop` turns true, then drains what is left and returns.
/// Batches go to `tx`; when the receiver is slow, reading pauses and the kernel counts drops.
/// Records the probes committed without a wakeup are read within `max_delay`.
pub async fn run(
    ring: RingBuf<MapData>,
    clock: WallClock,
    tx: mpsc::Sender<Batch>,
    mut stop: watch::Receiver<bool>,
    max_delay: Duration,
    asleep_flag: Array<MapData, u32>,
) -> anyhow::Result<RingReads> {
    let mut ring = register(ring)?;
    let mut reader = Reader {
        clock,
        text: TextArena::default(),
        copies: UserCopies::default(),
        budget: CopyBudget::default(),
        reads: RingReads::default(),
        dns: DnsPairs::default(),
        cgroups: Cgroups::new(),
    };
    let mut sleep = ReaderSleep::new(asleep_flag, max_delay);
    let mut timer = sleep.awake_timer();
    // A drain that stopped at its batch limit left records behind: read on at once, not at
    // the next tick (the probes may send no wakeup while the ring stays past their mark).
    let mut more = false;
    loop {
        let records_before = reader.reads.records;
        // Whether the ring's readiness (a record's wakeup) led to this drain.
        let mut by_wakeup = false;
        let (batch, emptied) = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            () = std::future::ready(()), if more => {
                reader.drain(ring.get_mut())
            }
            guard = ring.readable_mut() => {
                by_wakeup = true;
                let mut guard = guard?;
                let (batch, emptied) =
                    reader.drain(guard.get_inner_mut());
                if emptied {
                    // Edge-triggered: only forget readiness once the ring is really empty.
                    guard.clear_ready();
                }
                (batch, emptied)
            }
            _ = timer.tick() => reader.drain(ring.get_mut()),
        };
        let found = reader.reads.records != records_before;
        if !send(&tx, batch).await {
            return Ok(reader.reads);
        }
        more = !emptied;
        match sleep.after_drain(found) {
            Some(Change::FellAsleep(slow)) => {
                timer = slow;
                more = true;
                reader.reads.sleeps += 1;
            }
            Some(Change::Woke(fast)) => {
                timer = fast;
                reader.reads.woken += u64::from(by_wakeup);
            }
            None => {}
        }
        if more {
            tokio::task::yield_now().await;
        }
    }
    // The probes are detached now: whatever is in the ring is the last of it.
    loop {
        let (batch, emptied) = reader.drain(ring.get_mut());
        if !send(&tx, batch).await {
            return Ok(reader.reads);
        }
        if emptied {
            send(&tx, reader.finish()).await;
            return Ok(reader.reads);
        }
    }
}

#[expect(
    unsafe_code,
    reason = "tokio's fd registration states an ownership invariant"
)]
fn register(ring: RingBuf<MapData>) -> anyhow::Result<AsyncFd<RingBuf<MapData>>> {
    // SAFETY: the RingBuf owns its map's fd for its whole life and always returns that same fd;
    // the AsyncFd owns the RingBuf, so the fd outlives the registration.
    unsafe { AsyncFd::register_with_interest(ring, tokio::io::Interest::READABLE) }
        .map_err(|error| anyhow::anyhow!("watching the ring buffer: {}", error.into_parts().1))
}

async fn send(tx: &mpsc::Sender<Batch>, batch: Batch) -> bool {
    if batch.events.is_empty() && batch.malformed == 0 {
        return true;
    }
    tx.send(batch).await.is_ok()
}

/// The reader's state between drains.
struct Reader {
    clock: WallClock,
    /// Where the events' text goes.
    text: TextArena,
    /// User stack copies waiting for their event.
    copies: UserCopies,
    budget: CopyBudget,
    reads: RingReads,
    /// DNS queries waiting for their responses.
    dns: DnsPairs,
    /// What each event's cgroup id names.
    cgroups: Cgroups,
}

impl Reader {
    /// Takes up to [`BATCH`] records; also says whether the ring ran empty. Copies reach the
    /// batch with their event while the budget has room.
    fn drain(&mut self, ring: &mut RingBuf<MapData>) -> (Batch, bool) {
        let mut batch = Batch::default();
        let records_before = self.reads.records;
        let mut copy_bytes = 0;
        let mut emptied = false;
        while batch.events.len() + (batch.malformed as usize) < BATCH {
            let Some(item) = ring.next() else {
                emptied = true;
                break;
            };
            self.reads.records += 1;
            self.reads.bytes += item.len() as u64;
            match decode::decode_record(&item, &self.clock, &mut self.text) {
                Ok(Record::Event(event, snapshot)) => {
                    let copy = self.copies.attach(&event, snapshot);
                    let ready = if event.kind() == EventKind::Dns {
                        // A query waits for its response; one may have to give way.
                        self.dns.query(event, copy)
                    } else {
                        Some((event, copy))
                    };
                    if let Some((event, copy)) = ready {
                        self.deliver(&mut batch, event, copy, &mut copy_bytes);
                    }
                }
                Ok(Record::UserStack {
                    pid,
                    tid,
                    key,
                    copy,
                }) => self.copies.insert(pid, tid, key, copy),
                Ok(Record::DnsResponse(response)) => {
                    if let Some((event, copy)) = self.dns.response(response) {
                        self.deliver(&mut batch, event, copy, &mut copy_bytes);
                    }
                }
                Err(error) => {
                    tracing::warn!("skipping a malformed record: {error}");
                    batch.malformed += 1;
                }
            }
        }
        for (event, copy) in self.dns.timed_out(crate::clock::mono_now_ns()) {
            self.deliver(&mut batch, event, copy, &mut copy_bytes);
        }
        if self.reads.records > records_before {
            self.reads.drains += 1;
        }
        batch.copy_reservation = (copy_bytes > 0).then(|| self.budget.reservation(copy_bytes));
        batch.decoded_mono_ns = crate::clock::mono_now_ns();
        (batch, emptied)
    }

    /// Adds an event and its user stack copy to the batch; the copy is kept while the budget
    /// has room, and counted lost past it.
    fn deliver(
        &mut self,
        batch: &mut Batch,
        mut event: Event,
        mut copy: UserCopy,
        copy_bytes: &mut usize,
    ) {
        event.cgroup = self.cgroups.info(event.cgroup_id);
        let size = match &copy {
            UserCopy::Taken(taken) => taken.bytes.len(),
            _ => 0,
        };
        if size > 0 {
            if self.budget.try_reserve(size, DECODED_COPY_BYTES_MAX) {
                *copy_bytes += size;
            } else {
                copy = UserCopy::Lost;
            }
        }
        batch.user_copies.push(copy);
        batch.events.push(event);
    }

    /// The DNS queries still waiting for a response when tracing ends, unanswered.
    fn finish(&mut self) -> Batch {
        let mut batch = Batch::default();
        let mut copy_bytes = 0;
        for (event, copy) in self.dns.drain() {
            self.deliver(&mut batch, event, copy, &mut copy_bytes);
        }
        batch.copy_reservation = (copy_bytes > 0).then(|| self.budget.reservation(copy_bytes));
        batch.decoded_mono_ns = crate::clock::mono_now_ns();
        batch
    }
}
