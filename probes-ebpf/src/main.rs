//! ringside's kernel side: tracepoint programs that write one ring-buffer record per event.
//!
//! This file holds the maps, the configuration global and one-line entry points; the work lives
//! in one module per probe family. Field offsets come from userspace (tracefs `format` files and
//! kernel BTF) because Rust eBPF has no CO-RE relocations.
#![no_std]
#![no_main]

mod cgroup;
mod changes;
mod dns;
mod draft;
mod exec;
mod kernel;
mod oom;
mod open;
mod paths;
mod process;
mod signal;
mod sock;
mod tcp;
mod user_stack;

use aya_ebpf::{
    bindings::BPF_F_NO_PREALLOC,
    macros::{map, raw_tracepoint, tracepoint},
    maps::{Array, HashMap, LpmTrie, LruHashMap, PerCpuArray, ProgramArray, RingBuf},
    programs::{RawTracePointContext, TracePointContext},
};
use ringside_common::{COMM_LEN, EventKind, KIND_SLOTS, ProbeConfig, Stack, change_syscall};

use crate::{
    changes::{ChangePending, WalkedDir},
    draft::RecordScratch,
    exec::{ExecPending, ExecScratch},
    open::OpenPending,
    paths::WalkRequest,
    sock::SockPending,
    tcp::SockOwner,
    user_stack::UserStackScratch,
};

/// Set by the loader (`override_global`); read through [`kernel::config`].
#[unsafe(no_mangle)]
static CONFIG: ProbeConfig = unsafe { core::mem::zeroed() };

/// Every event, one record each. Userspace resizes it (`--ring-size`) before loading.
#[map]
static EVENTS: RingBuf = RingBuf::with_byte_size(16 * 1024 * 1024, 0);

/// Index 0 is 1 while ringside's reader sleeps with no timer (the ring stayed empty): the next
/// record wakes it. Userspace sets and clears it.
#[map]
static READER_ASLEEP: Array<u32> = Array::with_max_entries(1, 0);

/// Records lost, per CPU and per event kind: a full ring buffer or a full pending map.
#[map]
static DROPS: PerCpuArray<u64> = PerCpuArray::with_max_entries(KIND_SLOTS, 0);

/// `FILTER_*` bits at index 0; userspace changes it while the probes run.
#[map]
static FILTER_MODE: Array<u32> = Array::with_max_entries(1, 0);
/// Process ids to trace when `FILTER_PID` is set.
#[map]
static FILTER_PIDS: HashMap<u32, u8> = HashMap::with_max_entries(16384, 0);
/// Command names to trace when `FILTER_COMM` is set.
#[map]
static FILTER_COMMS: HashMap<[u8; COMM_LEN], u8> = HashMap::with_max_entries(256, 0);

/// cgroup v2 ids to trace when `FILTER_CGROUP` is set; cgroups made under one join it.
#[map]
static FILTER_CGROUPS: HashMap<u64, u8> = HashMap::with_max_entries(16384, 0);

/// Address prefixes to trace when `FILTER_ADDR` is set (IPv4-mapped IPv6 prefixes included).
#[map]
static FILTER_NETS_V4: LpmTrie<[u8; 4], u8> = LpmTrie::with_max_entries(1024, 0);
#[map]
static FILTER_NETS_V6: LpmTrie<[u8; 16], u8> = LpmTrie::with_max_entries(1024, 0);

/// An open in progress, by thread id, from its entry to its exit.
#[map]
static OPEN_PENDING: HashMap<u32, OpenPending> = HashMap::with_max_entries(16384, 0);
/// A change to a file in progress, by thread id.
#[map]
static CHANGE_PENDING: HashMap<u32, ChangePending> = HashMap::with_max_entries(16384, 0);
/// The second directory of a change in progress (renameat/linkat with two dirfds), walked at
/// its entry, by thread id.
#[map]
static CHANGE_DIR2: HashMap<u32, WalkedDir> = HashMap::with_max_entries(1024, BPF_F_NO_PREALLOC);
/// Where that directory is walked.
#[map]
static DIR_SCRATCH: PerCpuArray<RecordScratch> = PerCpuArray::with_max_entries(1, 0);
/// A connect or accept in progress, by thread id.
#[map]
static SOCK_PENDING: HashMap<u32, SockPending> = HashMap::with_max_entries(16384, 0);
/// An exec in progress, by thread id: argv must be read before the old image is gone.
/// Values are large, so they are allocated on use.
#[map]
static EXEC_PENDING: HashMap<u32, ExecPending> = HashMap::with_max_entries(4096, BPF_F_NO_PREALLOC);
/// The kernel stack of a connect's SYN_SENT transition, by thread id, until the connect returns.
#[map]
static CONNECT_KSTACK: HashMap<u32, Stack> = HashMap::with_max_entries(4096, 0);
/// Where a kernel stack is taken before it goes into CONNECT_KSTACK.
#[map]
static STACK_SCRATCH: PerCpuArray<Stack> = PerCpuArray::with_max_entries(1, 0);

/// Where every record is assembled before it is copied into the ring at its real length.
#[map]
static RECORD_SCRATCH: PerCpuArray<RecordScratch> = PerCpuArray::with_max_entries(1, 0);
/// Where a DNS query's record is assembled: packets can be sent from softirq, in the middle of
/// a tracepoint program's record in RECORD_SCRATCH.
#[map]
static DNS_SCRATCH: PerCpuArray<RecordScratch> = PerCpuArray::with_max_entries(1, 0);
/// Where an exec's entry is read: too large for the 512-byte eBPF stack.
#[map]
static EXEC_SCRATCH: PerCpuArray<ExecScratch> = PerCpuArray::with_max_entries(1, 0);
/// What `walk_dir` is asked to finish: the record in this CPU's RECORD_SCRATCH.
#[map]
static WALK_REQUEST: PerCpuArray<WalkRequest> = PerCpuArray::with_max_entries(1, 0);
/// `walk_dir`, at index 0: records that name a directory are finished there, a program of its
/// own, so that the walk is verified once and apart from every probe that needs it.
#[map]
static WALKS: ProgramArray = ProgramArray::with_max_entries(1, 0);
/// Where a user stack copy is assembled, one value per CPU (indexed by CPU number): too large
/// for a per-CPU array. Userspace sets the number of entries to the number of possible CPUs.
#[map]
static USER_STACK_SCRATCH: Array<UserStackScratch> = Array::with_max_entries(1, 0);
/// Who owns each TCP socket and since when, by `struct sock` address; LRU so that sockets whose
/// close was never seen cannot fill it.
#[map]
static SOCK_OWNERS: LruHashMap<u64, SockOwner> = LruHashMap::with_max_entries(65536, 0);

#[tracepoint]
pub fn sys_enter_execve(ctx: TracePointContext) -> u32 {
    exec::enter(&ctx, exec::Variant::Execve)
}
#[tracepoint]
pub fn sys_enter_execveat(ctx: TracePointContext) -> u32 {
    exec::enter(&ctx, exec::Variant::Execveat)
}
#[tracepoint]
pub fn sched_process_exec(ctx: TracePointContext) -> u32 {
    exec::succeeded(&ctx)
}
#[tracepoint]
pub fn sys_exit_execve(ctx: TracePointContext) -> u32 {
    exec::returned(&ctx)
}

#[tracepoint]
pub fn sys_enter_openat(ctx: TracePointContext) -> u32 {
    open::enter(&ctx, open::Variant::Openat)
}
#[tracepoint]
pub fn sys_enter_openat2(ctx: TracePointContext) -> u32 {
    open::enter(&ctx, open::Variant::Openat2)
}
#[tracepoint]
pub fn sys_enter_open(ctx: TracePointContext) -> u32 {
    open::enter(&ctx, open::Variant::Open)
}
#[tracepoint]
pub fn sys_exit_open(ctx: TracePointContext) -> u32 {
    open::exit(&ctx)
}

#[tracepoint]
pub fn sys_enter_unlink(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::UNLINK)
}
#[tracepoint]
pub fn sys_enter_unlinkat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::UNLINKAT)
}
#[tracepoint]
pub fn sys_enter_rmdir(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::RMDIR)
}
#[tracepoint]
pub fn sys_enter_rename(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::RENAME)
}
#[tracepoint]
pub fn sys_enter_renameat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::RENAMEAT)
}
#[tracepoint]
pub fn sys_enter_renameat2(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::RENAMEAT2)
}
#[tracepoint]
pub fn sys_enter_mkdir(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::MKDIR)
}
#[tracepoint]
pub fn sys_enter_mkdirat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::MKDIRAT)
}
#[tracepoint]
pub fn sys_enter_chmod(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::CHMOD)
}
#[tracepoint]
pub fn sys_enter_fchmod(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FCHMOD)
}
#[tracepoint]
pub fn sys_enter_fchmodat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FCHMODAT)
}
#[tracepoint]
pub fn sys_enter_fchmodat2(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FCHMODAT2)
}
#[tracepoint]
pub fn sys_enter_chown(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::CHOWN)
}
#[tracepoint]
pub fn sys_enter_fchown(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FCHOWN)
}
#[tracepoint]
pub fn sys_enter_lchown(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::LCHOWN)
}
#[tracepoint]
pub fn sys_enter_fchownat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FCHOWNAT)
}
#[tracepoint]
pub fn sys_enter_truncate(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::TRUNCATE)
}
#[tracepoint]
pub fn sys_enter_ftruncate(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::FTRUNCATE)
}
#[tracepoint]
pub fn sys_enter_link(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::LINK)
}
#[tracepoint]
pub fn sys_enter_linkat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::LINKAT)
}
#[tracepoint]
pub fn sys_enter_symlink(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::SYMLINK)
}
#[tracepoint]
pub fn sys_enter_symlinkat(ctx: TracePointContext) -> u32 {
    changes::enter(&ctx, change_syscall::SYMLINKAT)
}
/// Every change's exit: what it was is kept from its entry.
#[tracepoint]
pub fn sys_exit_change(ctx: TracePointContext) -> u32 {
    changes::exit(&ctx)
}

/// Finishes a record with the directory its path starts from (tail-called, never attached).
#[tracepoint]
pub fn walk_dir(ctx: TracePointContext) -> u32 {
    paths::walk_and_send(&ctx)
}

#[tracepoint]
pub fn signal_generate(ctx: TracePointContext) -> u32 {
    signal::generated(&ctx)
}
#[tracepoint]
pub fn mark_victim(ctx: TracePointContext) -> u32 {
    oom::victim_marked(&ctx)
}

#[tracepoint]
pub fn sys_enter_connect(ctx: TracePointContext) -> u32 {
    sock::enter(&ctx, sock::Variant::Connect)
}
#[tracepoint]
pub fn sys_enter_accept(ctx: TracePointContext) -> u32 {
    sock::enter(&ctx, sock::Variant::Accept)
}
#[tracepoint]
pub fn sys_enter_accept4(ctx: TracePointContext) -> u32 {
    sock::enter(&ctx, sock::Variant::Accept4)
}
#[tracepoint]
pub fn sys_exit_connect(ctx: TracePointContext) -> u32 {
    sock::exit(&ctx, EventKind::Connect.wire())
}
#[tracepoint]
pub fn sys_exit_accept(ctx: TracePointContext) -> u32 {
    sock::exit(&ctx, EventKind::Accept.wire())
}

#[tracepoint]
pub fn inet_sock_set_state(ctx: TracePointContext) -> u32 {
    tcp::state_changed(&ctx)
}

#[tracepoint]
pub fn task_newtask(ctx: TracePointContext) -> u32 {
    process::forked(&ctx)
}
#[tracepoint]
pub fn sched_process_exit(ctx: TracePointContext) -> u32 {
    process::exited(&ctx)
}

#[raw_tracepoint(tracepoint = "net_dev_queue")]
pub fn net_dev_queue(ctx: RawTracePointContext) -> u32 {
    dns::sent(&ctx)
}
#[raw_tracepoint(tracepoint = "netif_receive_skb")]
pub fn netif_receive_skb(ctx: RawTracePointContext) -> u32 {
    dns::received(&ctx)
}

#[raw_tracepoint(tracepoint = "cgroup_mkdir")]
pub fn cgroup_mkdir(ctx: RawTracePointContext) -> u32 {
    cgroup::made(&ctx)
}

#[cfg(not(test))]
#[panic_handler]
fn panic(_info: &core::panic::PanicInfo) -> ! {
    // Unreachable in a verified program: the verifier rejects any path that could get here.
    loop {}
}

#[unsafe(link_section = "license")]
#[unsafe(no_mangle)]
static LICENSE: [u8; 13] = *b"Dual MIT/GPL\0";
