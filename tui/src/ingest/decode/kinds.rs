//! Each kind's details, read from its record's head and tail sections.

use std::mem::offset_of;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ringside_common::{
    AF_INET, AF_INET6, AF_UNIX, ARGV_LEN, ExecRecord, ExitRecord, FLAG_ARGV_FROM_IMAGE,
    FLAG_ARGV_TRUNCATED, FLAG_ARGV_UNREADABLE, FLAG_BYTES_UNKNOWN, FLAG_LOCAL_ADDR_UNKNOWN,
    FLAG_PATH_TRUNCATED, FLAG_REMOTE_ADDR_UNKNOWN, ForkRecord, OpenRecord, PATH_LEN,
    SockAddrs as WireAddrs, SockRecord, TcpCloseRecord, UNIX_PATH_LEN, open_syscall,
};

use super::DecodeError;
use super::head::Head;
use super::tail::Tail;
use crate::ingest::text_arena::TextArena;
use crate::model::event::{
    Details, EventKind, Exec, Exit, Fork, Open, OpenSyscall, SockAddrs, SockInfo, Socket, TcpClose,
};
use crate::model::tcp::payload_bytes;

/// A kind's details and its kernel stack (the user stack sits where `user_stack_at` says).
type Decoded = (Details, Vec<u64>);

pub fn exec(
    r: &Head<'_>,
    tail: &mut Tail<'_>,
    flags: u16,
    text: &mut TextArena,
) -> Result<Decoded, DecodeError> {
    let filename_len = r.u32(offset_of!(ExecRecord, filename_len)) as usize;
    let argv_len = r.u32(offset_of!(ExecRecord, argv_len)) as usize;
    let filename = tail.take("filename", filename_len, PATH_LEN)?;
    let argv_bytes = tail.take("argv", argv_len, ARGV_LEN)?;
    // Read at entry, `argc` strings; read from the new image, every NUL-ended string (the
    // last one cut short when the image's argv did not fit).
    let argc = if flags & FLAG_ARGV_FROM_IMAGE != 0 {
        let strings = argv_bytes.iter().filter(|&&b| b == 0).count();
        strings + usize::from(argv_bytes.last().is_some_and(|&b| b != 0))
    } else {
        r.u32(offset_of!(ExecRecord, argc)) as usize
    };
    let argv = argv_bytes
        .split(|&b| b == 0)
        .take(argc)
        .map(|arg| text.copy(arg))
        .collect();
    let details = Details::Exec(Exec {
        filename: text.copy(filename),
        filename_truncated: flags & FLAG_PATH_TRUNCATED != 0,
        argv,
        argv_truncated: flags & FLAG_ARGV_TRUNCATED != 0,
        argv_unreadable: flags & FLAG_ARGV_UNREADABLE != 0,
        ret: r.i32(offset_of!(ExecRecord, ret)),
    });
    Ok((details, Vec::new()))
}

pub fn open(
    r: &Head<'_>,
    tail: &mut Tail<'_>,
    flags: u16,
    text: &mut TextArena,
) -> Result<Decoded, DecodeError> {
    let path_len = r.u32(offset_of!(OpenRecord, path_len)) as usize;
    let path = tail.take("path", path_len, PATH_LEN)?;
    let syscall = match r.u32(offset_of!(OpenRecord, syscall)) {
        open_syscall::OPENAT2 => OpenSyscall::Openat2,
        open_syscall::OPEN => OpenSyscall::Open,
        _ => OpenSyscall::Openat,
    };
    let details = Details::Open(Open {
        path: text.copy(path),
        path_truncated: flags & FLAG_PATH_TRUNCATED != 0,
        dfd: r.i32(offset_of!(OpenRecord, dfd)),
        flags: r.u32(offset_of!(OpenRecord, flags)),
        mode: r.u32(offset_of!(OpenRecord, mode)),
        ret: r.i32(offset_of!(OpenRecord, ret)),
        latency_ns: r.u64(offset_of!(OpenRecord, latency_ns)),
        syscall,
    });
    Ok((details, Vec::new()))
}

pub fn sock(
    r: &Head<'_>,
    tail: &mut Tail<'_>,
    kind: EventKind,
    flags: u16,
) -> Result<Decoded, DecodeError> {
    let kstack = tail.frames(r, offset_of!(SockRecord, kstack), "kernel stack")?;
    let unix_addr_len = r.u32(offset_of!(SockRecord, unix_path_len)) as usize;
    let unix_addr = tail.take("unix socket address", unix_addr_len, UNIX_PATH_LEN)?;
    let family = r.u16(offset_of!(SockRecord, addrs) + offset_of!(WireAddrs, family));
    let info = SockInfo {
        addrs: sock_addrs(r, offset_of!(SockRecord, addrs), flags),
        ret: r.i32(offset_of!(SockRecord, ret)),
        fd: r.i32(offset_of!(SockRecord, fd)),
        latency_ns: r.u64(offset_of!(SockRecord, latency_ns)),
        socket: Socket {
            family,
            proto: r.u16(offset_of!(SockRecord, proto)),
            sock_type: r.u16(offset_of!(SockRecord, sock_type)),
            unix_addr: (family == AF_UNIX).then(|| unix_addr.into()),
        },
    };
    let details = if kind == EventKind::Connect {
        Details::Connect(info)
    } else {
        Details::Accept(info)
    };
    Ok((details, kstack))
}

pub fn tcp_close(r: &Head<'_>, tail: &mut Tail<'_>, flags: u16) -> Result<Decoded, DecodeError> {
    let bytes_known = flags & FLAG_BYTES_UNKNOWN == 0;
    let (tx, rx) = payload_bytes(
        r.u64(offset_of!(TcpCloseRecord, tx_bytes)),
        r.u64(offset_of!(TcpCloseRecord, rx_bytes)),
        r.u32(offset_of!(TcpCloseRecord, oldstate)),
        r.u32(offset_of!(TcpCloseRecord, opened_actively)) != 0,
    );
    let details = Details::TcpClose(TcpClose {
        addrs: sock_addrs(r, offset_of!(TcpCloseRecord, addrs), flags),
        duration_ns: r.u64(offset_of!(TcpCloseRecord, duration_ns)),
        tx_bytes: bytes_known.then_some(tx),
        rx_bytes: bytes_known.then_some(rx),
    });
    let kstack = tail.frames(r, offset_of!(TcpCloseRecord, kstack), "kernel stack")?;
    Ok((details, kstack))
}

pub fn exit(r: &Head<'_>, tail: &mut Tail<'_>) -> Result<Decoded, DecodeError> {
    let details = Details::Exit(Exit {
        status: r.i32(offset_of!(ExitRecord, exit_code)),
        lifetime_ns: r.u64(offset_of!(ExitRecord, lifetime_ns)),
    });
    let kstack = tail.frames(r, offset_of!(ExitRecord, kstack), "kernel stack")?;
    Ok((details, kstack))
}

pub fn fork(r: &Head<'_>, tail: &mut Tail<'_>) -> Result<Decoded, DecodeError> {
    let details = Details::Fork(Fork {
        child_pid: r.u32(offset_of!(ForkRecord, child_pid)),
        clone_flags: r.u64(offset_of!(ForkRecord, clone_flags)),
    });
    let kstack = tail.frames(r, offset_of!(ForkRecord, kstack), "kernel stack")?;
    Ok((details, kstack))
}

pub fn sock_addrs(r: &Head<'_>, base: usize, flags: u16) -> SockAddrs {
    let at = |field: usize| base + field;
    let family = r.u16(at(offset_of!(WireAddrs, family)));
    let ip = |offset: usize| -> Option<IpAddr> {
        let bytes = r.bytes(at(offset), 16);
        match family {
            AF_INET => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()),
            AF_INET6 => <[u8; 16]>::try_from(bytes)
                .ok()
                .map(|b| Ipv6Addr::from(b).into()),
            _ => None,
        }
    };
    let local = ip(offset_of!(WireAddrs, laddr))
        .map(|addr| (addr, r.u16(at(offset_of!(WireAddrs, lport)))))
        .filter(|_| flags & FLAG_LOCAL_ADDR_UNKNOWN == 0);
    let remote = ip(offset_of!(WireAddrs, raddr))
        .map(|addr| (addr, r.u16(at(offset_of!(WireAddrs, rport)))))
        .filter(|_| flags & FLAG_REMOTE_ADDR_UNKNOWN == 0);
    SockAddrs { local, remote }
}

/// The bytes of a NUL-terminated kernel string.
pub fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}
