//! A bound on the bytes of user stack copies between the ring buffer and the symbolizer.
//!
//! The probes wake the reader only past a mark, so one drain can decode thousands of events,
//! each with a copy of up to `--stack-bytes`. Batches wait in a channel before the symbolizer
//! admits their copies against its own queue bound; without this bound, a flood would park
//! gigabytes there. Past it, copies are shed as `Lost` (counted, their stacks fall back to
//! frame pointers), as the symbolizer does with its queue.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// User stack copies decoded and not yet handed to the symbolizer, in bytes, at most.
pub const DECODED_COPY_BYTES_MAX: usize = 64 << 20;

/// Bytes of copies held by batches in flight.
#[derive(Clone, Debug, Default)]
pub struct CopyBudget(Arc<AtomicUsize>);

impl CopyBudget {
    /// Reserves `bytes` unless that would pass `max` with what is already held.
    pub fn try_reserve(&self, bytes: usize, max: usize) -> bool {
        self.0
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |held| {
                (held + bytes <= max).then_some(held + bytes)
            })
            .is_ok()
    }

    #[cfg(test)]
    pub fn held(&self) -> usize {
        self.0.load(Ordering::Relaxed)
    }

    /// A guard that gives `bytes` back when dropped.
    pub fn reservation(&self, bytes: usize) -> Reservation {
        Reservation {
            budget: self.clone(),
            bytes,
        }
    }
}

/// Bytes a batch holds of the budget; released when the batch hands its copies over or is
/// dropped, whichever comes first.
#[derive(Debug)]
pub struct Reservation {
    budget: CopyBudget,
    bytes: usize,
}

impl Drop for Reservation {
    fn drop(&mut self) {
        self.budget.0.fetch_sub(self.bytes, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheds_what_does_not_fit_and_releases_on_drop() {
        let budget = CopyBudget::default();
        assert!(budget.try_reserve(600, 1000));
        assert!(!budget.try_reserve(500, 1000), "600 + 500 passes 1000");
        assert!(budget.try_reserve(400, 1000));
        let reservation = budget.reservation(1000);
        assert_eq!(budget.held(), 1000);
        drop(reservation);
        assert_eq!(budget.held(), 0);
        assert!(budget.try_reserve(500, 1000), "the space is free again");
    }
}
