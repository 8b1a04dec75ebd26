//! Pairs each DNS query with its response into one event.
//!
//! The probes see a query as it leaves (in the sender's thread, with its stacks) and a response
//! as it arrives (in softirq, no process). A response answers the query with the same client
//! end, server end and message id, as a resolver checks. A query waits here until its response
//! comes, [`TIMEOUT`] passes, or tracing ends; whichever comes first completes its event.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;

use crate::dns::message::{Answer, Message};
use crate::model::Event;
use crate::model::event::{Details, Dns, DnsOutcome, SockAddrs};
use crate::model::user_stack::UserCopy;

/// How long a query waits for its response before it is reported as a timeout.
pub const TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);
/// Queries waiting at most: past this, the oldest is reported unanswered (a flood of queries
/// to an address that never answers must not grow memory without bound).
pub const WAITING_MAX: usize = 4096;
/// Bytes of user stack copies the waiting queries hold at most; a query past it keeps only its
/// frame-pointer stack (its copy counts as lost).
pub const WAITING_COPY_BYTES_MAX: usize = 16 << 20;

/// A response record, decoded: the client's end is local, the server's remote.
#[derive(Debug)]
pub struct DnsResponse {
    pub addrs: SockAddrs,
    /// CLOCK_MONOTONIC when it arrived.
    pub mono_ns: u64,
    pub message: Message,
}

type End = (IpAddr, u16);

/// What pairs a response with its query.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
struct Key {
    client: End,
    server: End,
    id: u16,
}

impl Key {
    fn of(addrs: &SockAddrs, id: u16) -> Option<Key> {
        Some(Key {
            client: addrs.local?,
            server: addrs.remote?,
            id,
        })
    }
}

/// A query with the user stack copy it will be unwound with.
struct Waiting {
    event: Event,
    copy: UserCopy,
}

/// Queries waiting for their response.
#[derive(Default)]
pub struct DnsPairs {
    /// By key; a resent query with the same key waits behind the first.
    waiting: HashMap<Key, VecDeque<Waiting>>,
    /// Keys in the order their queries were sent, for timeouts and the bound.
    order: VecDeque<(u64, Key)>,
    len: usize,
    /// Bytes of the user stack copies held.
    copy_bytes: usize,
}

fn copy_size(copy: &UserCopy) -> usize {
    match copy {
        UserCopy::Taken(taken) => taken.bytes.len(),
        UserCopy::NotTaken | UserCopy::Lost => 0,
    }
}

impl DnsPairs {
    /// Holds a query until its response; returns a query that had to give way (the oldest,
    /// reported unanswered) when too many wait. A query without both ends cannot be paired:
    /// it comes back at once, unanswered.
    pub fn query(&mut self, event: Event, mut copy: UserCopy) -> Option<(Event, UserCopy)> {
        let Details::Dns(dns) = &event.details else {
            return Some((event, copy));
        };
        let Some(key) = Key::of(&dns.addrs, dns.id) else {
            return Some((event, copy));
        };
        if self.copy_bytes + copy_size(&copy) > WAITING_COPY_BYTES_MAX {
            copy = UserCopy::Lost;
        }
        self.copy_bytes += copy_size(&copy);
        self.order.push_back((event.mono_ns, key));
        self.waiting
            .entry(key)
            .or_default()
            .push_back(Waiting { event, copy });
        self.len += 1;
        if self.len > WAITING_MAX {
            return self.pop_oldest(DnsOutcome::Unanswered, None);
        }
        None
    }

    /// Completes the query `response` answers; `None` when no query waits for it (it came
    /// after its query timed out, or was sent before tracing began).
    pub fn response(&mut self, response: DnsResponse) -> Option<(Event, UserCopy)> {
        let key = Key::of(&response.addrs, response.message.id)?;
        let Waiting { mut event, copy } = self.take(&key)?;
        if let Some(at) = self.order.iter().position(|(_, k)| *k == key) {
            self.order.remove(at);
        }
        if let Details::Dns(dns) = &mut event.details {
            answer(dns, &response.message, response.mono_ns, event.mono_ns);
        }
        restamp(&mut event, response.mono_ns);
        Some((event, copy))
    }

    /// The queries that waited longer than [`TIMEOUT`] by `now_ns` (CLOCK_MONOTONIC), as
    /// timeouts stamped when their time ran out.
    pub fn timed_out(&mut self, now_ns: u64) -> Vec<(Event, UserCopy)> {
        let timeout = TIMEOUT.as_nanos() as u64;
        let mut done = Vec::new();
        while let Some(&(sent, _)) = self.order.front() {
            if now_ns.saturating_sub(sent) < timeout {
                break;
            }
            done.extend(self.pop_oldest(DnsOutcome::Timeout, Some(sent + timeout)));
        }
        done
    }

    /// Every query still waiting, unanswered: tracing has ended.
    pub fn drain(&mut self) -> Vec<(Event, UserCopy)> {
        let mut done = Vec::new();
        while !self.order.is_empty() {
            done.extend(self.pop_oldest(DnsOutcome::Unanswered, None));
        }
        done
    }

    /// The first query waiting under `key`, out of the map and the counts.
    fn take(&mut self, key: &Key) -> Option<Waiting> {
        let queue = self.waiting.get_mut(key)?;
        let waiting = queue.pop_front()?;
        if queue.is_empty() {
            self.waiting.remove(key);
        }
        self.len -= 1;
        self.copy_bytes -= copy_size(&waiting.copy);
        Some(waiting)
    }

    fn pop_oldest(
        &mut self,
        outcome: DnsOutcome,
        ended_ns: Option<u64>,
    ) -> Option<(Event, UserCopy)> {
        let (_, key) = self.order.pop_front()?;
        let Waiting { mut event, copy } = self.take(&key)?;
        if let Details::Dns(dns) = &mut event.details {
            dns.outcome = outcome;
        }
        if let Some(ended) = ended_ns {
            restamp(&mut event, ended);
        }
        Some((event, copy))
    }
}

/// An event completes when its lookup does; its stacks stay those of the query.
fn restamp(event: &mut Event, mono_ns: u64) {
    let later = std::time::Duration::from_nanos(mono_ns.saturating_sub(event.mono_ns));
    event.time += later;
    event.mono_ns = mono_ns;
}

fn answer(dns: &mut Dns, message: &Message, arrived_ns: u64, sent_ns: u64) {
    dns.outcome = DnsOutcome::Answered(message.rcode);
    dns.answers = message
        .answers
        .iter()
        .map(|answer| match answer {
            Answer::Address(ip) => ip.to_string(),
            Answer::Cname(name) => name.clone(),
        })
        .collect();
    dns.answers_cut = message.answers_cut;
    dns.latency_ns = Some(arrived_ns.saturating_sub(sent_ns));
}
