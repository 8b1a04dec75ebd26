//! Each kind's details, read from its record's head (the `ringside_common` struct) and tail.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ringside_common::{
    AF_INET, AF_INET6, AF_UNIX, ARGV_LEN, ExecRecord, ExitRecord, FLAG_ARGV_FROM_IMAGE,
    FLAG_ARGV_TRUNCATED, FLAG_ARGV_UNREADABLE, FLAG_BYTES_UNKNOWN, FLAG_DIR_DELETED,
    FLAG_DIR_PARTIAL, FLAG_LOCAL_ADDR_UNKNOWN, FLAG_PATH_TRUNCATED, FLAG_REMOTE_ADDR_UNKNOWN,
    ForkRecord, OpenRecord, PATH_LEN, SockAddrs as WireAddrs, SockRecord, StackHead,
    TcpCloseRecord, UNIX_PATH_LEN, open_syscall, user_stack,
};

use super::DecodeError;
use super::head;
use super::tail::Tail;
use crate::ingest::text_arena::TextArena;
use crate::model::event::{
    AbsPath, Details, DirState, EventKind, Exec, Exit, Fork, Open, OpenSyscall, SockAddrs,
    SockInfo, Socket, TcpClose, UnixAddr,
};
use crate::model::tcp::payload_bytes;

/// What a kind's record holds besides its [`ringside_common::RecordHeader`].
pub struct Decoded {
    pub details: Details,
    pub ustack: Vec<u64>,
    pub kstack: Vec<u64>,
    /// The user stack's [`ringside_common::StackHead::snapshot`]: which copy goes with the
    /// event, or why none does.
    pub snapshot: u32,
    /// When the stacks were taken, if not at the event's own time.
    pub stack_ns: Option<u64>,
}

impl Decoded {
    /// The details with the user and kernel stacks that follow the head, nothing else in
    /// the tail before them.
    pub(super) fn with_stacks(
        details: Details,
        tail: &mut Tail<'_>,
        ustack: &StackHead,
        kstack: &StackHead,
    ) -> Result<Self, DecodeError> {
        Ok(Decoded {
            ustack: tail.frames(ustack, "user stack")?,
            kstack: tail.frames(kstack, "kernel stack")?,
            snapshot: ustack.snapshot,
            ..Decoded::new(details)
        })
    }

    pub(super) fn new(details: Details) -> Self {
        Self {
            details,
            ustack: Vec::new(),
            kstack: Vec::new(),
            snapshot: user_stack::NONE,
            stack_ns: None,
        }
    }
}

// Sections come in the order the probes write them: the user stack first.

pub fn exec(bytes: &[u8], text: &mut TextArena) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<ExecRecord>(bytes, EventKind::Exec.name())?;
    let flags = r.header.flags;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let filename = tail.take("filename", r.filename_len as usize, PATH_LEN)?;
    let argv_bytes = tail.take("argv", r.argv_len as usize, ARGV_LEN)?;
    let dir = tail.take("directory", r.dir_len as usize, DIR_MAX)?;
    // Read at entry, `argc` strings; read from the new image, every NUL-ended string (the
    // last one cut short when the image's argv did not fit).
    let argc = if flags & FLAG_ARGV_FROM_IMAGE != 0 {
        let strings = argv_bytes.iter().filter(|&&b| b == 0).count();
        strings + usize::from(argv_bytes.last().is_some_and(|&b| b != 0))
    } else {
        r.argc as usize
    };
    let argv = argv_bytes
        .split(|&b| b == 0)
        .take(argc)
        .map(|arg| text.copy(arg))
        .collect();
    let details = Details::Exec(Exec {
        filename: text.copy(filename),
        filename_truncated: flags & FLAG_PATH_TRUNCATED != 0,
        abs_filename: abs_path(dir, filename, dir_state(flags)),
        argv,
        argv_truncated: flags & FLAG_ARGV_TRUNCATED != 0,
        argv_unreadable: flags & FLAG_ARGV_UNREADABLE != 0,
        ret: r.ret,
    });
    Ok(Decoded {
        ustack,
        snapshot: r.ustack.snapshot,
        // Taken at the exec's entry, in the image it replaces.
        stack_ns: Some(r.stack_ns),
        ..Decoded::new(details)
    })
}

pub fn open(bytes: &[u8], text: &mut TextArena) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<OpenRecord>(bytes, EventKind::Open.name())?;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let path = tail.take("path", r.path_len as usize, PATH_LEN)?;
    let dir = tail.take("directory", r.dir_len as usize, DIR_MAX)?;
    let syscall = match r.syscall {
        open_syscall::OPENAT2 => OpenSyscall::Openat2,
        open_syscall::OPEN => OpenSyscall::Open,
        _ => OpenSyscall::Openat,
    };
    let details = Details::Open(Open {
        path: text.copy(path),
        path_truncated: r.header.flags & FLAG_PATH_TRUNCATED != 0,
        abs_path: abs_path(dir, path, dir_state(r.header.flags)),
        dfd: r.dfd,
        flags: r.flags,
        mode: r.mode,
        ret: r.ret,
        latency_ns: r.latency_ns,
        syscall,
    });
    Ok(Decoded {
        ustack,
        snapshot: r.ustack.snapshot,
        ..Decoded::new(details)
    })
}

pub fn sock(bytes: &[u8], kind: EventKind) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<SockRecord>(bytes, kind.name())?;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let kstack = tail.frames(&r.kstack, "kernel stack")?;
    let unix_addr = tail.take(
        "unix socket address",
        r.unix_path_len as usize,
        UNIX_PATH_LEN,
    )?;
    let dir = tail.take("directory", r.dir_len as usize, DIR_MAX)?;
    let family = r.addrs.family;
    let unix_abs_path = (family == AF_UNIX && unix_addr.first().is_some_and(|&b| b != 0))
        .then(|| {
            let end = unix_addr
                .iter()
                .position(|&b| b == 0)
                .unwrap_or(unix_addr.len());
            abs_path(dir, &unix_addr[..end], dir_state(r.header.flags))
        })
        .flatten();
    let info = SockInfo {
        addrs: sock_addrs(&r.addrs, r.header.flags),
        ret: r.ret,
        fd: r.fd,
        latency_ns: r.latency_ns,
        socket: Socket {
            family,
            proto: r.proto,
            sock_type: r.sock_type,
            unix_addr: (family == AF_UNIX).then(|| {
                Box::new(UnixAddr {
                    addr: unix_addr.into(),
                    abs_path: unix_abs_path.map(|abs| *abs),
                })
            }),
        },
    };
    let details = if kind == EventKind::Connect {
        Details::Connect(info)
    } else {
        Details::Accept(info)
    };
    Ok(Decoded {
        ustack,
        kstack,
        snapshot: r.ustack.snapshot,
        ..Decoded::new(details)
    })
}

pub fn tcp_close(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<TcpCloseRecord>(bytes, EventKind::TcpClose.name())?;
    let flags = r.header.flags;
    let bytes_known = flags & FLAG_BYTES_UNKNOWN == 0;
    let (tx, rx) = payload_bytes(r.tx_bytes, r.rx_bytes, r.oldstate, r.opened_actively != 0);
    let details = Details::TcpClose(TcpClose {
        addrs: sock_addrs(&r.addrs, flags),
        duration_ns: r.duration_ns,
        tx_bytes: bytes_known.then_some(tx),
        rx_bytes: bytes_known.then_some(rx),
    });
    Ok(Decoded {
        kstack: tail.frames(&r.kstack, "kernel stack")?,
        ..Decoded::new(details)
    })
}

pub fn exit(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<ExitRecord>(bytes, EventKind::Exit.name())?;
    let details = Details::Exit(Exit {
        status: r.exit_code,
        lifetime_ns: r.lifetime_ns,
    });
    Decoded::with_stacks(details, &mut tail, &r.ustack, &r.kstack)
}

pub fn fork(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<ForkRecord>(bytes, EventKind::Fork.name())?;
    let details = Details::Fork(Fork {
        child_pid: r.child_pid,
        clone_flags: r.clone_flags,
    });
    Decoded::with_stacks(details, &mut tail, &r.ustack, &r.kstack)
}

pub fn sock_addrs(addrs: &WireAddrs, flags: u16) -> SockAddrs {
    let ip = |bytes: &[u8; 16]| -> Option<IpAddr> {
        match addrs.family {
            AF_INET => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()),
            AF_INET6 => Some(Ipv6Addr::from(*bytes).into()),
            _ => None,
        }
    };
    let local = ip(&addrs.laddr)
        .map(|addr| (addr, addrs.lport))
        .filter(|_| flags & FLAG_LOCAL_ADDR_UNKNOWN == 0);
    let remote = ip(&addrs.raddr)
        .map(|addr| (addr, addrs.rport))
        .filter(|_| flags & FLAG_REMOTE_ADDR_UNKNOWN == 0);
    SockAddrs { local, remote }
}

/// The most bytes of a directory in a tail.
pub const DIR_MAX: usize = ringside_common::DIR_TAIL_MAX;

/// A relative path made absolute with the directory the probes named for it (an empty one
/// is the root, or nothing at all when it is partial).
pub fn abs_path(dir: &[u8], given: &[u8], state: DirState) -> Option<Box<AbsPath>> {
    let relative = !given.is_empty() && given[0] != b'/';
    relative.then(|| Box::new(AbsPath::join(dir, given, state)))
}

/// How much of a record's (first) directory the probes named.
pub fn dir_state(flags: u16) -> DirState {
    DirState::of(flags, FLAG_DIR_PARTIAL, FLAG_DIR_DELETED)
}

/// The bytes of a NUL-terminated kernel string.
pub fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}
