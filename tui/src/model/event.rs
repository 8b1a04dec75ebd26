//! One event, owned and decoded: what the ring buffer delivered, in terms a person reads.

use std::net::IpAddr;
use std::time::SystemTime;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::frame::Stacks;

/// The kinds of event ringside reports; the names are the JSON `type` values.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventKind {
    Exec,
    Open,
    Connect,
    Accept,
    TcpClose,
    Exit,
    Fork,
}

impl EventKind {
    pub const ALL: [EventKind; 7] = [
        EventKind::Exec,
        EventKind::Open,
        EventKind::Connect,
        EventKind::Accept,
        EventKind::TcpClose,
        EventKind::Exit,
        EventKind::Fork,
    ];

    /// The name used in JSON, on the command line and on screen.
    pub fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Open => "open",
            EventKind::Connect => "connect",
            EventKind::Accept => "accept",
            EventKind::TcpClose => "tcp_close",
            EventKind::Exit => "exit",
            EventKind::Fork => "fork",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.name() == name)
    }

    /// The record kind the probes write (`ringside_common::kind`).
    pub fn wire(self) -> u16 {
        use ringside_common::kind;
        match self {
            EventKind::Exec => kind::EXEC,
            EventKind::Open => kind::OPEN,
            EventKind::Connect => kind::CONNECT,
            EventKind::Accept => kind::ACCEPT,
            EventKind::TcpClose => kind::TCP_CLOSE,
            EventKind::Exit => kind::EXIT,
            EventKind::Fork => kind::FORK,
        }
    }

    pub fn from_wire(wire: u16) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.wire() == wire)
    }
}

/// An event with the identity of the process that caused it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    pub time: SystemTime,
    /// CLOCK_MONOTONIC nanoseconds, as the kernel stamped it.
    pub mono_ns: u64,
    pub cpu: u32,
    pub pid: u32,
    pub tid: u32,
    /// 0 when the kernel could not tell.
    pub ppid: u32,
    pub uid: u32,
    /// The process's start (CLOCK_MONOTONIC ns): with `pid`, a key that survives pid reuse.
    pub start_ns: u64,
    /// Raw bytes from the kernel: any process can name itself anything. The text fields of
    /// decoded events share their batch's buffers ([`crate::ingest::text_arena`]); whatever
    /// keeps an event for long takes its own copy ([`Event::own_text`]).
    pub comm: Bytes,
    pub details: Details,
    /// When the stacks were taken (CLOCK_MONOTONIC ns): the event's own time, except for an exec,
    /// whose stack is taken at its entry, in the image it replaces.
    pub stack_mono_ns: u64,
    /// Return addresses, innermost first; empty when not captured.
    pub ustack: Vec<u64>,
    pub kstack: Vec<u64>,
    /// The stacks symbolized, once the symbolizer answered.
    pub stacks: Option<std::sync::Arc<Stacks>>,
}

impl Event {
    /// Gives the event's text fields buffers of their own, so that an event kept for long
    /// (the TUI's store) does not hold its whole batch's text in memory.
    pub fn own_text(&mut self) {
        let own = |bytes: &mut Bytes| *bytes = Bytes::copy_from_slice(bytes);
        own(&mut self.comm);
        match &mut self.details {
            Details::Exec { filename, argv, .. } => {
                own(filename);
                argv.iter_mut().for_each(own);
            }
            Details::Open { path, .. } => own(path),
            Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose { .. }
            | Details::Exit { .. }
            | Details::Fork { .. } => {}
        }
    }

    pub fn kind(&self) -> EventKind {
        match self.details {
            Details::Exec { .. } => EventKind::Exec,
            Details::Open { .. } => EventKind::Open,
            Details::Connect(_) => EventKind::Connect,
            Details::Accept(_) => EventKind::Accept,
            Details::TcpClose { .. } => EventKind::TcpClose,
            Details::Exit { .. } => EventKind::Exit,
            Details::Fork { .. } => EventKind::Fork,
        }
    }
}

/// What is particular to each kind.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Details {
    Exec {
        filename: Bytes,
        /// The filename did not fit in its buffer.
        filename_truncated: bool,
        argv: Vec<Bytes>,
        /// More arguments were passed than were kept.
        argv_truncated: bool,
        ret: i32,
    },
    Open {
        path: Bytes,
        path_truncated: bool,
        dfd: i32,
        flags: u32,
        mode: u32,
        /// The fd, or `-errno`.
        ret: i32,
        latency_ns: u64,
        syscall: OpenSyscall,
    },
    Connect(SockInfo),
    Accept(SockInfo),
    TcpClose {
        addrs: SockAddrs,
        duration_ns: u64,
        /// `None` when the kernel has no BTF to find the counters.
        tx_bytes: Option<u64>,
        rx_bytes: Option<u64>,
    },
    Exit {
        /// The wait status: `code << 8 | signal`.
        status: i32,
        lifetime_ns: u64,
    },
    Fork {
        child_pid: u32,
        clone_flags: u64,
    },
}

/// A connect or accept.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SockInfo {
    pub addrs: SockAddrs,
    /// connect: 0 or `-errno`; accept: the new fd or `-errno`.
    pub ret: i32,
    pub fd: i32,
    pub latency_ns: u64,
}

/// Both ends of a TCP connection; `None` where the kernel could not tell.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SockAddrs {
    pub local: Option<(IpAddr, u16)>,
    pub remote: Option<(IpAddr, u16)>,
}

impl SockAddrs {
    /// `inet` or `inet6`, from whichever end is known.
    pub fn family(&self) -> &'static str {
        match self.local.or(self.remote) {
            Some((IpAddr::V6(_), _)) => "inet6",
            _ => "inet",
        }
    }
}

impl Details {
    /// The syscall's result where the event has one: `-errno` on failure.
    pub fn ret(&self) -> Option<i32> {
        match self {
            Details::Exec { ret, .. } | Details::Open { ret, .. } => Some(*ret),
            Details::Connect(sock) | Details::Accept(sock) => Some(sock.ret),
            _ => None,
        }
    }
}

/// Which system call opened a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenSyscall {
    Openat,
    Openat2,
    Open,
}

impl OpenSyscall {
    pub fn name(self) -> &'static str {
        match self {
            OpenSyscall::Openat => "openat",
            OpenSyscall::Openat2 => "openat2",
            OpenSyscall::Open => "open",
        }
    }
}
