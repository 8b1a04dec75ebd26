//! TCP sessions from `sock:inet_sock_set_state`: when a socket is born its owner and start are
//! kept; when it closes, one record with its duration and byte counts goes to the owner.
//!
//! State changes often run in softirq context, where the current task is unrelated, so the owner
//! is taken where the process is known: the connect (SYN_SENT runs in the caller) or the accept
//! (see [`adopt`]).

use aya_ebpf::programs::TracePointContext;
use ringside_common::{
    AF_INET, COMM_LEN, EventKind, FLAG_BYTES_UNKNOWN, RecordHeader, SockAddrs, TcpCloseRecord,
};

use crate::{
    CONNECT_KSTACK, SOCK_OWNERS, STACK_SCRATCH,
    draft::Draft,
    kernel::{
        StackKind, addrs_pass, capture_stack, config, count_drop, current_ids, fill_header, now_ns,
        passes_filter, passes_filter_for, read_field, read_kernel, wanted,
    },
};

const IPPROTO_TCP: u16 = 6;
const TCP_ESTABLISHED: i32 = 1;
const TCP_SYN_SENT: i32 = 2;
const TCP_SYN_RECV: i32 = 3;
const TCP_CLOSE: i32 = 7;

/// Who a socket belongs to and since when.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct SockOwner {
    born_ns: u64,
    start_ns: u64,
    /// 0 until an accept adopts a passively opened socket.
    pid: u32,
    tid: u32,
    ppid: u32,
    uid: u32,
    /// 1 for a connect, 0 for an accepted socket.
    active: u32,
    _reserved: u32,
    comm: [u8; COMM_LEN],
    cgroup_id: u64,
}

#[inline(always)]
pub fn state_changed(ctx: &TracePointContext) -> u32 {
    let tp = &config().tp;
    if read_field::<u16, _>(ctx, tp.inet_protocol) != Some(IPPROTO_TCP) {
        return 0;
    }
    let (Some(sock), Some(oldstate), Some(newstate)) = (
        read_field::<u64, _>(ctx, tp.inet_skaddr),
        read_field::<i32, _>(ctx, tp.inet_oldstate),
        read_field::<i32, _>(ctx, tp.inet_newstate),
    ) else {
        return 0;
    };
    match newstate {
        TCP_SYN_SENT => connecting(ctx, sock),
        TCP_ESTABLISHED if oldstate == TCP_SYN_RECV => born_passive(sock),
        TCP_CLOSE => closed(ctx, sock, oldstate),
        _ => {}
    }
    0
}

/// An active open runs in the connecting process: it is the owner.
#[inline(always)]
fn connecting(ctx: &TracePointContext, sock: u64) {
    let (pid, _) = current_ids();
    if !passes_filter(pid) {
        return;
    }
    let mut header = empty_header();
    // SAFETY: `header` is a local, valid for writes.
    unsafe { fill_header(&raw mut header, EventKind::Connect.wire(), 0) };
    let mut owner = owner_from(&header, header.ts_ns);
    owner.active = 1;
    let _ = SOCK_OWNERS.insert(sock, owner, 0);
    stash_connect_stack(ctx, header.tid);
}

/// Keeps the kernel stack of this moment (inside tcp_v4_connect / tcp_v6_connect) for the
/// connect record, which is written when the syscall returns.
#[inline(always)]
fn stash_connect_stack(ctx: &TracePointContext, tid: u32) {
    if !wanted(EventKind::Connect.wire()) {
        return;
    }
    let Some(scratch) = STACK_SCRATCH.get_ptr_mut(0) else {
        return;
    };
    // SAFETY: `scratch` is this CPU's map value, one Stack; programs do not migrate while running.
    unsafe {
        capture_stack(ctx, scratch, StackKind::Kernel);
        if (*scratch).head.bytes > 0 {
            let _ = CONNECT_KSTACK.insert(tid, &*scratch, 0);
        }
    }
}

/// A passive open completes in softirq: start the clock, the owner comes with the accept.
#[inline(always)]
fn born_passive(sock: u64) {
    let mut owner = owner_from(&empty_header(), now_ns());
    owner.pid = 0;
    let _ = SOCK_OWNERS.insert(sock, owner, 0);
}

/// Called by a successful accept with the new socket and the accepting process.
#[inline(always)]
pub fn adopt(sock: u64, header: &RecordHeader) {
    // SAFETY: the value is copied out at once.
    let known = unsafe { SOCK_OWNERS.get(sock) }.copied();
    let mut owner = owner_from(header, known.map_or(header.ts_ns, |owner| owner.born_ns));
    owner.active = known.map_or(0, |owner| owner.active);
    let _ = SOCK_OWNERS.insert(sock, owner, 0);
}

#[inline(always)]
fn closed(ctx: &TracePointContext, sock: u64, oldstate: i32) {
    // SAFETY: the value is copied out at once.
    let Some(owner) = (unsafe { SOCK_OWNERS.get(sock) }).copied() else {
        return;
    };
    let _ = SOCK_OWNERS.remove(sock);
    if !wanted(EventKind::TcpClose.wire())
        || owner.pid == 0
        || !passes_filter_for(owner.pid, &owner.comm, owner.cgroup_id)
    {
        return;
    }
    let addrs = addresses(ctx);
    if !addrs_pass(&addrs) {
        return;
    }
    let Some((mut draft, record)) = Draft::start::<TcpCloseRecord>() else {
        count_drop(EventKind::TcpClose.wire());
        return;
    };
    let k = &config().kernel;
    let tx = read_kernel::<u64>(sock, k.tcp_bytes_acked);
    let rx = read_kernel::<u64>(sock, k.tcp_bytes_received);
    let flags = if tx.is_some() && rx.is_some() {
        0
    } else {
        FLAG_BYTES_UNKNOWN
    };
    let kstack = draft.push_stack(ctx, StackKind::Kernel);
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::TcpClose.wire(), flags);
        let header = &raw mut (*record).header;
        (*header).pid = owner.pid;
        (*header).tid = owner.tid;
        (*header).ppid = owner.ppid;
        (*header).uid = owner.uid;
        (*header).start_ns = owner.start_ns;
        (*header).comm = owner.comm;
        (*header).cgroup_id = owner.cgroup_id;
        (*record).addrs = addrs;
        (*record).duration_ns = (*header).ts_ns.saturating_sub(owner.born_ns);
        (*record).tx_bytes = tx.unwrap_or(0);
        (*record).rx_bytes = rx.unwrap_or(0);
        (*record).oldstate = oldstate as u32;
        (*record).opened_actively = owner.active;
        (*record).kstack = kstack;
    }
    draft.send(EventKind::TcpClose.wire());
}

/// The connection's ends from the tracepoint record (ports there are host order already).
#[inline(always)]
fn addresses(ctx: &TracePointContext) -> SockAddrs {
    let tp = &config().tp;
    let family = read_field::<u16, _>(ctx, tp.inet_family).unwrap_or(0);
    let mut addrs = SockAddrs {
        family,
        lport: read_field::<u16, _>(ctx, tp.inet_sport).unwrap_or(0),
        rport: read_field::<u16, _>(ctx, tp.inet_dport).unwrap_or(0),
        _reserved: 0,
        laddr: [0; 16],
        raddr: [0; 16],
    };
    if family == AF_INET {
        let local = read_field::<[u8; 4], _>(ctx, tp.inet_saddr).unwrap_or([0; 4]);
        let remote = read_field::<[u8; 4], _>(ctx, tp.inet_daddr).unwrap_or([0; 4]);
        addrs.laddr[..4].copy_from_slice(&local);
        addrs.raddr[..4].copy_from_slice(&remote);
    } else {
        addrs.laddr = read_field::<[u8; 16], _>(ctx, tp.inet_saddr_v6).unwrap_or([0; 16]);
        addrs.raddr = read_field::<[u8; 16], _>(ctx, tp.inet_daddr_v6).unwrap_or([0; 16]);
    }
    addrs
}

#[inline(always)]
fn owner_from(header: &RecordHeader, born_ns: u64) -> SockOwner {
    SockOwner {
        born_ns,
        start_ns: header.start_ns,
        pid: header.pid,
        tid: header.tid,
        ppid: header.ppid,
        uid: header.uid,
        active: 0,
        _reserved: 0,
        comm: header.comm,
        cgroup_id: header.cgroup_id,
    }
}

#[inline(always)]
pub fn empty_header() -> RecordHeader {
    RecordHeader {
        kind: 0,
        flags: 0,
        cpu: 0,
        ts_ns: 0,
        pid: 0,
        tid: 0,
        ppid: 0,
        uid: 0,
        start_ns: 0,
        comm: [0; COMM_LEN],
        cgroup_id: 0,
    }
}
