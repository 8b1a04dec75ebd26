//! Failures first: failed events grouped by kind, error and the innermost interesting frame,
//! largest first, so `open ENOENT ← read_settings ← start_service ×54` tops the view.

use std::collections::{HashMap, HashSet};

use super::key_cache::{KeyId, StackKeys};
use super::stack_key::FrameKey;
use super::who::{CommTally, Who};
use crate::model::EventId;
use crate::model::event::{Details, DnsOutcome, Exec, Open, SockInfo};
use crate::model::{Event, EventKind};

/// How an event failed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Failure {
    /// A syscall's `-errno`.
    Errno(i32),
    /// A DNS lookup without a `NOERROR` answer.
    Dns(DnsOutcome),
    /// A process that exited with this non-zero code.
    Exit(i32),
    /// A process a signal killed.
    Signal(i32),
    /// The OOM killer chose a victim: the allocation that set it off failed.
    OomKill,
}

impl Failure {
    /// How the event failed, if it did.
    pub fn of(event: &Event) -> Option<Failure> {
        Self::of_details(&event.details)
    }

    /// How an event with these details failed, if it did ([`Details::failed`] says whether).
    pub fn of_details(details: &Details) -> Option<Failure> {
        if !details.failed() {
            return None;
        }
        match details {
            Details::Dns(dns) => Some(Failure::Dns(dns.outcome)),
            Details::Exec(Exec { ret, .. })
            | Details::Open(Open { ret, .. })
            | Details::Connect(SockInfo { ret, .. })
            | Details::Accept(SockInfo { ret, .. }) => Some(Failure::Errno(*ret)),
            // The signal first: it is why a killed process's code is what it is.
            Details::Exit(exit) => Some(match exit.signal() {
                Some(signal) => Failure::Signal(signal),
                None => Failure::Exit(exit.code()),
            }),
            Details::Change(change) => Some(Failure::Errno(change.ret)),
            Details::OomKill(_) => Some(Failure::OomKill),
            Details::TcpClose(_) | Details::Fork(_) | Details::Signal(_) => None,
        }
    }

    /// `ENOENT`, `NXDOMAIN`, `timeout`, `exit 1`, `SIGKILL`.
    pub fn name(self) -> String {
        match self {
            Failure::Errno(ret) => {
                crate::model::names::error_name(ret).unwrap_or_else(|| ret.to_string())
            }
            Failure::Dns(outcome) => outcome.name(),
            Failure::Exit(code) => format!("exit {code}"),
            Failure::Signal(signal) => crate::model::names::signal_label(signal).into_owned(),
            Failure::OomKill => "OOM kill".to_owned(),
        }
    }
}

/// One (kind, failure, frame) and its events.
#[derive(Clone, Debug)]
pub struct FailureRow {
    pub kind: EventKind,
    pub failure: Failure,
    /// The innermost interesting frame; `None` for events without a symbolized stack.
    pub frame: Option<FrameKey>,
    /// Its caller, when every event of the row has the same one.
    pub caller: Option<FrameKey>,
    /// Events of the row came from more than one caller.
    pub callers_differ: bool,
    /// The frame's number in the stack keys, which the row's scope matches on.
    pub frame_id: u32,
    pub count: u64,
    pub processes: usize,
    /// The programs the events came from.
    pub who: Who,
    /// The newest event: the Details pane shows it.
    pub newest: EventId,
}

impl FailureRow {
    /// `open ENOENT ← read_settings ← start_service`.
    pub fn describe(&self) -> String {
        // `exit 1` names its kind already; `exit exit 1` would stutter.
        let mut text = match self.failure {
            Failure::Exit(_) => self.failure.name(),
            _ => format!("{} {}", self.kind.name(), self.failure.name()),
        };
        match &self.frame {
            Some(frame) => {
                text.push_str(" ← ");
                text.push_str(&frame.name);
            }
            None => text.push_str(" ← ?"),
        }
        if self.callers_differ {
            text.push_str(" ← (several callers)");
        } else if let Some(caller) = &self.caller {
            text.push_str(" ← ");
            text.push_str(&caller.name);
        }
        text
    }
}

pub struct FailureTable {
    /// Largest first.
    pub rows: Vec<FailureRow>,
    /// Failed events, every row together.
    pub events: u64,
}

#[derive(Default)]
pub(super) struct Builder {
    rows: Vec<FailureRow>,
    pids: Vec<HashSet<u32>>,
    comms: Vec<CommTally>,
    index: HashMap<(EventKind, Failure, u32), usize>,
}

impl Builder {
    pub(super) fn add(
        &mut self,
        id: EventId,
        event: &Event,
        failure: Failure,
        key: KeyId,
        keys: &StackKeys,
    ) {
        let info = keys.info(key);
        let kind = event.kind();
        let at = *self
            .index
            .entry((kind, failure, info.frame_id))
            .or_insert_with(|| {
                self.rows.push(FailureRow {
                    kind,
                    failure,
                    frame: info.frame.clone(),
                    caller: info.caller.clone(),
                    callers_differ: false,
                    frame_id: info.frame_id,
                    count: 0,
                    processes: 0,
                    who: Who::default(),
                    newest: id,
                });
                self.pids.push(HashSet::new());
                self.comms.push(CommTally::default());
                self.rows.len() - 1
            });
        let row = &mut self.rows[at];
        row.count += 1;
        row.newest = row.newest.max(id);
        row.callers_differ |= row.caller != info.caller;
        self.pids[at].insert(event.pid);
        self.comms[at].add(event.comm);
    }

    pub(super) fn finish(mut self) -> FailureTable {
        for ((row, pids), comms) in self.rows.iter_mut().zip(&self.pids).zip(self.comms) {
            row.processes = pids.len();
            row.who = comms.finish();
        }
        self.rows
            .sort_by(|a, b| b.count.cmp(&a.count).then(b.newest.cmp(&a.newest)));
        FailureTable {
            events: self.rows.iter().map(|r| r.count).sum(),
            rows: self.rows,
        }
    }
}
