//! The Stacks view's rows: one per distinct stack key, with what its events were.

use std::cmp::Reverse;
use std::collections::HashSet;

use super::failures::Failure;
use super::key_cache::{KeyId, StackKeys};
use super::who::{CommTally, Who};
use crate::model::EventId;
use crate::model::{Event, EventKind};

/// How the Stacks view orders its rows; `s` steps through them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StackSort {
    #[default]
    Count,
    Failures,
    Processes,
    Recent,
    Frame,
}

impl StackSort {
    pub fn next(self) -> Self {
        match self {
            StackSort::Count => StackSort::Failures,
            StackSort::Failures => StackSort::Processes,
            StackSort::Processes => StackSort::Recent,
            StackSort::Recent => StackSort::Frame,
            StackSort::Frame => StackSort::Count,
        }
    }

    pub fn name(self) -> &'static str {
        match self {
            StackSort::Count => "count",
            StackSort::Failures => "failures",
            StackSort::Processes => "processes",
            StackSort::Recent => "recent",
            StackSort::Frame => "frame",
        }
    }
}

/// Events of one kind under a stack.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KindCount {
    pub kind: EventKind,
    pub events: u64,
    pub failed: u64,
}

/// One stack and its events.
#[derive(Clone, Debug)]
pub struct StackRow {
    pub key: KeyId,
    pub count: u64,
    /// Per kind, commonest first.
    pub kinds: Vec<KindCount>,
    pub failures: u64,
    /// The commonest failure and how often it came.
    pub commonest_failure: Option<(Failure, u64)>,
    pub processes: usize,
    /// The programs the events came from.
    pub who: Who,
    /// The newest event: the Details pane shows it.
    pub newest: EventId,
}

pub struct StackTable {
    pub rows: Vec<StackRow>,
    /// Events covered, every row together.
    pub events: u64,
}

impl StackTable {
    pub fn sort(&mut self, sort: StackSort, keys: &StackKeys) {
        match sort {
            StackSort::Count => self.rows.sort_by_key(|r| Reverse(r.count)),
            StackSort::Failures => self.rows.sort_by_key(|r| Reverse((r.failures, r.count))),
            StackSort::Processes => self.rows.sort_by_key(|r| Reverse((r.processes, r.count))),
            StackSort::Recent => self.rows.sort_by_key(|r| Reverse(r.newest)),
            StackSort::Frame => self.rows.sort_by_cached_key(|row| {
                keys.info(row.key).frame.as_ref().map(|f| f.name.clone())
            }),
        }
    }
}

/// A row while the events are counted.
struct Tally {
    key: KeyId,
    count: u64,
    kinds: Vec<KindCount>,
    failures: Vec<(Failure, u64)>,
    pids: HashSet<u32>,
    /// The last pid added: a process's events mostly come together.
    last_pid: Option<u32>,
    comms: CommTally,
    newest: EventId,
}

#[derive(Default)]
pub(super) struct Builder {
    tallies: Vec<Tally>,
    /// Index into `tallies` by key id.
    index: Vec<Option<usize>>,
}

impl Builder {
    pub(super) fn add(&mut self, id: EventId, event: &Event, key: KeyId, failure: Option<Failure>) {
        let slot = key as usize;
        if self.index.len() <= slot {
            self.index.resize(slot + 1, None);
        }
        let at = *self.index[slot].get_or_insert_with(|| {
            self.tallies.push(Tally {
                key,
                count: 0,
                kinds: Vec::new(),
                failures: Vec::new(),
                pids: HashSet::new(),
                last_pid: None,
                comms: CommTally::default(),
                newest: id,
            });
            self.tallies.len() - 1
        });
        let tally = &mut self.tallies[at];
        tally.count += 1;
        tally.newest = tally.newest.max(id);
        let kind = event.kind();
        let failed = u64::from(failure.is_some());
        match tally.kinds.iter_mut().find(|k| k.kind == kind) {
            Some(counts) => {
                counts.events += 1;
                counts.failed += failed;
            }
            None => tally.kinds.push(KindCount {
                kind,
                events: 1,
                failed,
            }),
        }
        if let Some(failure) = failure {
            match tally.failures.iter_mut().find(|(f, _)| *f == failure) {
                Some((_, n)) => *n += 1,
                None => tally.failures.push((failure, 1)),
            }
        }
        if tally.last_pid != Some(event.pid) {
            tally.pids.insert(event.pid);
            tally.last_pid = Some(event.pid);
        }
        tally.comms.add(event.comm);
    }

    pub(super) fn finish(self, keys: &StackKeys, sort: StackSort) -> StackTable {
        let mut events = 0;
        let rows = self
            .tallies
            .into_iter()
            .map(|mut tally| {
                events += tally.count;
                tally.kinds.sort_by_key(|k| Reverse(k.events));
                let commonest_failure = tally.failures.iter().copied().max_by_key(|&(_, n)| n);
                StackRow {
                    key: tally.key,
                    count: tally.count,
                    kinds: tally.kinds,
                    failures: tally.failures.iter().map(|&(_, n)| n).sum(),
                    commonest_failure,
                    processes: tally.pids.len(),
                    who: tally.comms.finish(),
                    newest: tally.newest,
                }
            })
            .collect();
        let mut table = StackTable { rows, events };
        table.sort(sort, keys);
        table
    }
}
