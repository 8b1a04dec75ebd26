//! What every probe needs: the configuration, the filter, record headers, stacks, drop counts and
//! reads of kernel structs at offsets computed from BTF.

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext,
    bindings::BPF_F_USER_STACK,
    helpers::{
        bpf_get_current_comm, bpf_get_current_pid_tgid, bpf_get_current_uid_gid,
        bpf_probe_read_kernel, generated::bpf_get_current_cgroup_id,
        generated::bpf_get_current_task, generated::bpf_get_smp_processor_id,
        generated::bpf_get_stack, generated::bpf_ktime_get_ns,
    },
};
use ringside_common::{
    CAPTURE_KERNEL_STACK, CAPTURE_USER_STACK, COMM_LEN, FILTER_CGROUP, FILTER_COMM, FILTER_PID,
    KOFFSET_UNKNOWN, ProbeConfig, RecordHeader, STACK_FRAMES_LEN, Stack, StackHead, event_bit,
};

use aya_ebpf::maps::lpm_trie::Key;
use ringside_common::{AF_INET, AF_INET6, FILTER_ADDR, SockAddrs};

use crate::{
    CONFIG, DROPS, FILTER_CGROUPS, FILTER_COMMS, FILTER_MODE, FILTER_NETS_V4, FILTER_NETS_V6,
    FILTER_PIDS, READER_ASLEEP,
};

/// The configuration userspace wrote at load time.
#[inline(always)]
pub fn config() -> &'static ProbeConfig {
    let ptr: *const ProbeConfig = &raw const CONFIG;
    // SAFETY: CONFIG is a static, so the pointer is valid for 'static. The volatile read hides
    // the pointer's origin from the optimiser so it cannot fold the zeroed initial value that the
    // loader replaces.
    unsafe { &*core::ptr::read_volatile(&ptr) }
}

/// Whether the user asked for events of this kind.
#[inline(always)]
pub fn wanted(kind: u16) -> bool {
    config().events & event_bit(kind) != 0
}

/// The current process id (tgid) and thread id.
#[inline(always)]
pub fn current_ids() -> (u32, u32) {
    let pid_tgid = bpf_get_current_pid_tgid();
    ((pid_tgid >> 32) as u32, pid_tgid as u32)
}

#[inline(always)]
pub fn now_ns() -> u64 {
    // SAFETY: the helper takes no arguments and cannot fail.
    unsafe { bpf_ktime_get_ns() }
}

#[inline(always)]
pub fn current_comm() -> [u8; COMM_LEN] {
    bpf_get_current_comm().unwrap_or([0; COMM_LEN])
}

/// Whether the current process's events pass the kernel-side filter; ringside's never do.
#[inline(always)]
pub fn passes_filter(pid: u32) -> bool {
    passes_filter_but_comm(pid)
        && (filter_mode() & FILTER_COMM == 0 || comm_in_filter(&current_comm()))
}

/// [`passes_filter`] for a process other than the current one (a socket's owner).
#[inline(always)]
pub fn passes_filter_for(pid: u32, comm: &[u8; COMM_LEN], cgroup_id: u64) -> bool {
    passes_pid_filter(pid)
        && cgroup_passes(cgroup_id)
        && (filter_mode() & FILTER_COMM == 0 || comm_in_filter(comm))
}

/// [`passes_filter`] but for the command name: for probes that check it later (an exec changes
/// it).
#[inline(always)]
pub fn passes_filter_but_comm(pid: u32) -> bool {
    passes_pid_filter(pid) && cgroup_passes(current_cgroup_id())
}

/// Whether a process in cgroup `id` passes the cgroup part of the filter.
#[inline(always)]
fn cgroup_passes(id: u64) -> bool {
    filter_mode() & FILTER_CGROUP == 0 || FILTER_CGROUPS.get_ptr(id).is_some()
}

#[inline(always)]
pub fn current_cgroup_id() -> u64 {
    // SAFETY: the helper takes no arguments and cannot fail.
    unsafe { bpf_get_current_cgroup_id() }
}

/// Whether a socket event passes the address part of the filter: one of its ends is in the
/// tries. A socket without IP addresses (a unix one) has no end there.
#[inline(always)]
pub fn addrs_pass(addrs: &SockAddrs) -> bool {
    if filter_mode() & FILTER_ADDR == 0 {
        return true;
    }
    if addrs.family != AF_INET && addrs.family != AF_INET6 {
        return false;
    }
    let in_trie = |address: &[u8; 16]| {
        if addrs.family == AF_INET {
            let v4 = [address[0], address[1], address[2], address[3]];
            FILTER_NETS_V4.get(Key::new(32, v4)).is_some()
        } else {
            FILTER_NETS_V6.get(Key::new(128, *address)).is_some()
        }
    };
    in_trie(&addrs.laddr) || in_trie(&addrs.raddr)
}

/// The pid part of the filter (ringside itself never passes).
#[inline(always)]
fn passes_pid_filter(pid: u32) -> bool {
    pid != config().self_pid && (filter_mode() & FILTER_PID == 0 || pid_in_filter(pid))
}

#[inline(always)]
fn comm_in_filter(comm: &[u8; COMM_LEN]) -> bool {
    FILTER_COMMS.get_ptr(comm).is_some()
}

/// Whether ringside's reader sleeps without its timer, waiting for a record to wake it.
#[inline(always)]
pub fn reader_asleep() -> bool {
    READER_ASLEEP.get(0).is_some_and(|asleep| *asleep != 0)
}

#[inline(always)]
pub fn filter_mode() -> u32 {
    FILTER_MODE.get(0).copied().unwrap_or(0)
}

#[inline(always)]
pub fn pid_in_filter(pid: u32) -> bool {
    FILTER_PIDS.get_ptr(pid).is_some()
}

/// Counts a record that could not be delivered, so that userspace can report it.
#[inline(always)]
pub fn count_drop(kind: u16) {
    if let Some(counter) = DROPS.get_ptr_mut(u32::from(kind)) {
        // SAFETY: the pointer is to this CPU's u64 slot of a map value, valid and 8-aligned. A
        // plain add is exact: tracepoint programs never nest on one CPU (the kernel's
        // bpf_prog_active guard skips a program while another runs there).
        unsafe { *counter += 1 };
    }
}

/// Fills a header with the current task's identity.
///
/// # Safety
/// `header` must point to writable memory for one `RecordHeader` (ring buffer or map value).
#[inline(always)]
pub unsafe fn fill_header(header: *mut RecordHeader, kind: u16, flags: u16) {
    let (pid, tid) = current_ids();
    let task = current_task();
    // SAFETY: the caller guarantees `header` is valid for writes; these are plain field stores.
    unsafe {
        (*header).kind = kind;
        (*header).flags = flags;
        (*header).cpu = bpf_get_smp_processor_id();
        (*header).ts_ns = now_ns();
        (*header).pid = pid;
        (*header).tid = tid;
        (*header).ppid = parent_pid(task);
        (*header).uid = bpf_get_current_uid_gid() as u32;
        (*header).start_ns = process_start_ns(task);
        (*header).comm = current_comm();
        (*header).cgroup_id = current_cgroup_id();
    }
}

/// Which stack [`capture_stack`] or [`crate::draft::Draft::push_stack`] takes.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum StackKind {
    /// With what [`crate::user_stack::send`] returned for the copy that goes with it.
    User(u32),
    Kernel,
}

/// Writes the current user or kernel stack's frames at `frames`, when capture is on, and
/// returns the head that describes them. One place decides what a stack capture is, for the
/// stacks kept in maps ([`capture_stack`]) and those written into a record's tail.
///
/// # Safety
/// `frames` must be valid for writes of [`STACK_FRAMES_LEN`] bytes.
#[inline(always)]
pub unsafe fn take_stack<C: EbpfContext>(
    ctx: &C,
    frames: *mut c_void,
    which: StackKind,
) -> StackHead {
    let (wanted, flags, snapshot) = match which {
        StackKind::User(snapshot) => (CAPTURE_USER_STACK, u64::from(BPF_F_USER_STACK), snapshot),
        StackKind::Kernel => (CAPTURE_KERNEL_STACK, 0, 0),
    };
    if config().capture & wanted == 0 {
        return StackHead { bytes: 0, snapshot };
    }
    // SAFETY: the caller guarantees room for the size passed; the helper writes at most that.
    let written =
        unsafe { bpf_get_stack(ctx.as_ptr(), frames, STACK_FRAMES_LEN as u32, flags) } as i32;
    StackHead {
        bytes: written,
        snapshot,
    }
}

/// Writes the current user or kernel stack into a `Stack` kept for later.
///
/// # Safety
/// `stack` must point to writable memory for one `Stack`.
#[inline(always)]
pub unsafe fn capture_stack<C: EbpfContext>(ctx: &C, stack: *mut Stack, which: StackKind) {
    // SAFETY: the caller guarantees `stack`; its `frames` hold STACK_FRAMES_LEN bytes.
    unsafe {
        let frames = (&raw mut (*stack).frames).cast::<c_void>();
        (*stack).head = take_stack(ctx, frames, which);
    }
}

/// The current `struct task_struct *`.
#[inline(always)]
pub fn current_task() -> u64 {
    // SAFETY: the helper takes no arguments and cannot fail.
    unsafe { bpf_get_current_task() }
}

/// Reads a `T` at `base + offset` in kernel memory; `None` when the offset is unknown (no BTF),
/// the base is null or the read faults.
#[inline(always)]
pub fn read_kernel<T>(base: u64, offset: u32) -> Option<T> {
    if offset == KOFFSET_UNKNOWN || base == 0 {
        return None;
    }
    // SAFETY: bpf_probe_read_kernel checks the address and fails instead of faulting.
    unsafe { bpf_probe_read_kernel((base + u64::from(offset)) as *const T) }.ok()
}

/// `current->files->fdt->fd[fd]`: the `struct file *` an fd of the current process names.
#[inline(always)]
pub fn file_of_fd(fd: i32) -> Option<u64> {
    let k = &config().kernel;
    let files = read_kernel::<u64>(current_task(), k.task_files)?;
    let fdt = read_kernel::<u64>(files, k.files_fdt)?;
    let max_fds = read_kernel::<u32>(fdt, k.fdtable_max_fds)?;
    if fd < 0 || fd as u32 >= max_fds {
        return None;
    }
    let fds = read_kernel::<u64>(fdt, k.fdtable_fd)?;
    read_kernel::<u64>(fds, fd as u32 * 8)
}

/// `task->real_parent->tgid`, or 0 when unknown.
#[inline(always)]
pub fn parent_pid(task: u64) -> u32 {
    let k = &config().kernel;
    read_kernel::<u64>(task, k.task_real_parent)
        .and_then(|parent| read_kernel::<u32>(parent, k.task_tgid))
        .unwrap_or(0)
}

/// `task->group_leader->start_time` (CLOCK_MONOTONIC ns), or 0 when unknown.
#[inline(always)]
pub fn process_start_ns(task: u64) -> u64 {
    let k = &config().kernel;
    read_kernel::<u64>(task, k.task_group_leader)
        .and_then(|leader| read_kernel::<u64>(leader, k.task_start_time))
        .unwrap_or(0)
}

/// The `i`th argument of the current `sys_enter_*` record (0 when unknown).
#[inline(always)]
pub fn syscall_arg(ctx: &aya_ebpf::programs::TracePointContext, i: u16) -> u64 {
    let base = config().tp.syscall_args;
    if base == ringside_common::OFFSET_UNKNOWN {
        return 0;
    }
    read_field::<u64, _>(ctx, base + 8 * i).unwrap_or(0)
}

/// Reads a field of the current tracepoint record at an offset from its `format` file.
#[inline(always)]
pub fn read_field<T, C: TracepointRecord>(ctx: &C, offset: u16) -> Option<T> {
    ctx.read(offset)
}

/// Tracepoint contexts whose record fields can be read at a byte offset.
pub trait TracepointRecord {
    fn read<T>(&self, offset: u16) -> Option<T>;
}

impl TracepointRecord for aya_ebpf::programs::TracePointContext {
    #[inline(always)]
    fn read<T>(&self, offset: u16) -> Option<T> {
        if offset == ringside_common::OFFSET_UNKNOWN {
            return None;
        }
        // SAFETY: read_at goes through bpf_probe_read_kernel, which fails instead of faulting.
        unsafe { self.read_at::<T>(usize::from(offset)) }.ok()
    }
}
