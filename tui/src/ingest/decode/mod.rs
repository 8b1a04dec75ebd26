//! Turns ring-buffer records (bytes written by the probes) into owned [`Event`]s.
//!
//! A record is a fixed head, the `ringside_common` struct the probes wrote (copied out of the
//! ring's bytes with zerocopy, so the layout is defined once, there), then a tail of variable
//! sections (stack frames, strings) as long as the head says, in an order each kind fixes. Every
//! slice is bounds-checked, so a short or corrupt record is a typed error, never a panic and
//! never `unsafe`.

mod changes;
mod dns;
mod head;
mod kinds;
mod news;
mod tail;
#[cfg(test)]
mod tests;

use std::mem::size_of;

use ringside_common::{
    DNS_RESPONSE_KIND, FLAG_STACK_TOP_REACHED, MAX_STACK_BYTES, RecordHeader, USER_STACK_KIND,
    UserStackHeader,
};
use zerocopy::FromBytes;

use super::text_arena::TextArena;
use crate::clock::WallClock;
use crate::dns::pairing::DnsResponse;
use crate::model::event::{Event, EventKind};
use crate::model::host::HostId;
use crate::model::user_stack::UserStackCopy;
use kinds::c_string;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than a header ({min} bytes)")]
    TooShort { len: usize, min: usize },
    #[error("record kind {0} is unknown")]
    UnknownKind(u16),
    #[error("{kind} record has {len} bytes, shorter than its head ({head} bytes)")]
    ShorterThanHead {
        kind: &'static str,
        len: usize,
        head: usize,
    },
    #[error("{field} of {len} bytes runs past the end of its record ({left} bytes left)")]
    PastTheEnd {
        field: &'static str,
        len: usize,
        left: usize,
    },
    #[error("{field} length {len} exceeds its buffer of {max} bytes")]
    LengthOutOfRange {
        field: &'static str,
        len: usize,
        max: usize,
    },
    /// A packet to or from port 53 that is not a DNS message.
    #[error("{0}")]
    Dns(crate::dns::message::MalformedDns),
}

/// What one ring-buffer record holds.
#[derive(Debug)]
pub enum Record {
    /// An event, with its user stack's [`ringside_common::StackHead::snapshot`] value: which copy
    /// goes with it, or why none does.
    Event(Event, u32),
    /// A user stack copy, sent just before its event.
    UserStack {
        pid: u32,
        tid: u32,
        key: u32,
        copy: UserStackCopy,
    },
    /// A DNS response, for the query it answers.
    DnsResponse(DnsResponse),
}

/// Decodes one record of any kind; its text goes into `text`'s shared buffers.
pub fn decode_record(
    bytes: &[u8],
    clock: &WallClock,
    text: &mut TextArena,
) -> Result<Record, DecodeError> {
    // Every record starts with its kind, a `u16`.
    match u16::read_from_prefix(bytes).map(|(kind, _)| kind) {
        Ok(USER_STACK_KIND) => return decode_user_stack(bytes),
        Ok(DNS_RESPONSE_KIND) => return dns::response(bytes).map(Record::DnsResponse),
        _ => {}
    }
    decode_event(bytes, clock, text).map(|(event, snapshot)| Record::Event(event, snapshot))
}

fn decode_user_stack(bytes: &[u8]) -> Result<Record, DecodeError> {
    let Ok((head, rest)) = UserStackHeader::read_from_prefix(bytes) else {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            min: size_of::<UserStackHeader>(),
        });
    };
    let len = head.len as usize;
    // The ring rounds records up to 8 bytes: the length says how much is stack.
    let stack = rest
        .get(..len)
        .filter(|_| len <= MAX_STACK_BYTES as usize)
        .ok_or(DecodeError::LengthOutOfRange {
            field: "user stack copy",
            len,
            max: rest.len(),
        })?;
    Ok(Record::UserStack {
        pid: head.pid,
        tid: head.tid,
        key: head.key,
        copy: UserStackCopy {
            ip: head.ip,
            sp: head.sp,
            bp: head.bp,
            bytes: bytes::Bytes::copy_from_slice(stack),
            top_reached: head.flags & FLAG_STACK_TOP_REACHED != 0,
        },
    })
}

/// Decodes one event record on its own (tests and tools; the reader uses [`decode_record`]).
#[cfg(test)]
pub fn decode(bytes: &[u8], clock: &WallClock) -> Result<Event, DecodeError> {
    decode_event(bytes, clock, &mut TextArena::default()).map(|(event, _)| event)
}

/// Decodes one event record, with its user stack's [`ringside_common::StackHead::snapshot`].
/// `clock` turns the kernel's monotonic stamp into wall time.
fn decode_event(
    bytes: &[u8],
    clock: &WallClock,
    text: &mut TextArena,
) -> Result<(Event, u32), DecodeError> {
    let Ok((header, _)) = RecordHeader::read_from_prefix(bytes) else {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            min: size_of::<RecordHeader>(),
        });
    };
    let kind = EventKind::from_wire(header.kind).ok_or(DecodeError::UnknownKind(header.kind))?;
    let decoded = match kind {
        EventKind::Exec => kinds::exec(bytes, text)?,
        EventKind::Open => kinds::open(bytes, text)?,
        EventKind::Connect | EventKind::Accept => kinds::sock(bytes, kind)?,
        EventKind::TcpClose => kinds::tcp_close(bytes)?,
        EventKind::Exit => kinds::exit(bytes)?,
        EventKind::Fork => kinds::fork(bytes)?,
        EventKind::Dns => dns::query(bytes)?,
        EventKind::Signal => news::signal(bytes)?,
        EventKind::OomKill => news::oom_kill(bytes)?,
        EventKind::Unlink
        | EventKind::Rename
        | EventKind::Mkdir
        | EventKind::Chmod
        | EventKind::Chown
        | EventKind::Truncate
        | EventKind::Link
        | EventKind::Symlink => changes::change(bytes, kind, text)?,
    };
    let mono_ns = header.ts_ns;
    let event = Event {
        time: clock.wall(mono_ns),
        mono_ns,
        cpu: header.cpu,
        pid: header.pid,
        tid: header.tid,
        ppid: header.ppid,
        uid: header.uid,
        start_ns: header.start_ns,
        comm: c_string(&header.comm).into(),
        cgroup_id: header.cgroup_id,
        cgroup: None,
        stack_mono_ns: decoded.stack_ns.unwrap_or(mono_ns),
        details: decoded.details,
        ustack: decoded.ustack.into(),
        kstack: decoded.kstack.into(),
        stacks: None,
        host: HostId::LOCAL,
    };
    Ok((event, decoded.snapshot))
}
