//! The ring-buffer task: readable -> drain a bounded batch -> decode -> send.

pub mod decode;
#[cfg(test)]
pub mod test_records;
pub mod user_copies;

use aya::maps::{MapData, RingBuf};
use tokio::io::unix::AsyncFd;
use tokio::sync::{mpsc, watch};

use crate::clock::WallClock;
use crate::model::Event;
use crate::model::user_stack::UserCopy;
use decode::Record;
use user_copies::UserCopies;

/// Records taken per wake-up before the task yields: keeps the rest of the runtime responsive in
/// an event flood. The ring buffer keeps what is left; it is read on the next turn.
const BATCH: usize = 2048;

/// What one drain produced.
#[derive(Debug, Default)]
pub struct Batch {
    pub events: Vec<Event>,
    /// Each event's user stack copy, or why it has none; parallel to `events` (a batch from a
    /// recording has none). Kept out of `Event`: a copy is only needed until it is unwound.
    pub user_copies: Vec<UserCopy>,
    /// Records that could not be decoded (counted, never shown as events).
    pub malformed: u64,
    /// CLOCK_MONOTONIC when the batch was decoded: with each event's stamp, its latency.
    pub decoded_mono_ns: u64,
}

impl Batch {
    /// Takes the user stack copies, one for each event in order (`NotTaken` where the batch
    /// has none).
    pub fn take_user_copies(&mut self) -> impl Iterator<Item = UserCopy> + use<> {
        std::mem::take(&mut self.user_copies)
            .into_iter()
            .chain(std::iter::repeat_with(UserCopy::default))
    }
}

/// Reads the ring buffer until `stop` turns true, then drains what is left and returns.
/// Batches go to `tx`; when the receiver is slow, reading pauses and the kernel counts drops.
pub async fn run(
    ring: RingBuf<MapData>,
    clock: WallClock,
    tx: mpsc::Sender<Batch>,
    mut stop: watch::Receiver<bool>,
) -> anyhow::Result<()> {
    let mut ring = register(ring)?;
    let mut copies = UserCopies::default();
    loop {
        let (batch, emptied) = tokio::select! {
            biased;
            _ = stop.wait_for(|stop| *stop) => break,
            guard = ring.readable_mut() => {
                let mut guard = guard?;
                let (batch, emptied) =
                    drain(guard.get_inner_mut(), &clock, &mut copies, BATCH);
                if emptied {
                    // Edge-triggered: only forget readiness once the ring is really empty.
                    guard.clear_ready();
                }
                (batch, emptied)
            }
        };
        if !send(&tx, batch).await {
            return Ok(());
        }
        if !emptied {
            tokio::task::yield_now().await;
        }
    }
    // The probes are detached now: whatever is in the ring is the last of it.
    loop {
        let (batch, emptied) = drain(ring.get_mut(), &clock, &mut copies, BATCH);
        if !send(&tx, batch).await || emptied {
            return Ok(());
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

/// Takes up to `limit` records; also says whether the ring ran empty. User stack copies wait in
/// `copies` for their event.
fn drain(
    ring: &mut RingBuf<MapData>,
    clock: &WallClock,
    copies: &mut UserCopies,
    limit: usize,
) -> (Batch, bool) {
    let mut batch = Batch::default();
    while batch.events.len() + (batch.malformed as usize) < limit {
        let Some(item) = ring.next() else {
            batch.decoded_mono_ns = crate::clock::mono_now_ns();
            return (batch, true);
        };
        match decode::decode_record(&item, clock) {
            Ok(Record::Event(event, snapshot)) => {
                batch.user_copies.push(copies.attach(&event, snapshot));
                batch.events.push(event);
            }
            Ok(Record::UserStack {
                pid,
                tid,
                key,
                copy,
            }) => copies.insert(pid, tid, key, copy),
            Err(error) => {
                tracing::warn!("skipping a malformed record: {error}");
                batch.malformed += 1;
            }
        }
    }
    batch.decoded_mono_ns = crate::clock::mono_now_ns();
    (batch, false)
}
