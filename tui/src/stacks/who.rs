//! Which programs a row's events came from: the commonest command names and their counts, so
//! the unfiltered Stacks and Failures views answer "which program" at a glance.

use std::collections::HashMap;

use crate::model::comm::Comm;
use crate::model::text::printable;

/// How many names a row shows: more would not fit a column.
const SHOWN: usize = 2;

/// The counts per command name while a view is built. A process's events mostly come
/// together, so a run of one name is counted on the side and only a change of name touches
/// the map: a row of one program never fills it at all.
#[derive(Default)]
pub(super) struct CommTally {
    counts: HashMap<Comm, u64>,
    run: Option<(Comm, u64)>,
}

impl CommTally {
    pub(super) fn add(&mut self, comm: Comm) {
        match &mut self.run {
            Some((last, n)) if *last == comm => *n += 1,
            _ => {
                self.flush();
                self.run = Some((comm, 1));
            }
        }
    }

    fn flush(&mut self) {
        if let Some((comm, n)) = self.run.take() {
            *self.counts.entry(comm).or_default() += n;
        }
    }

    pub(super) fn finish(mut self) -> Who {
        if self.counts.is_empty() {
            return Who {
                commonest: self.run.into_iter().collect(),
                others: 0,
            };
        }
        self.flush();
        let mut counts: Vec<(Comm, u64)> = self.counts.into_iter().collect();
        // Ties by name, so a row does not flicker between equals as the view is rebuilt.
        counts.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0[..].cmp(&b.0[..])));
        let others = counts.len().saturating_sub(SHOWN);
        counts.truncate(SHOWN);
        Who {
            commonest: counts,
            others,
        }
    }
}

/// A row's commonest command names, commonest first, with their events.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Who {
    pub commonest: Vec<(Comm, u64)>,
    /// The names not shown.
    pub others: usize,
}

impl Who {
    /// `svc ×12, curl ×3`, with `+2 more` when two more names are not shown.
    pub fn describe(&self) -> String {
        let mut names: Vec<String> = self
            .commonest
            .iter()
            .map(|(comm, n)| format!("{} ×{n}", printable(comm)))
            .collect();
        if self.others > 0 {
            names.push(format!("+{} more", self.others));
        }
        names.join(", ")
    }
}
