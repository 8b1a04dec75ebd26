//! DNS records: a query, decoded into a [`Dns`] still waiting for its response, and a response,
//! decoded for [`crate::dns::pairing`] to pair with it.

use ringside_common::{DNS_PAYLOAD_MAX, DnsRecord};

use super::DecodeError;
use super::head;
use super::kinds::{Decoded, sock_addrs};
use super::tail::Tail;
use crate::dns::message::{Message, parse};
use crate::dns::pairing::DnsResponse;
use crate::model::event::{Details, Dns, DnsOutcome, EventKind};

/// A query's details, unanswered until its response comes.
pub fn query(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<DnsRecord>(bytes, EventKind::Dns.name())?;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let kstack = tail.frames(&r.kstack, "kernel stack")?;
    let message = message(&r, &mut tail)?;
    let question = message.question.unwrap_or_default();
    let details = Details::Dns(Box::new(Dns {
        addrs: sock_addrs(&r.addrs, 0),
        id: message.id,
        query: question.name,
        qtype: question.qtype,
        outcome: DnsOutcome::Unanswered,
        answers: Vec::new(),
        answers_cut: false,
        latency_ns: None,
    }));
    Ok(Decoded {
        ustack,
        kstack,
        snapshot: r.ustack.snapshot,
        stack_ns: None,
        details,
    })
}

/// A response record: no process, no stacks, the payload right after the head.
pub fn response(bytes: &[u8]) -> Result<DnsResponse, DecodeError> {
    let (r, mut tail) = head::read::<DnsRecord>(bytes, "dns response")?;
    tail.frames(&r.ustack, "user stack")?;
    tail.frames(&r.kstack, "kernel stack")?;
    let message = message(&r, &mut tail)?;
    Ok(DnsResponse {
        addrs: sock_addrs(&r.addrs, 0),
        mono_ns: r.header.ts_ns,
        message,
    })
}

fn message(r: &DnsRecord, tail: &mut Tail<'_>) -> Result<Message, DecodeError> {
    let payload = tail.take("dns payload", r.payload_len as usize, DNS_PAYLOAD_MAX)?;
    parse(payload).map_err(DecodeError::Dns)
}
