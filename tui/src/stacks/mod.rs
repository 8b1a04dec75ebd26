//! Events taken together by the stack behind them: what the Stacks, Flame and Failures views
//! show. Grouping counts into the symbolized stacks the events already share (one `Arc` per
//! distinct stack), so no stack is copied per event.

pub mod failures;
#[cfg(test)]
pub mod fixtures;
pub mod flame;
pub mod key_cache;
pub mod stack_key;
pub mod table;
#[cfg(test)]
mod tests;
pub mod who;
#[cfg(test)]
mod who_tests;

pub use failures::{Failure, FailureTable};
pub use flame::{FlameTree, NodeKind};
pub use key_cache::{KeyId, StackKeys};
pub use stack_key::Grouping;
pub use table::{StackRow, StackSort, StackTable};

use crate::model::Event;
use crate::model::EventId;

/// Every table of the stack views, built in one pass over the events they cover.
pub struct StackViews {
    pub stacks: StackTable,
    pub failures: FailureTable,
    pub flame: FlameTree,
}

impl StackViews {
    pub fn build<'a>(
        events: impl Iterator<Item = (EventId, &'a Event)>,
        keys: &mut StackKeys,
        sort: StackSort,
    ) -> Self {
        let mut stacks = table::Builder::default();
        let mut failures = failures::Builder::default();
        for (id, event) in events {
            let key = keys.id_of(event);
            let failure = Failure::of(event);
            stacks.add(id, event, key, failure);
            if let Some(failure) = failure {
                failures.add(id, event, failure, key, keys);
            }
        }
        let stacks = stacks.finish(keys, sort);
        let flame = FlameTree::build(&stacks, keys);
        Self {
            stacks,
            failures: failures.finish(),
            flame,
        }
    }
}
