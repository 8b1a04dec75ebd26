//! `ringside replay FILE`: a recording read back, as NDJSON or into the TUI. Needs no
//! privileges: nothing here touches the kernel.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use tokio::sync::mpsc;

use crate::app::ProcessTable;
use crate::filter::Filter;
use crate::headless::output::{Ndjson, Output};
use crate::ingest::Batch;
use crate::model::EventKind;
use crate::recording::{Entry, Header, RecordingReader};

/// Events handed to the TUI per message.
const BATCH: usize = 4096;

/// Prints the recording's events that pass `filter` as the same NDJSON as live `--json`.
pub fn to_json(path: &Path, filter: &Filter) -> anyhow::Result<()> {
    to_output(path, filter, &mut Ndjson::new())
}

/// Hands the recording's events that pass `filter` to `output` (NDJSON, the stack exports),
/// then the drop counts it recorded; a damaged recording is read up to the damage.
pub fn to_output(path: &Path, filter: &Filter, output: &mut dyn Output) -> anyhow::Result<()> {
    let mut reader = RecordingReader::open(path)?;
    let mut processes = ProcessTable::default();
    let mut drops = BTreeMap::new();
    let damage = loop {
        match reader.next_entry() {
            Ok(Some(Entry::Event(event))) => {
                processes.observe(&event);
                if filter.matches(&event, &processes) && !output.write(&event)? {
                    // The reader of stdout has gone (`| head`): nothing more to say.
                    return Ok(());
                }
            }
            Ok(Some(Entry::Drops(counts))) => drops = counts,
            Ok(Some(_)) => {}
            Ok(None) => break None,
            Err(error) => break Some(error),
        }
    };
    if !output.flush()? {
        return Ok(());
    }
    output.finish(drops.clone())?;
    let cut_short = damage.is_none() && !reader.complete();
    report(path, reader.header(), &drops, damage)?;
    if cut_short {
        eprintln!("ringside: warning: the recording has no end mark: it was cut short");
    }
    Ok(())
}

/// The end of a replay on stderr: what the recording says was lost, and any damage.
fn report(
    path: &Path,
    header: &Header,
    drops: &BTreeMap<String, u64>,
    damage: Option<crate::recording::RecordingError>,
) -> anyhow::Result<()> {
    let dropped: u64 = drops.values().sum();
    eprintln!(
        "ringside: replayed {} (recorded on {} with ringside {}); dropped while recording={dropped}",
        path.display(),
        header.hostname,
        header.ringside_version
    );
    match damage {
        // A damaged tail still replays up to the damage; saying so is enough.
        Some(error) => {
            eprintln!("ringside: warning: {error}; replayed what came before");
            Ok(())
        }
        None => Ok(()),
    }
}

/// What a replay streams: the header, event batches, and the recorded drop counters per type.
pub type Stream = (
    Header,
    mpsc::Receiver<Batch>,
    tokio::sync::watch::Receiver<BTreeMap<EventKind, u64>>,
);

/// Starts a thread that reads the recording and sends its events in batches; it ends with the
/// recording. Returns the header and, once read, the drop counters per type.
pub fn stream(path: PathBuf) -> anyhow::Result<Stream> {
    let mut reader = RecordingReader::open(&path)?;
    let header = reader.header().clone();
    let (tx, rx) = mpsc::channel::<Batch>(16);
    let (drops_tx, drops_rx) = tokio::sync::watch::channel(BTreeMap::new());
    std::thread::Builder::new()
        .name("replay".into())
        .spawn(move || {
            let mut batch = Batch::default();
            loop {
                match reader.next_entry() {
                    Ok(Some(Entry::Event(event))) => {
                        batch.events.push(event);
                        if batch.events.len() == BATCH
                            && tx.blocking_send(std::mem::take(&mut batch)).is_err()
                        {
                            return;
                        }
                    }
                    Ok(Some(Entry::Drops(counts))) => {
                        let by_kind = counts
                            .iter()
                            .filter_map(|(name, n)| Some((EventKind::from_name(name)?, *n)))
                            .collect();
                        let _ = drops_tx.send(by_kind);
                    }
                    Ok(Some(_)) => {}
                    Ok(None) => break,
                    Err(error) => {
                        tracing::warn!("replaying {}: {error}", path.display());
                        batch.malformed += 1;
                        break;
                    }
                }
            }
            let _ = tx.blocking_send(batch);
        })
        .context("starting the replay reader")?;
    Ok((header, rx, drops_rx))
}
