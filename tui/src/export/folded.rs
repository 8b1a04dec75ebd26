//! Folded stacks, the input of flamegraph.pl and inferno: one line per distinct stack,
//! `comm;outermost;...;innermost;type count`, kernel frames marked `_[k]`.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use super::frames::call_chain;
use crate::model::Event;
use crate::model::text::printable;

/// Counts of events per folded stack.
#[derive(Default)]
pub struct Folded {
    counts: BTreeMap<String, u64>,
}

impl Folded {
    pub fn add(&mut self, event: &Event) {
        *self.counts.entry(stack_of(event)).or_default() += 1;
    }

    /// The lines, sorted by stack (the order the tools expect for merging).
    pub fn lines(&self) -> impl Iterator<Item = String> + '_ {
        self.counts
            .iter()
            .map(|(stack, count)| format!("{stack} {count}"))
    }
}

/// `comm;frames...;type`, root first.
fn stack_of(event: &Event) -> String {
    let mut stack = clean(&printable(&event.comm));
    for func in call_chain(event) {
        stack.push(';');
        stack.push_str(&clean(&func.name));
        if func.kernel {
            stack.push_str("_[k]");
        }
    }
    let _ = write!(stack, ";{}", event.kind().name());
    stack
}

/// A frame name that cannot break the format: `;` separates frames, and a line ends at a
/// newline (the count follows the last space, so spaces may stay).
fn clean(name: &str) -> String {
    name.replace(';', ":").replace(['\n', '\r'], " ")
}
