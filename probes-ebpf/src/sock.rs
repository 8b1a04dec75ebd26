//! `connect` on a socket of any family and TCP `accept`/`accept4`: arguments kept at entry, one
//! record at exit with the result, the addresses and the caller's user stack.
//!
//! Every connect is reported, whatever its family or result, so that connects per process agree
//! with a count of `sys_enter_connect`. The remote address of a connect comes from the caller's
//! sockaddr (a unix socket's path, too); everything else is read from the socket itself (fd
//! table -> file -> socket -> sock), with offsets from kernel BTF.

use core::mem::offset_of;

use aya_ebpf::{helpers::bpf_probe_read_user, programs::TracePointContext};
use ringside_common::{
    AF_INET, AF_INET6, AF_UNIX, EventKind, FLAG_DIR_DELETED, FLAG_DIR_PARTIAL,
    FLAG_LOCAL_ADDR_UNKNOWN, FLAG_REMOTE_ADDR_UNKNOWN, SockAddrs, SockRecord, StackHead,
    UNIX_PATH_LEN,
};

use crate::{
    CONNECT_KSTACK, SOCK_PENDING,
    draft::{Draft, StackKind},
    kernel::{
        addrs_pass, config, count_drop, current_ids, file_of_fd, fill_header, now_ns,
        passes_filter, read_field, read_kernel, wanted,
    },
    paths::{AT_FDCWD, Finish, Walk, is_relative, send_with_walk},
    tcp,
};

const SOCK_STREAM: u16 = 1;
/// Where `sun_path` starts in a `sockaddr_un`, after `sun_family`.
const SUN_PATH_OFFSET: u32 = 2;
const EAGAIN: i64 = 11;
const EBADF: i64 = 9;
const ENOTSOCK: i64 = 88;

#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Variant {
    Connect,
    Accept,
    Accept4,
}

/// What the entry saw, kept until the exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SockPending {
    ts_ns: u64,
    /// The caller's sockaddr (connect: the destination; accept: where the peer is written).
    sockaddr: u64,
    fd: i32,
    /// The wire value of `EventKind::Connect` or `EventKind::Accept`.
    kind: u16,
    /// connect: the destination's family, read at entry; 0 when unreadable.
    family: u16,
    /// connect: the length of the caller's sockaddr.
    addrlen: u32,
    _reserved: u32,
}

#[inline(always)]
pub fn enter(ctx: &TracePointContext, variant: Variant) -> u32 {
    let (pid, tid) = current_ids();
    if !passes_filter(pid) {
        return 0;
    }
    let tp = &config().tp;
    let (fd_offset, sockaddr_offset, kind) = match variant {
        Variant::Connect => (
            tp.connect_fd,
            tp.connect_uservaddr,
            EventKind::Connect.wire(),
        ),
        Variant::Accept => (tp.accept_fd, tp.accept_sockaddr, EventKind::Accept.wire()),
        Variant::Accept4 => (tp.accept4_fd, tp.accept4_sockaddr, EventKind::Accept.wire()),
    };
    let (Some(fd), Some(sockaddr)) = (
        read_field::<u64, _>(ctx, fd_offset),
        read_field::<u64, _>(ctx, sockaddr_offset),
    ) else {
        return 0;
    };
    let (family, addrlen) = if kind == EventKind::Connect.wire() {
        // SAFETY: bpf_probe_read_user checks the user address and fails instead of faulting.
        let family = unsafe { bpf_probe_read_user(sockaddr as *const u16) }.unwrap_or(0);
        let addrlen = read_field::<u64, _>(ctx, tp.connect_addrlen).unwrap_or(0);
        (family, addrlen as u32)
    } else {
        (0, 0)
    };
    let pending = SockPending {
        ts_ns: now_ns(),
        sockaddr,
        fd: fd as i32,
        kind,
        family,
        addrlen,
        _reserved: 0,
    };
    if SOCK_PENDING.insert(tid, pending, 0).is_err() {
        count_drop(kind);
    }
    0
}

/// `kind` is a constant per program (connect or accept), so the branches on it are resolved at
/// compile time.
#[inline(always)]
pub fn exit(ctx: &TracePointContext, kind: u16) -> u32 {
    let (_, tid) = current_ids();
    // SAFETY: the value is copied out at once; only this thread writes its own entry.
    let Some(pending) = (unsafe { SOCK_PENDING.get(tid) }).copied() else {
        return 0;
    };
    let _ = SOCK_PENDING.remove(tid);
    if pending.kind != kind {
        return 0;
    }
    let ret = read_field::<i64, _>(ctx, config().tp.sys_exit_ret).unwrap_or(0);
    if kind == EventKind::Accept.wire() && ret == -EAGAIN {
        // A non-blocking accept with nothing waiting: no connection, no event.
        return 0;
    }
    let Some(found) = describe(&pending, kind, ret) else {
        return 0;
    };
    // The session's owner is known from here on, whether or not the accept itself is
    // reported or fits in the ring buffer: its tcp_close depends on it.
    if kind == EventKind::Accept.wire() && ret >= 0 && found.sock != 0 {
        let mut header = tcp::empty_header();
        // SAFETY: `header` is a local, valid for writes.
        unsafe { fill_header(&raw mut header, EventKind::Accept.wire(), 0) };
        tcp::adopt(found.sock, &header);
    }
    if !wanted(kind) || !addrs_pass(&found.addrs) {
        return 0;
    }
    let snapshot = crate::user_stack::send();
    let Some((mut draft, record)) = Draft::start::<SockRecord>() else {
        count_drop(kind);
        if kind == EventKind::Connect.wire() {
            let (_, tid) = current_ids();
            let _ = CONNECT_KSTACK.remove(tid);
        }
        return 0;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let kstack = take_connect_stack(&mut draft, kind);
    let path_at = draft.len();
    let unix_path_len = push_unix_path(&mut draft, &pending, &found);
    // A unix socket's relative path starts from the cwd (an abstract name starts with NUL).
    let first = draft.byte_at(path_at);
    let relative =
        kind == EventKind::Connect.wire() && unix_path_len > 0 && first != 0 && is_relative(first);
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, kind, found.flags);
        (*record).ret = ret as i32;
        (*record).fd = pending.fd;
        (*record).addrs = found.addrs;
        (*record).latency_ns = (*record).header.ts_ns.saturating_sub(pending.ts_ns);
        (*record).ustack = ustack;
        (*record).kstack = kstack;
        (*record).proto = found.proto;
        (*record).sock_type = found.sock_type;
        (*record).unix_path_len = unix_path_len;
        (*record).dir_len = 0;
        (*record)._reserved2 = 0;
    }
    if relative {
        let finish = Finish {
            kind,
            dir_len_at: offset_of!(SockRecord, dir_len),
            partial: FLAG_DIR_PARTIAL,
            deleted: FLAG_DIR_DELETED,
        };
        send_with_walk(ctx, draft, Walk::BaseOf(AT_FDCWD), finish);
    } else {
        draft.send(kind);
    }
    0
}

/// Moves the stack stashed at SYN_SENT into the record; none for accepts or failed connects
/// that never reached the TCP layer.
#[inline(always)]
fn take_connect_stack(draft: &mut Draft, kind: u16) -> StackHead {
    if kind != EventKind::Connect.wire() {
        return StackHead::default();
    }
    let (_, tid) = current_ids();
    let Some(stashed) = CONNECT_KSTACK.get_ptr(tid) else {
        return StackHead::default();
    };
    let head = draft.push_taken_stack(stashed);
    let _ = CONNECT_KSTACK.remove(tid);
    head
}

/// A unix connect's destination as the caller passed it, appended to the draft; returns its length
/// (0 for other families, or when it could not be read).
#[inline(always)]
fn push_unix_path(draft: &mut Draft, pending: &SockPending, found: &Found) -> u32 {
    if pending.kind != EventKind::Connect.wire()
        || found.addrs.family != AF_UNIX
        || pending.family != AF_UNIX
        || pending.addrlen <= SUN_PATH_OFFSET
    {
        return 0;
    }
    let len = (pending.addrlen - SUN_PATH_OFFSET).min(UNIX_PATH_LEN as u32);
    let src = pending.sockaddr + u64::from(SUN_PATH_OFFSET);
    if draft.push_user(src, len as usize) {
        len
    } else {
        0
    }
}

/// What the exit learned about the socket.
struct Found {
    addrs: SockAddrs,
    flags: u16,
    /// The `struct sock *`, 0 when unknown.
    sock: u64,
    /// `IPPROTO_*` of an IP socket; 0 when unknown.
    proto: u16,
    /// `SOCK_*`; 0 when unknown.
    sock_type: u16,
}

fn no_addrs(family: u16) -> SockAddrs {
    SockAddrs {
        family,
        lport: 0,
        rport: 0,
        _reserved: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    }
}

#[inline(always)]
fn describe(pending: &SockPending, kind: u16, ret: i64) -> Option<Found> {
    if kind == EventKind::Connect.wire() {
        Some(describe_connect(pending, ret))
    } else {
        describe_accept(pending, ret)
    }
}

/// Whatever can be learned of a connect's socket: every connect is reported, even one on a
/// bad fd or with an unreadable sockaddr.
#[inline(always)]
fn describe_connect(pending: &SockPending, ret: i64) -> Found {
    let mut found = Found {
        addrs: no_addrs(pending.family),
        flags: 0,
        sock: 0,
        proto: 0,
        sock_type: 0,
    };
    let socket = if ret == -EBADF || ret == -ENOTSOCK {
        None
    } else {
        socket_of_fd(pending.fd)
    };
    let k = &config().kernel;
    match socket {
        Some(Socket { sock, sock_type }) => {
            found.sock = sock;
            found.sock_type = sock_type;
            if let Some(family) = read_kernel::<u16>(sock, k.sk_family) {
                found.addrs.family = family;
            }
            if is_ip(found.addrs.family) {
                found.proto = read_kernel::<u16>(sock, k.sk_protocol).unwrap_or(0);
                if read_sock_addrs(sock, &mut found.addrs).is_none() {
                    found.flags |= FLAG_LOCAL_ADDR_UNKNOWN;
                }
            }
        }
        None => found.flags |= FLAG_LOCAL_ADDR_UNKNOWN,
    }
    // The destination as asked (the sock only knows it once the connect went ahead), when the
    // caller's sockaddr is of the socket's family.
    if is_ip(found.addrs.family)
        && (pending.family != found.addrs.family
            || !read_user_remote(pending.sockaddr, &mut found.addrs))
    {
        found.flags |= FLAG_REMOTE_ADDR_UNKNOWN;
    }
    found
}

#[inline(always)]
fn is_ip(family: u16) -> bool {
    family == AF_INET || family == AF_INET6
}

/// Addresses of an accepted connection, or `None` when it is not a TCP connection over IP.
#[inline(always)]
fn describe_accept(pending: &SockPending, ret: i64) -> Option<Found> {
    let mut addrs = no_addrs(pending.family);
    let mut flags = 0;
    // Which socket to look at: the accepted one, or (failed accept) the listener.
    let fd = if ret >= 0 { ret as i32 } else { pending.fd };
    let sock = if ret == -EBADF || ret == -ENOTSOCK {
        None
    } else {
        socket_of_fd(fd)
    };
    match sock {
        Some(Socket { sock, sock_type }) => {
            if sock_type != SOCK_STREAM {
                return None;
            }
            read_sock_addrs(sock, &mut addrs)?;
            if ret < 0 {
                // A failed accept has no peer; what was read is the listener's own address.
                addrs.raddr = [0; 16];
                addrs.rport = 0;
                flags |= FLAG_REMOTE_ADDR_UNKNOWN;
            }
            Some(Found {
                addrs,
                flags,
                sock,
                proto: IPPROTO_TCP,
                sock_type,
            })
        }
        None => {
            // No BTF (or not a socket): fall back to what the caller's sockaddr says.
            flags |= FLAG_LOCAL_ADDR_UNKNOWN;
            if ret < 0 || pending.sockaddr == 0 {
                return None;
            }
            // SAFETY: bpf_probe_read_user checks the user address.
            addrs.family = unsafe { bpf_probe_read_user(pending.sockaddr as *const u16) }.ok()?;
            if !is_ip(addrs.family) {
                return None;
            }
            if !read_user_remote(pending.sockaddr, &mut addrs) {
                flags |= FLAG_REMOTE_ADDR_UNKNOWN;
            }
            Some(Found {
                addrs,
                flags,
                sock: 0,
                proto: 0,
                sock_type: 0,
            })
        }
    }
}

const IPPROTO_TCP: u16 = 6;

struct Socket {
    sock: u64,
    /// `SOCK_*` of the `struct socket`.
    sock_type: u16,
}

/// `current->files->fdt->fd[fd]->private_data` as a `struct socket`, and its `sk`.
#[inline(always)]
fn socket_of_fd(fd: i32) -> Option<Socket> {
    let k = &config().kernel;
    let file = file_of_fd(fd)?;
    let socket = read_kernel::<u64>(file, k.file_private_data)?;
    let socket_type = read_kernel::<u16>(socket, k.socket_type)?;
    let sock = read_kernel::<u64>(socket, k.socket_sk)?;
    Some(Socket {
        sock,
        sock_type: socket_type,
    })
}

/// Both ends as the socket knows them; `None` when it is not an IP socket.
#[inline(always)]
fn read_sock_addrs(sock: u64, addrs: &mut SockAddrs) -> Option<()> {
    let k = &config().kernel;
    let family = read_kernel::<u16>(sock, k.sk_family)?;
    addrs.family = family;
    addrs.lport = read_kernel::<u16>(sock, k.sk_num)?;
    addrs.rport = u16::from_be(read_kernel::<u16>(sock, k.sk_dport)?);
    if family == AF_INET {
        let local = read_kernel::<[u8; 4]>(sock, k.sk_rcv_saddr)?;
        let remote = read_kernel::<[u8; 4]>(sock, k.sk_daddr)?;
        addrs.laddr[..4].copy_from_slice(&local);
        addrs.raddr[..4].copy_from_slice(&remote);
    } else if family == AF_INET6 {
        addrs.laddr = read_kernel::<[u8; 16]>(sock, k.sk_v6_rcv_saddr)?;
        addrs.raddr = read_kernel::<[u8; 16]>(sock, k.sk_v6_daddr)?;
    } else {
        return None;
    }
    Some(())
}

/// The address in a caller's `sockaddr_in` / `sockaddr_in6`; false when unreadable.
#[inline(always)]
fn read_user_remote(sockaddr: u64, addrs: &mut SockAddrs) -> bool {
    if sockaddr == 0 {
        return false;
    }
    let user = |offset: u64| sockaddr + offset;
    // SAFETY: bpf_probe_read_user checks each user address and fails instead of faulting.
    unsafe {
        let Ok(port) = bpf_probe_read_user(user(2) as *const u16) else {
            return false;
        };
        addrs.rport = u16::from_be(port);
        if addrs.family == AF_INET {
            match bpf_probe_read_user(user(4) as *const [u8; 4]) {
                Ok(address) => addrs.raddr[..4].copy_from_slice(&address),
                Err(_) => return false,
            }
        } else {
            match bpf_probe_read_user(user(8) as *const [u8; 16]) {
                Ok(address) => addrs.raddr = address,
                Err(_) => return false,
            }
        }
    }
    true
}
