//! The processes seen, as a tree, with per-type counts and per-second rates. Keyed on host and
//! pid (a fleet's hosts reuse each other's pids), checked against the start time, so a reused
//! pid starts a new process instead of merging with the old one.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use crate::filter::Ancestry;
use crate::model::event::{Details, Exec, Exit, Fork};
use crate::model::host::HostId;
use crate::model::{Event, EventKind, Group};

/// Seconds of history kept for the sparkline.
pub const HISTORY: usize = 16;
/// How long an exited process stays in the tree (in rate ticks, i.e. seconds).
const EXITED_TTL: u32 = 30;

#[derive(Clone, Debug)]
pub struct Process {
    pub pid: u32,
    pub ppid: u32,
    pub comm: Vec<u8>,
    pub start_ns: u64,
    /// Ticks since it exited; `None` while alive.
    pub exited_ticks: Option<u32>,
    pub counts: [u64; EventKind::ALL.len()],
    /// Events per second, oldest first.
    pub history: VecDeque<u32>,
    this_second: u32,
    /// The unit or container its latest event came from.
    pub unit: Option<Arc<str>>,
    /// Events that failed (a result below 0, a DNS lookup without an answer).
    pub failures: u64,
}

/// How the Processes pane orders its processes (`s` cycles through them).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum ProcessSort {
    /// As a tree by parent (by pid within a unit).
    #[default]
    Tree,
    /// Most events first.
    Events,
    /// Most failures first.
    Failures,
    /// Most events in the last second first.
    Rate,
    /// By command name.
    Name,
}

impl ProcessSort {
    pub fn next(self) -> Self {
        match self {
            ProcessSort::Tree => ProcessSort::Events,
            ProcessSort::Events => ProcessSort::Failures,
            ProcessSort::Failures => ProcessSort::Rate,
            ProcessSort::Rate => ProcessSort::Name,
            ProcessSort::Name => ProcessSort::Tree,
        }
    }

    /// What the pane's title says.
    pub fn name(self) -> &'static str {
        match self {
            ProcessSort::Tree => "tree",
            ProcessSort::Events => "events",
            ProcessSort::Failures => "failures",
            ProcessSort::Rate => "rate",
            ProcessSort::Name => "name",
        }
    }
}

/// A line of the Processes pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessRow {
    /// A unit or container heading its processes (`u`); `None` for processes in neither.
    Unit(Option<Arc<str>>),
    Process {
        depth: usize,
        host: HostId,
        pid: u32,
    },
}

/// A process's key: its pid on its host.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ProcessKey {
    pub host: HostId,
    pub pid: u32,
}

impl ProcessKey {
    fn of(host: HostId, pid: u32) -> Self {
        Self { host, pid }
    }
}

#[derive(Default)]
pub struct ProcessTable {
    by_pid: BTreeMap<ProcessKey, Process>,
    /// Every parent seen, kept after the process leaves `by_pid`: `tree=` and the tree scope
    /// judge the events already received by the forks that were recorded, not by what is
    /// alive now.
    lineage: Lineage,
}

/// Parents by pid, the oldest forgotten first past [`LINEAGE_MAX`].
#[derive(Default)]
struct Lineage {
    parents: std::collections::HashMap<ProcessKey, u32>,
    order: VecDeque<ProcessKey>,
}

/// Pids whose parent is remembered: far more than a host runs at once, a few MiB at most.
const LINEAGE_MAX: usize = 1 << 18;

impl Lineage {
    fn record(&mut self, key: ProcessKey, ppid: u32) {
        if ppid == 0 || ppid == key.pid {
            return;
        }
        if self.parents.insert(key, ppid).is_none() {
            self.order.push_back(key);
            if self.order.len() > LINEAGE_MAX
                && let Some(oldest) = self.order.pop_front()
            {
                self.parents.remove(&oldest);
            }
        }
    }
}

impl ProcessTable {
    pub fn get(&self, host: HostId, pid: u32) -> Option<&Process> {
        self.by_pid.get(&ProcessKey::of(host, pid))
    }

    pub fn len(&self) -> usize {
        self.by_pid.len()
    }

    /// Takes in what an event says about processes.
    pub fn observe(&mut self, event: &Event) {
        let key = ProcessKey::of(event.host, event.pid);
        let process = self.entry(key, event.ppid, event.start_ns, &event.comm);
        process.counts[event.kind().index()] += 1;
        process.this_second += 1;
        process.failures += u64::from(event.details.failed());
        if let Some(label) = event.cgroup.as_ref().and_then(|info| info.label.as_ref())
            && process.unit.as_ref() != Some(label)
        {
            process.unit = Some(Arc::clone(label));
        }
        match &event.details {
            Details::Exec(Exec { ret: 0, .. }) => process.comm = event.comm.to_vec(),
            Details::Exit(Exit { .. }) => process.exited_ticks = Some(0),
            Details::Fork(Fork { child_pid, .. }) => {
                // A fork names the child before any of its own events arrive.
                let comm = event.comm.to_vec();
                let child = ProcessKey::of(event.host, *child_pid);
                self.lineage.record(child, event.pid);
                let process = Process::new(child, event.pid, 0, comm);
                self.by_pid.insert(child, process);
            }
            // Nothing about the process itself beyond what every event says.
            Details::Exec(_)
            | Details::Open(_)
            | Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Dns(_)
            | Details::Signal(_)
            | Details::OomKill(_)
            | Details::Change(_) => {}
        }
    }

    fn entry(&mut self, key: ProcessKey, ppid: u32, start_ns: u64, comm: &[u8]) -> &mut Process {
        self.lineage.record(key, ppid);
        let reused = self.by_pid.get(&key).is_some_and(|known| {
            known.start_ns != 0 && start_ns != 0 && known.start_ns != start_ns
        });
        if reused {
            self.by_pid.remove(&key);
        }
        let process = self
            .by_pid
            .entry(key)
            .or_insert_with(|| Process::new(key, ppid, start_ns, comm.to_vec()));
        if process.start_ns == 0 {
            process.start_ns = start_ns;
        }
        if process.ppid == 0 {
            process.ppid = ppid;
        }
        process
    }

    /// Once a second: rates move on, long-exited processes age out.
    pub fn tick(&mut self) {
        for process in self.by_pid.values_mut() {
            if process.history.len() == HISTORY {
                process.history.pop_front();
            }
            process
                .history
                .push_back(std::mem::take(&mut process.this_second));
            if let Some(ticks) = &mut process.exited_ticks {
                *ticks += 1;
            }
        }
        self.by_pid
            .retain(|_, p| p.exited_ticks.is_none_or(|ticks| ticks < EXITED_TTL));
    }

    /// The pane's lines: the tree, or with `by_unit` the processes under their unit or
    /// container (those of neither last). `only` keeps one unit's. A fleet's hosts come one
    /// after the other.
    pub fn rows(&self, by_unit: bool, only: Option<&str>, sort: ProcessSort) -> Vec<ProcessRow> {
        let in_scope = |key: &ProcessKey| {
            only.is_none_or(|unit| {
                self.by_pid
                    .get(key)
                    .is_some_and(|p| p.unit.as_deref() == Some(unit))
            })
        };
        let row = |depth, key: ProcessKey| ProcessRow::Process {
            depth,
            host: key.host,
            pid: key.pid,
        };
        if !by_unit && sort == ProcessSort::Tree {
            return self
                .tree()
                .into_iter()
                .filter(|(_, key)| in_scope(key))
                .map(|(depth, key)| row(depth, key))
                .collect();
        }
        if !by_unit {
            let mut keys: Vec<ProcessKey> = self.by_pid.keys().copied().filter(in_scope).collect();
            self.sort(&mut keys, sort);
            return keys.into_iter().map(|key| row(0, key)).collect();
        }
        let mut groups: BTreeMap<Option<Arc<str>>, Vec<ProcessKey>> = BTreeMap::new();
        for (key, process) in self.by_pid.iter().filter(|(key, _)| in_scope(key)) {
            groups.entry(process.unit.clone()).or_default().push(*key);
        }
        // Named units first, in order; processes of no unit at the end.
        let unnamed = groups.remove(&None);
        let mut rows = Vec::with_capacity(self.by_pid.len() + groups.len() + 1);
        for (unit, mut keys) in groups.into_iter().chain(unnamed.map(|keys| (None, keys))) {
            self.sort(&mut keys, sort);
            rows.push(ProcessRow::Unit(unit));
            rows.extend(keys.into_iter().map(|key| row(1, key)));
        }
        rows
    }

    /// Orders `keys` by `sort`, the largest first; ties (and the tree order) by host and pid.
    fn sort(&self, keys: &mut [ProcessKey], sort: ProcessSort) {
        let measure = |key: &ProcessKey| -> u64 {
            let Some(p) = self.by_pid.get(key) else {
                return 0;
            };
            match sort {
                ProcessSort::Tree | ProcessSort::Name => 0,
                ProcessSort::Events => p.counts.iter().sum(),
                ProcessSort::Failures => p.failures,
                ProcessSort::Rate => u64::from(p.history.back().copied().unwrap_or(0)),
            }
        };
        match sort {
            ProcessSort::Name => keys.sort_by(|a, b| {
                let name = |key: &ProcessKey| self.by_pid.get(key).map(|p| p.comm.clone());
                name(a).cmp(&name(b)).then(a.cmp(b))
            }),
            _ => keys.sort_by(|a, b| measure(b).cmp(&measure(a)).then(a.cmp(b))),
        }
    }

    /// The tree in display order: (depth, key). Roots are processes whose parent is unknown
    /// on their host.
    fn tree(&self) -> Vec<(usize, ProcessKey)> {
        let mut children: BTreeMap<ProcessKey, Vec<ProcessKey>> = BTreeMap::new();
        let mut roots = Vec::new();
        for (key, process) in &self.by_pid {
            let parent = ProcessKey::of(key.host, process.ppid);
            if process.ppid != process.pid && self.by_pid.contains_key(&parent) {
                children.entry(parent).or_default().push(*key);
            } else {
                roots.push(*key);
            }
        }
        let mut rows = Vec::with_capacity(self.by_pid.len());
        let mut stack: Vec<(usize, ProcessKey)> =
            roots.into_iter().rev().map(|key| (0, key)).collect();
        while let Some((depth, key)) = stack.pop() {
            rows.push((depth, key));
            if let Some(kids) = children.get(&key) {
                stack.extend(kids.iter().rev().map(|&kid| (depth + 1, kid)));
            }
        }
        rows
    }
}

impl Ancestry for ProcessTable {
    fn is_descendant_or_self(&self, host: HostId, pid: u32, root: u32) -> bool {
        let mut current = pid;
        // Bounded: a corrupt parent chain must not loop forever.
        for _ in 0..64 {
            if current == root {
                return true;
            }
            let key = ProcessKey::of(host, current);
            let parent = match self.by_pid.get(&key) {
                Some(process) if process.ppid != 0 => Some(process.ppid),
                _ => self.lineage.parents.get(&key).copied(),
            };
            match parent {
                Some(ppid) if ppid != current => current = ppid,
                _ => return false,
            }
        }
        false
    }
}

impl Process {
    fn new(key: ProcessKey, ppid: u32, start_ns: u64, comm: Vec<u8>) -> Self {
        Self {
            pid: key.pid,
            ppid,
            comm,
            start_ns,
            exited_ticks: None,
            counts: [0; EventKind::ALL.len()],
            history: VecDeque::with_capacity(HISTORY),
            this_second: 0,
            unit: None,
            failures: 0,
        }
    }

    pub fn count(&self, kind: EventKind) -> u64 {
        self.counts[kind.index()]
    }

    /// Events of every kind in `group`.
    pub fn group_count(&self, group: Group) -> u64 {
        EventKind::ALL
            .into_iter()
            .filter(|kind| kind.group() == group)
            .map(|kind| self.count(kind))
            .sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::sample::event;

    fn exit_of(pid: u32, start_ns: u64, comm: &[u8]) -> Event {
        let mut e = event(Details::Exit(Exit {
            status: 0,
            lifetime_ns: 1,
        }));
        (e.pid, e.start_ns, e.comm) = (pid, start_ns, comm.to_vec().into());
        e
    }

    #[test]
    fn a_reused_pid_is_a_new_process() {
        let mut table = ProcessTable::default();
        table.observe(&exit_of(77, 1_000, b"old"));
        assert_eq!(
            table.get(HostId::LOCAL, 77).unwrap().count(EventKind::Exit),
            1
        );
        // Same pid, another start time: another process, with nothing of the old one.
        let mut open = event(Details::Fork(Fork {
            child_pid: 78,
            clone_flags: 0,
        }));
        (open.pid, open.start_ns, open.comm) = (77, 9_000, b"new".to_vec().into());
        table.observe(&open);
        let process = table.get(HostId::LOCAL, 77).unwrap();
        assert_eq!(process.comm, b"new");
        assert_eq!(process.start_ns, 9_000);
        assert_eq!(process.count(EventKind::Exit), 0);
        assert_eq!(process.exited_ticks, None);
    }

    #[test]
    fn exited_processes_age_out_and_the_tree_nests_children() {
        let mut table = ProcessTable::default();
        let mut fork = event(Details::Fork(Fork {
            child_pid: 2,
            clone_flags: 0,
        }));
        (fork.pid, fork.ppid) = (1, 0);
        table.observe(&fork);
        let tree: Vec<(usize, u32)> = table
            .tree()
            .into_iter()
            .map(|(d, key)| (d, key.pid))
            .collect();
        assert_eq!(tree, vec![(0, 1), (1, 2)]);
        table.observe(&exit_of(2, 5, b"child"));
        for _ in 0..EXITED_TTL {
            table.tick();
        }
        assert!(table.get(HostId::LOCAL, 2).is_none());
        assert!(table.get(HostId::LOCAL, 1).is_some());
    }
}
