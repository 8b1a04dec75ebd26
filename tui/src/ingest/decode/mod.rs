//! Turns ring-buffer records (bytes written by the probes) into owned [`Event`]s.
//!
//! A record is a fixed head, read field by field at `offset_of!` positions, then a tail of
//! variable sections (stack frames, strings) as long as the head says, in an order each kind
//! fixes. Every slice is bounds-checked, so a short or corrupt record is a typed error, never a
//! panic and never `unsafe`.

mod dns;
mod head;
mod kinds;
mod tail;
#[cfg(test)]
mod tests;

use std::mem::{offset_of, size_of};

use ringside_common::{
    DNS_RESPONSE_KIND, DnsRecord, ExecRecord, ExitRecord, FLAG_STACK_TOP_REACHED, ForkRecord,
    MAX_STACK_BYTES, OpenRecord, RecordHeader, SockRecord, StackHead, TcpCloseRecord,
    USER_STACK_KIND, UserStackHeader, user_stack,
};

use super::text_arena::TextArena;
use crate::clock::WallClock;
use crate::dns::pairing::DnsResponse;
use crate::model::event::{Event, EventKind};
use crate::model::user_stack::UserStackCopy;
use head::Head;
use kinds::c_string;
use tail::Tail;

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
    match (bytes.len() >= 2).then(|| Head::new(bytes).u16(0)) {
        Some(USER_STACK_KIND) => return decode_user_stack(bytes),
        Some(DNS_RESPONSE_KIND) => return dns::response(bytes).map(Record::DnsResponse),
        _ => {}
    }
    let event = decode_event(bytes, clock, text)?;
    let snapshot = user_stack_at(event.kind()).map_or(user_stack::NONE, |at| {
        Head::new(bytes).u32(at + offset_of!(StackHead, snapshot))
    });
    Ok(Record::Event(event, snapshot))
}

/// Where a kind's record holds its user stack; `None` for kinds that have none.
fn user_stack_at(kind: EventKind) -> Option<usize> {
    match kind {
        EventKind::Exec => Some(offset_of!(ExecRecord, ustack)),
        EventKind::Open => Some(offset_of!(OpenRecord, ustack)),
        EventKind::Connect | EventKind::Accept => Some(offset_of!(SockRecord, ustack)),
        EventKind::Fork => Some(offset_of!(ForkRecord, ustack)),
        EventKind::Exit => Some(offset_of!(ExitRecord, ustack)),
        EventKind::Dns => Some(offset_of!(DnsRecord, ustack)),
        EventKind::TcpClose => None,
    }
}

fn decode_user_stack(bytes: &[u8]) -> Result<Record, DecodeError> {
    let head = size_of::<UserStackHeader>();
    if bytes.len() < head {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            min: head,
        });
    }
    let r = Head::new(bytes);
    let len = r.u32(offset_of!(UserStackHeader, len)) as usize;
    // The ring rounds records up to 8 bytes: the length says how much is stack.
    let stack = bytes
        .get(head..head.saturating_add(len))
        .filter(|_| len <= MAX_STACK_BYTES as usize)
        .ok_or(DecodeError::LengthOutOfRange {
            field: "user stack copy",
            len,
            max: bytes.len() - head,
        })?;
    Ok(Record::UserStack {
        pid: r.u32(offset_of!(UserStackHeader, pid)),
        tid: r.u32(offset_of!(UserStackHeader, tid)),
        key: r.u32(offset_of!(UserStackHeader, key)),
        copy: UserStackCopy {
            ip: r.u64(offset_of!(UserStackHeader, ip)),
            sp: r.u64(offset_of!(UserStackHeader, sp)),
            bp: r.u64(offset_of!(UserStackHeader, bp)),
            bytes: bytes::Bytes::copy_from_slice(stack),
            top_reached: r.u16(offset_of!(UserStackHeader, flags)) & FLAG_STACK_TOP_REACHED != 0,
        },
    })
}

/// Decodes one event record on its own (tests and tools; the reader uses [`decode_record`]).
#[cfg(test)]
pub fn decode(bytes: &[u8], clock: &WallClock) -> Result<Event, DecodeError> {
    decode_event(bytes, clock, &mut TextArena::default())
}

/// Decodes one event record. `clock` turns the kernel's monotonic stamp into wall time.
fn decode_event(
    bytes: &[u8],
    clock: &WallClock,
    text: &mut TextArena,
) -> Result<Event, DecodeError> {
    let header = Head::new(bytes);
    if bytes.len() < size_of::<RecordHeader>() {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            min: size_of::<RecordHeader>(),
        });
    }
    let wire_kind = header.u16(offset_of!(RecordHeader, kind));
    let kind = EventKind::from_wire(wire_kind).ok_or(DecodeError::UnknownKind(wire_kind))?;
    let head = head_size(kind);
    if bytes.len() < head {
        return Err(DecodeError::ShorterThanHead {
            kind: kind.name(),
            len: bytes.len(),
            head,
        });
    }
    let flags = header.u16(offset_of!(RecordHeader, flags));
    let mono_ns = header.u64(offset_of!(RecordHeader, ts_ns));
    let record = Head::new(bytes);
    let mut tail = Tail::after_head(bytes, head);
    // Sections come in the order the probes write them: the user stack first.
    let ustack = match user_stack_at(kind) {
        Some(at) => tail.frames(&record, at, "user stack")?,
        None => Vec::new(),
    };
    let (details, kstack) = match kind {
        EventKind::Exec => kinds::exec(&record, &mut tail, flags, text)?,
        EventKind::Open => kinds::open(&record, &mut tail, flags, text)?,
        EventKind::Connect | EventKind::Accept => kinds::sock(&record, &mut tail, kind, flags)?,
        EventKind::TcpClose => kinds::tcp_close(&record, &mut tail, flags)?,
        EventKind::Exit => kinds::exit(&record, &mut tail)?,
        EventKind::Fork => kinds::fork(&record, &mut tail)?,
        EventKind::Dns => dns::query(&record, &mut tail)?,
    };
    Ok(Event {
        time: clock.wall(mono_ns),
        mono_ns,
        cpu: header.u32(offset_of!(RecordHeader, cpu)),
        pid: header.u32(offset_of!(RecordHeader, pid)),
        tid: header.u32(offset_of!(RecordHeader, tid)),
        ppid: header.u32(offset_of!(RecordHeader, ppid)),
        uid: header.u32(offset_of!(RecordHeader, uid)),
        start_ns: header.u64(offset_of!(RecordHeader, start_ns)),
        comm: c_string(header.bytes(offset_of!(RecordHeader, comm), 16)).into(),
        cgroup_id: header.u64(offset_of!(RecordHeader, cgroup_id)),
        cgroup: None,
        stack_mono_ns: match kind {
            // Taken at the exec's entry, in the image it replaces.
            EventKind::Exec => record.u64(offset_of!(ExecRecord, stack_ns)),
            EventKind::Open
            | EventKind::Connect
            | EventKind::Accept
            | EventKind::TcpClose
            | EventKind::Exit
            | EventKind::Fork
            | EventKind::Dns => mono_ns,
        },
        details,
        ustack: ustack.into(),
        kstack: kstack.into(),
        stacks: None,
    })
}

/// The size of a kind's fixed head; its tail follows.
pub fn head_size(kind: EventKind) -> usize {
    match kind {
        EventKind::Exec => size_of::<ExecRecord>(),
        EventKind::Open => size_of::<OpenRecord>(),
        EventKind::Connect | EventKind::Accept => size_of::<SockRecord>(),
        EventKind::TcpClose => size_of::<TcpCloseRecord>(),
        EventKind::Exit => size_of::<ExitRecord>(),
        EventKind::Fork => size_of::<ForkRecord>(),
        EventKind::Dns => size_of::<DnsRecord>(),
    }
}
