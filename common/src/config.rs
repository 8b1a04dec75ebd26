//! What userspace tells the probes at load time (a read-only global) and at run time (maps).

use core::mem::size_of;

/// Marks an offset that this kernel does not have; the probe skips what needs it.
pub const OFFSET_UNKNOWN: u16 = u16::MAX;
/// Marks a kernel struct offset that could not be computed (no BTF).
pub const KOFFSET_UNKNOWN: u32 = u32::MAX;

/// Bits of [`ProbeConfig::capture`].
pub const CAPTURE_USER_STACK: u32 = 1 << 0;
pub const CAPTURE_KERNEL_STACK: u32 = 1 << 1;

/// Field offsets inside tracepoint records, read from tracefs `format` files at start-up.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TracepointOffsets {
    /// `ret` of every `syscalls:sys_exit_*` tracepoint ringside uses (checked to be equal).
    pub sys_exit_ret: u16,
    pub execve_filename: u16,
    pub execve_argv: u16,
    pub execveat_filename: u16,
    pub execveat_argv: u16,
    pub openat_dfd: u16,
    pub openat_filename: u16,
    pub openat_flags: u16,
    pub openat_mode: u16,
    pub openat2_dfd: u16,
    pub openat2_filename: u16,
    pub openat2_how: u16,
    pub open_filename: u16,
    pub open_flags: u16,
    pub open_mode: u16,
    pub connect_fd: u16,
    pub connect_uservaddr: u16,
    pub accept_fd: u16,
    pub accept_sockaddr: u16,
    pub accept4_fd: u16,
    pub accept4_sockaddr: u16,
    /// `sched:sched_process_exec`
    pub exec_old_pid: u16,
    /// `task:task_newtask`
    pub newtask_pid: u16,
    pub newtask_clone_flags: u16,
    /// `sched:sched_process_exit`; `group_dead` is [`OFFSET_UNKNOWN`] on older kernels.
    pub exit_pid: u16,
    pub exit_group_dead: u16,
    /// `sock:inet_sock_set_state`
    pub inet_skaddr: u16,
    pub inet_oldstate: u16,
    pub inet_newstate: u16,
    pub inet_sport: u16,
    pub inet_dport: u16,
    pub inet_family: u16,
    pub inet_protocol: u16,
    pub inet_saddr: u16,
    pub inet_daddr: u16,
    pub inet_saddr_v6: u16,
    pub inet_daddr_v6: u16,
    /// `sched:sched_process_exec`: the `__data_loc` of the filename the kernel executed.
    pub exec_filename: u16,
    /// `syscalls:sys_enter_connect`: the length of the caller's sockaddr.
    pub connect_addrlen: u16,
    /// Keeps the struct a multiple of 4 bytes, free of padding.
    pub _reserved: u16,
}
const _: () = assert!(size_of::<TracepointOffsets>() == 40 * 2);

impl TracepointOffsets {
    /// Every offset unknown: the start before format files are read.
    pub const UNKNOWN: Self = Self {
        sys_exit_ret: OFFSET_UNKNOWN,
        execve_filename: OFFSET_UNKNOWN,
        execve_argv: OFFSET_UNKNOWN,
        execveat_filename: OFFSET_UNKNOWN,
        execveat_argv: OFFSET_UNKNOWN,
        openat_dfd: OFFSET_UNKNOWN,
        openat_filename: OFFSET_UNKNOWN,
        openat_flags: OFFSET_UNKNOWN,
        openat_mode: OFFSET_UNKNOWN,
        openat2_dfd: OFFSET_UNKNOWN,
        openat2_filename: OFFSET_UNKNOWN,
        openat2_how: OFFSET_UNKNOWN,
        open_filename: OFFSET_UNKNOWN,
        open_flags: OFFSET_UNKNOWN,
        open_mode: OFFSET_UNKNOWN,
        connect_fd: OFFSET_UNKNOWN,
        connect_uservaddr: OFFSET_UNKNOWN,
        accept_fd: OFFSET_UNKNOWN,
        accept_sockaddr: OFFSET_UNKNOWN,
        accept4_fd: OFFSET_UNKNOWN,
        accept4_sockaddr: OFFSET_UNKNOWN,
        exec_old_pid: OFFSET_UNKNOWN,
        newtask_pid: OFFSET_UNKNOWN,
        newtask_clone_flags: OFFSET_UNKNOWN,
        exit_pid: OFFSET_UNKNOWN,
        exit_group_dead: OFFSET_UNKNOWN,
        inet_skaddr: OFFSET_UNKNOWN,
        inet_oldstate: OFFSET_UNKNOWN,
        inet_newstate: OFFSET_UNKNOWN,
        inet_sport: OFFSET_UNKNOWN,
        inet_dport: OFFSET_UNKNOWN,
        inet_family: OFFSET_UNKNOWN,
        inet_protocol: OFFSET_UNKNOWN,
        inet_saddr: OFFSET_UNKNOWN,
        inet_daddr: OFFSET_UNKNOWN,
        inet_saddr_v6: OFFSET_UNKNOWN,
        inet_daddr_v6: OFFSET_UNKNOWN,
        exec_filename: OFFSET_UNKNOWN,
        connect_addrlen: OFFSET_UNKNOWN,
        _reserved: 0,
    };
}

/// Offsets of kernel struct members, computed from /sys/kernel/btf/vmlinux at start-up;
/// [`KOFFSET_UNKNOWN`] where the kernel has no BTF.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KernelOffsets {
    pub task_tgid: u32,
    pub task_real_parent: u32,
    pub task_group_leader: u32,
    pub task_start_time: u32,
    pub task_files: u32,
    pub task_exit_code: u32,
    pub files_fdt: u32,
    pub fdtable_fd: u32,
    pub fdtable_max_fds: u32,
    pub file_private_data: u32,
    pub socket_type: u32,
    pub socket_sk: u32,
    pub sk_family: u32,
    pub sk_daddr: u32,
    pub sk_rcv_saddr: u32,
    pub sk_dport: u32,
    pub sk_num: u32,
    pub sk_v6_daddr: u32,
    pub sk_v6_rcv_saddr: u32,
    pub tcp_bytes_received: u32,
    pub tcp_bytes_acked: u32,
    /// `task_struct.mm`, then where the new image's argv lies (`mm_struct.arg_start/arg_end`).
    pub task_mm: u32,
    pub mm_arg_start: u32,
    pub mm_arg_end: u32,
    /// `sock.sk_protocol`: an IP socket's transport.
    pub sk_protocol: u32,
    /// `sk_buff` members, to find a UDP packet's headers and payload: `head` and the
    /// `network_header` offset from it (sent packets), `data` (received packets, where it
    /// points at the network header), the linear end `tail` (an offset from `head`), `len` and
    /// the non-linear part's `data_len`.
    pub skb_head: u32,
    pub skb_data: u32,
    pub skb_network_header: u32,
    pub skb_tail: u32,
    pub skb_len: u32,
    pub skb_data_len: u32,
    /// Where a new cgroup's id and its parent's are: `cgroup.kn`, `kernfs_node.id`,
    /// `cgroup.self.parent` (the parent's `cgroup_subsys_state`), `cgroup_subsys_state.cgroup`,
    /// and which hierarchy it is in (`cgroup.root`, `cgroup_root.hierarchy_id`; 0 is cgroup2).
    pub cgroup_kn: u32,
    pub kernfs_node_id: u32,
    pub cgroup_parent_css: u32,
    pub css_cgroup: u32,
    pub cgroup_root: u32,
    pub cgroup_root_hierarchy_id: u32,
}
const _: () = assert!(size_of::<KernelOffsets>() == 37 * 4);

impl KernelOffsets {
    /// Every offset unknown: what a kernel without BTF gets.
    pub const UNKNOWN: Self = Self {
        task_tgid: KOFFSET_UNKNOWN,
        task_real_parent: KOFFSET_UNKNOWN,
        task_group_leader: KOFFSET_UNKNOWN,
        task_start_time: KOFFSET_UNKNOWN,
        task_files: KOFFSET_UNKNOWN,
        task_exit_code: KOFFSET_UNKNOWN,
        files_fdt: KOFFSET_UNKNOWN,
        fdtable_fd: KOFFSET_UNKNOWN,
        fdtable_max_fds: KOFFSET_UNKNOWN,
        file_private_data: KOFFSET_UNKNOWN,
        socket_type: KOFFSET_UNKNOWN,
        socket_sk: KOFFSET_UNKNOWN,
        sk_family: KOFFSET_UNKNOWN,
        sk_daddr: KOFFSET_UNKNOWN,
        sk_rcv_saddr: KOFFSET_UNKNOWN,
        sk_dport: KOFFSET_UNKNOWN,
        sk_num: KOFFSET_UNKNOWN,
        sk_v6_daddr: KOFFSET_UNKNOWN,
        sk_v6_rcv_saddr: KOFFSET_UNKNOWN,
        tcp_bytes_received: KOFFSET_UNKNOWN,
        tcp_bytes_acked: KOFFSET_UNKNOWN,
        task_mm: KOFFSET_UNKNOWN,
        mm_arg_start: KOFFSET_UNKNOWN,
        mm_arg_end: KOFFSET_UNKNOWN,
        sk_protocol: KOFFSET_UNKNOWN,
        skb_head: KOFFSET_UNKNOWN,
        skb_data: KOFFSET_UNKNOWN,
        skb_network_header: KOFFSET_UNKNOWN,
        skb_tail: KOFFSET_UNKNOWN,
        skb_len: KOFFSET_UNKNOWN,
        skb_data_len: KOFFSET_UNKNOWN,
        cgroup_kn: KOFFSET_UNKNOWN,
        kernfs_node_id: KOFFSET_UNKNOWN,
        cgroup_parent_css: KOFFSET_UNKNOWN,
        css_cgroup: KOFFSET_UNKNOWN,
        cgroup_root: KOFFSET_UNKNOWN,
        cgroup_root_hierarchy_id: KOFFSET_UNKNOWN,
    };
}

/// Set once at load time through the `CONFIG` global.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ProbeConfig {
    /// ringside's own process id: never reported.
    pub self_pid: u32,
    /// `CAPTURE_*` bits.
    pub capture: u32,
    /// Kinds to report, as `1 << kind`; probes still do the bookkeeping of the others (process
    /// tree, socket owners) that the reported kinds depend on.
    pub events: u32,
    /// Bytes of user stack copied next to each user stack (`--stack-bytes`), for unwinding with
    /// the binaries' unwind tables; 0 for frame-pointer stacks only. At most `MAX_STACK_BYTES`.
    pub stack_bytes: u32,
    /// Unread bytes in the ring at which a record wakes ringside up. Records are committed
    /// without a wakeup (each one is an inter-processor interrupt, on a VM an exit to the
    /// hypervisor); only the record that takes the unread data across this mark forces one.
    /// Below it, ringside drains the ring on its own timer (`--max-delay`).
    pub wakeup_bytes: u32,
    pub tp: TracepointOffsets,
    pub kernel: KernelOffsets,
}
const _: () = assert!(size_of::<ProbeConfig>() == 20 + 80 + 148);

/// The bit of a kind in [`ProbeConfig::events`].
pub const fn event_bit(kind: u16) -> u32 {
    1 << kind
}

/// Bits of the value at index 0 of the `FILTER_MODE` array map; changeable while running.
pub const FILTER_PID: u32 = 1 << 0;
pub const FILTER_COMM: u32 = 1 << 1;
/// Children of a process in the pid set join the set when they are born.
pub const FILTER_TREE: u32 = 1 << 2;
/// TCP events are reported only when one of their ends is in the address tries.
pub const FILTER_ADDR: u32 = 1 << 3;
/// Only processes in the cgroups of `FILTER_CGROUPS` are traced; cgroups created under one of
/// them join the set when they are made.
pub const FILTER_CGROUP: u32 = 1 << 4;

#[cfg(feature = "user")]
mod pod {
    // SAFETY: repr(C), Copy, no padding (sizes pinned above), every bit pattern is valid.
    unsafe impl aya::Pod for super::ProbeConfig {}
}
