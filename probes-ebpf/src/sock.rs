//! TCP `connect` and `accept`/`accept4`: arguments kept at entry, one record at exit with the
//! result, both addresses and the caller's user stack.
//!
//! The remote address of a connect comes from the caller's sockaddr; everything else is read from
//! the socket itself (fd table -> file -> socket -> sock), with offsets from kernel BTF.

use aya_ebpf::{helpers::bpf_probe_read_user, programs::TracePointContext};
use ringside_common::{
    AF_INET, AF_INET6, EventKind, FLAG_LOCAL_ADDR_UNKNOWN, FLAG_REMOTE_ADDR_UNKNOWN, SockAddrs,
    SockRecord, StackHead,
};

use crate::{
    CONNECT_KSTACK, SOCK_PENDING,
    draft::{Draft, StackKind},
    kernel::{
        addrs_pass, config, count_drop, current_ids, current_task, fill_header, now_ns,
        passes_filter, read_field, read_kernel, wanted,
    },
    tcp,
};

const SOCK_STREAM: u16 = 1;
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
    /// connect: the destination's family, read at entry.
    family: u16,
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
    // Unix-domain connects are far more common than TCP ones: drop them here, cheaply.
    let family = if kind == EventKind::Connect.wire() {
        // SAFETY: bpf_probe_read_user checks the user address and fails instead of faulting.
        let family = unsafe { bpf_probe_read_user(sockaddr as *const u16) }.unwrap_or(0);
        if family != AF_INET && family != AF_INET6 {
            return 0;
        }
        family
    } else {
        0
    };
    let pending = SockPending {
        ts_ns: now_ns(),
        sockaddr,
        fd: fd as i32,
        kind,
        family,
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
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, kind, found.flags);
        (*record).ret = ret as i32;
        (*record).fd = pending.fd;
        (*record).addrs = found.addrs;
        (*record).latency_ns = (*record).header.ts_ns.saturating_sub(pending.ts_ns);
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(kind);
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

/// What the exit learned about the connection.
struct Found {
    addrs: SockAddrs,
    flags: u16,
    /// The `struct sock *`, 0 when unknown.
    sock: u64,
}

/// Addresses of the connection, or `None` when it is not a TCP connection over IP.
#[inline(always)]
fn describe(pending: &SockPending, kind: u16, ret: i64) -> Option<Found> {
    let mut addrs = SockAddrs {
        family: pending.family,
        lport: 0,
        rport: 0,
        _reserved: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    };
    let mut flags = 0;
    // Which socket to look at: connect's, the accepted one, or (failed accept) the listener.
    let fd = if kind == EventKind::Accept.wire() && ret >= 0 {
        ret as i32
    } else {
        pending.fd
    };
    let sock = if ret == -EBADF || ret == -ENOTSOCK {
        None
    } else {
        stream_sock_of_fd(fd)
    };
    match sock {
        Some(Socket { sock, stream }) => {
            if !stream {
                return None;
            }
            read_sock_addrs(sock, &mut addrs)?;
            if kind == EventKind::Connect.wire() {
                // The destination as asked; the sock only knows it once the connect went ahead.
                read_user_remote(pending.sockaddr, &mut addrs);
            } else if ret < 0 {
                // A failed accept has no peer; what was read is the listener's own address.
                addrs.raddr = [0; 16];
                addrs.rport = 0;
                flags |= FLAG_REMOTE_ADDR_UNKNOWN;
            }
            Some(Found { addrs, flags, sock })
        }
        None => {
            // No BTF (or not a socket): fall back to what the caller's sockaddr says.
            flags |= FLAG_LOCAL_ADDR_UNKNOWN;
            if kind == EventKind::Accept.wire() {
                if ret < 0 || pending.sockaddr == 0 {
                    return None;
                }
                // SAFETY: bpf_probe_read_user checks the user address.
                addrs.family =
                    unsafe { bpf_probe_read_user(pending.sockaddr as *const u16) }.ok()?;
            }
            if addrs.family != AF_INET && addrs.family != AF_INET6 {
                return None;
            }
            if !read_user_remote(pending.sockaddr, &mut addrs) {
                flags |= FLAG_REMOTE_ADDR_UNKNOWN;
            }
            Some(Found {
                addrs,
                flags,
                sock: 0,
            })
        }
    }
}

struct Socket {
    sock: u64,
    stream: bool,
}

/// `current->files->fdt->fd[fd]->private_data` as a `struct socket`, and its `sk`.
#[inline(always)]
fn stream_sock_of_fd(fd: i32) -> Option<Socket> {
    let k = &config().kernel;
    let files = read_kernel::<u64>(current_task(), k.task_files)?;
    let fdt = read_kernel::<u64>(files, k.files_fdt)?;
    let max_fds = read_kernel::<u32>(fdt, k.fdtable_max_fds)?;
    if fd < 0 || fd as u32 >= max_fds {
        return None;
    }
    let fds = read_kernel::<u64>(fdt, k.fdtable_fd)?;
    let file = read_kernel::<u64>(fds, fd as u32 * 8)?;
    let socket = read_kernel::<u64>(file, k.file_private_data)?;
    let socket_type = read_kernel::<u16>(socket, k.socket_type)?;
    let sock = read_kernel::<u64>(socket, k.socket_sk)?;
    Some(Socket {
        sock,
        stream: socket_type == SOCK_STREAM,
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
