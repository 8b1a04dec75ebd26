//! One event, owned and decoded: what the ring buffer delivered, in terms a person reads.

mod abs_path;
mod addrs;
mod change;
mod connection;
mod dns;
mod exec;
mod exit;
mod fork;
mod oom_kill;
mod open;
mod signal;
mod socket;
mod tcp_close;

use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use super::frame::Stacks;
pub use abs_path::{AbsPath, DirState};
pub use addrs::SockAddrs;
pub use change::{Change, ChangeSyscall};
pub use connection::SockInfo;
pub use dns::{Dns, DnsOutcome};
pub use exec::Exec;
pub use exit::Exit;
pub use fork::Fork;
pub use oom_kill::{OomKill, OomScope};
pub use open::{Open, OpenSyscall};
pub use signal::Signal;
pub use socket::{Socket, UnixAddr};
pub use tcp_close::TcpClose;

/// The kinds of event ringside reports and their groups: declared with the probes' records,
/// and used as they are.
pub use ringside_common::{EventKind, Group};

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
    /// Raw bytes from the kernel: any process can name itself anything. Held inline; the
    /// other text fields of decoded events share their batch's buffers
    /// ([`crate::ingest::text_arena`]), and whatever keeps an event for long takes its own copy
    /// of them ([`Event::own_text`]).
    pub comm: super::comm::Comm,
    /// The process's cgroup v2 id; 0 when unknown.
    pub cgroup_id: u64,
    /// What the id names (path, unit, container), shared by every event of that cgroup;
    /// `None` until resolved, or when the id is 0.
    pub cgroup: Option<std::sync::Arc<crate::cgroups::CgroupInfo>>,
    pub details: Details,
    /// When the stacks were taken (CLOCK_MONOTONIC ns): the event's own time, except for an exec,
    /// whose stack is taken at its entry, in the image it replaces.
    pub stack_mono_ns: u64,
    /// Return addresses, innermost first; empty when not captured.
    pub ustack: Box<[u64]>,
    pub kstack: Box<[u64]>,
    /// The stacks symbolized, once the symbolizer answered.
    pub stacks: Option<std::sync::Arc<Stacks>>,
    /// The machine it happened on. Not in the event's own encoding: a recording names the
    /// host in the entry that carries the event, and a remote knows only itself.
    #[serde(skip)]
    pub host: super::host::HostId,
}

impl Event {
    /// Gives the event's text fields buffers of their own, so that an event kept for long
    /// (the TUI's store) does not hold its whole batch's text in memory.
    pub fn own_text(&mut self) {
        self.details.own_text();
    }

    pub fn kind(&self) -> EventKind {
        self.details.kind()
    }

    /// The line the Events pane shows and a search looks through.
    pub fn summary(&self) -> String {
        self.details.summary()
    }
}

/// What is particular to each kind: each kind's type, in a file of its own, owns its fields,
/// its summary and its JSON. Every question below is an exhaustive match, so a new kind is
/// asked each of them by the compiler.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub enum Details {
    Exec(Exec),
    Open(Open),
    Connect(SockInfo),
    Accept(SockInfo),
    TcpClose(TcpClose),
    Exit(Exit),
    Fork(Fork),
    /// Boxed: larger than the others, and rarer.
    Dns(Box<Dns>),
    Signal(Signal),
    OomKill(Box<OomKill>),
    /// Every kind of the Changes group: the system call says which.
    Change(Box<Change>),
}

impl Details {
    pub fn kind(&self) -> EventKind {
        match self {
            Details::Exec(_) => EventKind::Exec,
            Details::Open(_) => EventKind::Open,
            Details::Connect(_) => EventKind::Connect,
            Details::Accept(_) => EventKind::Accept,
            Details::TcpClose(_) => EventKind::TcpClose,
            Details::Exit(_) => EventKind::Exit,
            Details::Fork(_) => EventKind::Fork,
            Details::Dns(_) => EventKind::Dns,
            Details::Signal(_) => EventKind::Signal,
            Details::OomKill(_) => EventKind::OomKill,
            Details::Change(change) => change.kind(),
        }
    }

    pub fn summary(&self) -> String {
        match self {
            Details::Exec(exec) => exec.summary(),
            Details::Open(open) => open.summary(),
            Details::Connect(sock) => sock.connect_summary(),
            Details::Accept(sock) => sock.accept_summary(),
            Details::TcpClose(close) => close.summary(),
            Details::Exit(exit) => exit.summary(),
            Details::Fork(fork) => fork.summary(),
            Details::Dns(dns) => dns.summary(),
            Details::Signal(signal) => signal.summary(),
            Details::OomKill(oom) => oom.summary(),
            Details::Change(change) => change.summary(),
        }
    }

    /// The syscall's result where the event has one: `-errno` on failure.
    pub fn ret(&self) -> Option<i32> {
        match self {
            Details::Exec(exec) => exec.ret(),
            Details::Open(open) => open.ret(),
            Details::Connect(sock) | Details::Accept(sock) => sock.ret(),
            Details::Change(change) => change.ret(),
            Details::TcpClose(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::Signal(_)
            | Details::OomKill(_) => None,
        }
    }

    /// The file the event names, for `path` filters.
    pub fn path(&self) -> Option<&[u8]> {
        match self {
            Details::Exec(exec) => exec.path(),
            Details::Open(open) => open.path(),
            Details::Change(change) => Some(&change.path),
            Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::Signal(_)
            | Details::OomKill(_) => None,
        }
    }

    /// The other forms of the event's paths, for `path` filters, which match any of them: a
    /// relative path made absolute, a rename's new name, a link's target.
    pub fn other_paths(&self) -> impl Iterator<Item = &[u8]> {
        let (abs, other, other_abs): (Option<&AbsPath>, &[u8], Option<&AbsPath>) = match self {
            Details::Open(open) => (open.abs_path.as_deref(), &[], None),
            Details::Exec(exec) => (exec.abs_filename.as_deref(), &[], None),
            Details::Change(change) => (
                change.abs_path.as_deref(),
                &change.other,
                change.other_abs.as_deref(),
            ),
            _ => (None, &[], None),
        };
        let other = (!other.is_empty()).then_some(other);
        abs.map(|abs| &abs.path[..])
            .into_iter()
            .chain(other)
            .chain(other_abs.map(|abs| &abs.path[..]))
    }

    /// The name a DNS query asked for, for `query` filters.
    pub fn query(&self) -> Option<&[u8]> {
        match self {
            Details::Dns(dns) => Some(dns.query.as_bytes()),
            Details::Exec(_)
            | Details::Open(_)
            | Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Signal(_)
            | Details::OomKill(_)
            | Details::Change(_) => None,
        }
    }

    /// An exit's code, for `exit_code` filters.
    pub fn exit_code(&self) -> Option<i32> {
        match self {
            Details::Exit(exit) => Some(exit.code()),
            Details::Exec(_)
            | Details::Open(_)
            | Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::Signal(_)
            | Details::OomKill(_)
            | Details::Change(_) => None,
        }
    }

    /// The signal that ended a process, or a signal event's, for `signal` and `sig` filters.
    pub fn signal(&self) -> Option<i32> {
        match self {
            Details::Exit(exit) => exit.signal(),
            Details::Signal(signal) => Some(signal.sig),
            Details::Exec(_)
            | Details::Open(_)
            | Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::OomKill(_)
            | Details::Change(_) => None,
        }
    }

    /// Whether the event is a failure a person should see in red: a result below 0, a DNS
    /// lookup that got no `NOERROR`, or a process that exited non-zero or was killed by a
    /// signal (a crash or a failing job is what a person looks for first). A non-blocking socket's "not yet" is not one: a connect
    /// in progress (`EINPROGRESS`), an accept with nothing waiting (`EAGAIN`) would otherwise
    /// top every count of failures on a server.
    pub fn failed(&self) -> bool {
        match self {
            Details::Dns(dns) => dns.failed(),
            Details::Connect(sock) => sock.ret < 0 && sock.ret != -libc::EINPROGRESS,
            Details::Accept(sock) => sock.ret < 0 && sock.ret != -libc::EAGAIN,
            Details::Exec(exec) => exec.ret < 0,
            Details::Open(open) => open.ret < 0,
            Details::Exit(exit) => exit.failed(),
            Details::OomKill(_) => true,
            Details::Change(change) => change.ret < 0,
            Details::TcpClose(_) | Details::Fork(_) | Details::Signal(_) => false,
        }
    }

    /// A unix socket's address (`@name` when abstract), for `unix` filters.
    pub fn unix_path(&self) -> Option<std::borrow::Cow<'_, [u8]>> {
        match self {
            Details::Connect(sock) | Details::Accept(sock) => sock.unix_path(),
            Details::Exec(_)
            | Details::Open(_)
            | Details::TcpClose(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::Signal(_)
            | Details::OomKill(_)
            | Details::Change(_) => None,
        }
    }

    /// The socket's ends, for `addr` and `port` filters.
    pub fn addrs(&self) -> Option<&SockAddrs> {
        match self {
            Details::Connect(sock) | Details::Accept(sock) => sock.addrs(),
            Details::TcpClose(close) => close.addrs(),
            Details::Dns(dns) => dns.addrs(),
            Details::Exec(_)
            | Details::Open(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Signal(_)
            | Details::OomKill(_)
            | Details::Change(_) => None,
        }
    }

    fn own_text(&mut self) {
        match self {
            Details::Exec(exec) => exec.own_text(),
            Details::Open(open) => open.own_text(),
            Details::OomKill(oom) => oom.own_text(),
            Details::Change(change) => change.own_text(),
            Details::Connect(_)
            | Details::Accept(_)
            | Details::TcpClose(_)
            | Details::Exit(_)
            | Details::Fork(_)
            | Details::Dns(_)
            | Details::Signal(_) => {}
        }
    }
}

// The TUI keeps up to `--max-events` of these: a kind that grows an event past this boxes
// its rarer fields.
const _: () = assert!(size_of::<Event>() <= 224);
