//! The symbolization stage of the headless pipeline: batches go to the symbolizer as soon as
//! they arrive and on in order, each waiting a bounded time for its frames.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot};

use crate::ingest::Batch;
use crate::model::frame::Stacks;
use crate::symbolize::{StackRequest, SymbolizerHandle};

/// A batch on its way out, with the symbolizer's answer still to come.
pub struct Annotating {
    batch: Batch,
    /// Which events asked, and the answer for them in that order.
    answer: Option<(Vec<usize>, oneshot::Receiver<Vec<Stacks>>)>,
    deadline: tokio::time::Instant,
}

impl Annotating {
    /// The batch with its stacks; also how many events' stacks did not come in time.
    pub async fn finish(self) -> (Batch, usize) {
        let mut batch = self.batch;
        let Some((asked, answer)) = self.answer else {
            return (batch, 0);
        };
        match tokio::time::timeout_at(self.deadline, answer).await {
            Ok(Ok(stacks)) => {
                for (index, stacks) in asked.into_iter().zip(stacks) {
                    if let Some(event) = batch.events.get_mut(index) {
                        event.stacks = Some(Arc::new(stacks));
                    }
                }
                (batch, 0)
            }
            _ => (batch, asked.len()),
        }
    }
}

/// Sends each batch's stacks to the symbolizer as soon as it arrives, and passes the batch on
/// in order: later batches are symbolized while earlier ones wait to be written.
pub async fn annotate(
    mut batches: mpsc::Receiver<Batch>,
    symbolizer: Option<SymbolizerHandle>,
    wait: Duration,
    out: mpsc::Sender<Annotating>,
) {
    while let Some(mut batch) = batches.recv().await {
        let deadline = tokio::time::Instant::now() + wait;
        let (asked, requests) = StackRequest::for_batch(&mut batch);
        let answer = symbolizer.as_ref().and_then(|symbolizer| {
            (!asked.is_empty()).then(|| (asked, symbolizer.resolve(requests)))
        });
        if out
            .send(Annotating {
                batch,
                answer,
                deadline,
            })
            .await
            .is_err()
        {
            return;
        }
    }
}
