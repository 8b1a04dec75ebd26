//! DNS records: a query, decoded into a [`Dns`] still waiting for its response, and a response,
//! decoded for [`crate::dns::pairing`] to pair with it.

use std::mem::{offset_of, size_of};

use ringside_common::{DNS_PAYLOAD_MAX, DnsRecord, RecordHeader};

use super::DecodeError;
use super::head::Head;
use super::kinds::sock_addrs;
use super::tail::Tail;
use crate::dns::message::{Message, parse};
use crate::dns::pairing::DnsResponse;
use crate::model::event::{Details, Dns, DnsOutcome};

/// A query's details (unanswered until its response comes) and its kernel stack.
pub fn query(r: &Head<'_>, tail: &mut Tail<'_>) -> Result<(Details, Vec<u64>), DecodeError> {
    let kstack = tail.frames(r, offset_of!(DnsRecord, kstack), "kernel stack")?;
    let message = message(r, tail)?;
    let question = message.question.unwrap_or_default();
    let details = Details::Dns(Box::new(Dns {
        addrs: sock_addrs(r, offset_of!(DnsRecord, addrs), 0),
        id: message.id,
        query: question.name,
        qtype: question.qtype,
        outcome: DnsOutcome::Unanswered,
        answers: Vec::new(),
        answers_cut: false,
        latency_ns: None,
    }));
    Ok((details, kstack))
}

/// A response record: no process, no stacks, the payload right after the head.
pub fn response(bytes: &[u8]) -> Result<DnsResponse, DecodeError> {
    let head = size_of::<DnsRecord>();
    if bytes.len() < head {
        return Err(DecodeError::ShorterThanHead {
            kind: "dns response",
            len: bytes.len(),
            head,
        });
    }
    let r = Head::new(bytes);
    let mut tail = Tail::after_head(bytes, head);
    tail.frames(&r, offset_of!(DnsRecord, ustack), "user stack")?;
    tail.frames(&r, offset_of!(DnsRecord, kstack), "kernel stack")?;
    let message = message(&r, &mut tail)?;
    Ok(DnsResponse {
        addrs: sock_addrs(&r, offset_of!(DnsRecord, addrs), 0),
        mono_ns: r.u64(offset_of!(RecordHeader, ts_ns)),
        message,
    })
}

fn message(r: &Head<'_>, tail: &mut Tail<'_>) -> Result<Message, DecodeError> {
    let len = r.u32(offset_of!(DnsRecord, payload_len)) as usize;
    let payload = tail.take("dns payload", len, DNS_PAYLOAD_MAX)?;
    parse(payload).map_err(DecodeError::Dns)
}
