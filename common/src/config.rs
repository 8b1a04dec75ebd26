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
    /// `syscalls:sys_enter_*`: where the arguments start; argument `i` is at `+ 8 * i`
    /// (checked for every system call the change probes read).
    pub syscall_args: u16,
    /// `signal:signal_generate`
    pub signal_sig: u16,
    pub signal_errno: u16,
    pub signal_code: u16,
    pub signal_comm: u16,
    pub signal_pid: u16,
    pub signal_group: u16,
    pub signal_result: u16,
    /// `oom:mark_victim`; `comm` is a `__data_loc`.
    pub oom_pid: u16,
    pub oom_comm: u16,
    pub oom_total_vm: u16,
    pub oom_anon_rss: u16,
    pub oom_file_rss: u16,
    pub oom_shmem_rss: u16,
    pub oom_uid: u16,
    pub oom_pgtables: u16,
    pub oom_score_adj: u16,
    /// Keep the struct a multiple of 4 bytes, free of padding.
    pub _reserved: u16,
    pub _reserved2: u16,
}
const _: () = assert!(size_of::<TracepointOffsets>() == 58 * 2);

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
        syscall_args: OFFSET_UNKNOWN,
        signal_sig: OFFSET_UNKNOWN,
        signal_errno: OFFSET_UNKNOWN,
        signal_code: OFFSET_UNKNOWN,
        signal_comm: OFFSET_UNKNOWN,
        signal_pid: OFFSET_UNKNOWN,
        signal_group: OFFSET_UNKNOWN,
        signal_result: OFFSET_UNKNOWN,
        oom_pid: OFFSET_UNKNOWN,
        oom_comm: OFFSET_UNKNOWN,
        oom_total_vm: OFFSET_UNKNOWN,
        oom_anon_rss: OFFSET_UNKNOWN,
        oom_file_rss: OFFSET_UNKNOWN,
        oom_shmem_rss: OFFSET_UNKNOWN,
        oom_uid: OFFSET_UNKNOWN,
        oom_pgtables: OFFSET_UNKNOWN,
        oom_score_adj: OFFSET_UNKNOWN,
        _reserved: 0,
        _reserved2: 0,
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
    /// `task_struct.fs`, `fs_struct.pwd` and `.root`: where a relative path starts, and where the walk up stops (a chroot).
    pub task_fs: u32,
    pub fs_pwd: u32,
    pub fs_root: u32,
    /// `struct path`'s members: `{ mnt, dentry }`.
    pub path_dentry: u32,
    pub path_mnt: u32,
    /// `file.f_path`: what a directory fd names.
    pub file_path: u32,
    /// `dentry.d_parent`, `.d_name.name`, and `.d_hash.pprev` (null once the dentry is deleted).
    pub dentry_parent: u32,
    pub dentry_name: u32,
    pub dentry_hash_pprev: u32,
    /// `vfsmount.mnt_root`; `mount.mnt` (the `vfsmount` inside a `mount`), `.mnt_parent`, `.mnt_mountpoint`: how a walk up crosses mount points.
    pub vfsmount_root: u32,
    pub mount_mnt: u32,
    pub mount_parent: u32,
    pub mount_mountpoint: u32,
    /// `task_struct.cgroups` and `css_set.subsys`: a task's memory cgroup; `cgroup_subsys_state.parent`, `mem_cgroup.memory` and its `page_counter`'s `usage` and `max`: which one is at its limit.
    pub task_cgroups: u32,
    pub css_set_subsys: u32,
    pub css_parent: u32,
    pub memcg_memory: u32,
    pub page_counter_usage: u32,
    pub page_counter_max: u32,
    /// `kernfs_node.name` and its parent (`__parent` on newer kernels): a cgroup's path.
    pub kernfs_name: u32,
    pub kernfs_parent: u32,
    /// The memory controller's index in `css_set.subsys` (from /proc/cgroups), not an offset.
    pub memory_cgrp_id: u32,
}
const _: () = assert!(size_of::<KernelOffsets>() == 59 * 4);

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
        task_fs: KOFFSET_UNKNOWN,
        fs_pwd: KOFFSET_UNKNOWN,
        fs_root: KOFFSET_UNKNOWN,
        path_dentry: KOFFSET_UNKNOWN,
        path_mnt: KOFFSET_UNKNOWN,
        file_path: KOFFSET_UNKNOWN,
        dentry_parent: KOFFSET_UNKNOWN,
        dentry_name: KOFFSET_UNKNOWN,
        dentry_hash_pprev: KOFFSET_UNKNOWN,
        vfsmount_root: KOFFSET_UNKNOWN,
        mount_mnt: KOFFSET_UNKNOWN,
        mount_parent: KOFFSET_UNKNOWN,
        mount_mountpoint: KOFFSET_UNKNOWN,
        task_cgroups: KOFFSET_UNKNOWN,
        css_set_subsys: KOFFSET_UNKNOWN,
        css_parent: KOFFSET_UNKNOWN,
        memcg_memory: KOFFSET_UNKNOWN,
        page_counter_usage: KOFFSET_UNKNOWN,
        page_counter_max: KOFFSET_UNKNOWN,
        kernfs_name: KOFFSET_UNKNOWN,
        kernfs_parent: KOFFSET_UNKNOWN,
        memory_cgrp_id: KOFFSET_UNKNOWN,
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
const _: () = assert!(size_of::<ProbeConfig>() == 20 + 116 + 236);

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
