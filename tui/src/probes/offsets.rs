//! The offsets the probes need, read from this kernel: tracepoint record layouts from tracefs
//! `format` files and kernel struct layouts from BTF.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use ringside_common::{KOFFSET_UNKNOWN, KernelOffsets, OFFSET_UNKNOWN, TracepointOffsets};

use super::attachments::CHANGE_SYSCALLS;
use super::btf::{BtfError, KernelBtf};
use super::tracefs::{FormatField, Tracefs, TracefsError, TracepointFormat};

/// A tracepoint as `category/name`.
pub type TracepointName = (&'static str, &'static str);

/// Tracepoint offsets, and which tracepoints this kernel lacks.
pub struct TracepointLayout {
    pub offsets: TracepointOffsets,
    pub missing: BTreeSet<TracepointName>,
}

/// The `syscalls:sys_exit_*` tracepoints whose `ret` the probes read (and those of
/// [`CHANGE_SYSCALLS`]).
const SYS_EXITS: [&str; 8] = [
    "sys_exit_execve",
    "sys_exit_execveat",
    "sys_exit_openat",
    "sys_exit_openat2",
    "sys_exit_open",
    "sys_exit_connect",
    "sys_exit_accept",
    "sys_exit_accept4",
];

pub fn tracepoint_layout(tracefs: &Tracefs) -> anyhow::Result<TracepointLayout> {
    let mut layout = TracepointLayout {
        offsets: TracepointOffsets::UNKNOWN,
        missing: BTreeSet::new(),
    };
    let t = &mut layout.offsets;
    let mut read = |category: &'static str, name: &'static str| -> anyhow::Result<_> {
        match tracefs.format(category, name) {
            Ok(format) => Ok(Some(format)),
            Err(TracefsError::MissingTracepoint { .. }) => {
                layout.missing.insert((category, name));
                Ok(None)
            }
            Err(error) => Err(error).context(format!("reading tracepoint {category}:{name}")),
        }
    };

    if let Some(f) = read("syscalls", "sys_enter_execve")? {
        (t.execve_filename, t.execve_argv) = (offset(&f, "filename")?, offset(&f, "argv")?);
    }
    if let Some(f) = read("syscalls", "sys_enter_execveat")? {
        (t.execveat_filename, t.execveat_argv) = (offset(&f, "filename")?, offset(&f, "argv")?);
    }
    if let Some(f) = read("syscalls", "sys_enter_openat")? {
        t.openat_dfd = offset(&f, "dfd")?;
        t.openat_filename = offset(&f, "filename")?;
        t.openat_flags = offset(&f, "flags")?;
        t.openat_mode = offset(&f, "mode")?;
    }
    if let Some(f) = read("syscalls", "sys_enter_openat2")? {
        t.openat2_dfd = offset(&f, "dfd")?;
        t.openat2_filename = offset(&f, "filename")?;
        t.openat2_how = offset(&f, "how")?;
    }
    if let Some(f) = read("syscalls", "sys_enter_open")? {
        t.open_filename = offset(&f, "filename")?;
        t.open_flags = offset(&f, "flags")?;
        t.open_mode = offset(&f, "mode")?;
    }
    if let Some(f) = read("syscalls", "sys_enter_connect")? {
        (t.connect_fd, t.connect_uservaddr) = (offset(&f, "fd")?, offset(&f, "uservaddr")?);
        t.connect_addrlen = offset(&f, "addrlen")?;
    }
    if let Some(f) = read("syscalls", "sys_enter_accept")? {
        (t.accept_fd, t.accept_sockaddr) = (offset(&f, "fd")?, offset(&f, "upeer_sockaddr")?);
    }
    if let Some(f) = read("syscalls", "sys_enter_accept4")? {
        (t.accept4_fd, t.accept4_sockaddr) = (offset(&f, "fd")?, offset(&f, "upeer_sockaddr")?);
    }
    if let Some(f) = read("sched", "sched_process_exec")? {
        t.exec_old_pid = offset(&f, "old_pid")?;
        t.exec_filename = offset(&f, "filename")?;
    }
    if let Some(f) = read("task", "task_newtask")? {
        (t.newtask_pid, t.newtask_clone_flags) = (offset(&f, "pid")?, offset(&f, "clone_flags")?);
    }
    if let Some(f) = read("sched", "sched_process_exit")? {
        t.exit_pid = offset(&f, "pid")?;
        // Added in 6.x; older kernels are told apart by pid == tid, which is almost as good.
        if let Some(field) = f.field("group_dead") {
            t.exit_group_dead = field.offset;
        }
    }
    if let Some(f) = read("sock", "inet_sock_set_state")? {
        t.inet_skaddr = offset(&f, "skaddr")?;
        t.inet_oldstate = offset(&f, "oldstate")?;
        t.inet_newstate = offset(&f, "newstate")?;
        t.inet_sport = offset(&f, "sport")?;
        t.inet_dport = offset(&f, "dport")?;
        t.inet_family = offset(&f, "family")?;
        t.inet_protocol = offset(&f, "protocol")?;
        t.inet_saddr = offset(&f, "saddr")?;
        t.inet_daddr = offset(&f, "daddr")?;
        t.inet_saddr_v6 = offset(&f, "saddr_v6")?;
        t.inet_daddr_v6 = offset(&f, "daddr_v6")?;
    }
    if let Some(f) = read("signal", "signal_generate")? {
        t.signal_sig = offset(&f, "sig")?;
        t.signal_errno = offset(&f, "errno")?;
        t.signal_code = offset(&f, "code")?;
        t.signal_comm = offset(&f, "comm")?;
        t.signal_pid = offset(&f, "pid")?;
        t.signal_group = offset(&f, "group")?;
        t.signal_result = offset(&f, "result")?;
    }
    if let Some(f) = read("oom", "mark_victim")? {
        // Only `pid` is old: the victim's name and memory came in 6.8 (`pgtables` later
        // still). A field this kernel lacks stays unknown and the record goes without it.
        let optional = |name: &str| f.field(name).map_or(OFFSET_UNKNOWN, |field| field.offset);
        t.oom_pid = offset(&f, "pid")?;
        t.oom_comm = optional("comm");
        t.oom_total_vm = optional("total_vm");
        t.oom_anon_rss = optional("anon_rss");
        t.oom_file_rss = optional("file_rss");
        t.oom_shmem_rss = optional("shmem_rss");
        t.oom_uid = optional("uid");
        t.oom_pgtables = optional("pgtables");
        t.oom_score_adj = optional("oom_score_adj");
    }
    for syscall in &CHANGE_SYSCALLS {
        let Some(f) = read("syscalls", syscall.enter)? else {
            continue;
        };
        // Every argument is a `long` after `__syscall_nr`, in order.
        let first = f
            .fields
            .iter()
            .skip_while(|field| field.name != "__syscall_nr")
            .nth(1)
            .map(|field| field.offset);
        match (first, t.syscall_args) {
            (Some(first), OFFSET_UNKNOWN) => t.syscall_args = first,
            (Some(first), known) if first == known => {}
            _ => bail!(
                "tracepoint syscalls:{} does not lay out its arguments as the \
                 others do: this kernel's syscall tracepoints are not supported",
                syscall.enter
            ),
        }
    }
    let mut ret_offset = None;
    let change_exits = CHANGE_SYSCALLS.iter().map(|syscall| syscall.exit);
    for name in SYS_EXITS.into_iter().chain(change_exits) {
        let Some(format) = read("syscalls", name)? else {
            continue;
        };
        let this = offset(&format, "ret")?;
        match ret_offset {
            Some(other) if other != this => bail!(
                "tracepoint syscalls:{name} has `ret` at offset {this} but others at {other}: \
                 this kernel's syscall tracepoints are not supported"
            ),
            _ => ret_offset = Some(this),
        }
    }
    if let Some(ret) = ret_offset {
        layout.offsets.sys_exit_ret = ret;
    }
    Ok(layout)
}

fn offset(format: &TracepointFormat, name: &str) -> anyhow::Result<u16> {
    let field: &FormatField = format.require(name)?;
    Ok(field.offset)
}

/// Kernel struct offsets from BTF; all unknown (and a reason) when this kernel has no BTF.
pub fn kernel_offsets(btf: Result<KernelBtf, BtfError>) -> (KernelOffsets, Option<String>) {
    match btf.and_then(|btf| read_kernel_offsets(&btf)) {
        Ok(offsets) => (offsets, None),
        Err(error) => (KernelOffsets::UNKNOWN, Some(error.to_string())),
    }
}

fn read_kernel_offsets(btf: &KernelBtf) -> Result<KernelOffsets, BtfError> {
    let task = |member: &str| btf.member_offset("task_struct", &[member]);
    let sock = |member: &str| btf.member_offset("sock", &["__sk_common", member]);
    let skb = |member: &str| btf.member_offset("sk_buff", &[member]);
    Ok(KernelOffsets {
        task_tgid: task("tgid")?,
        task_real_parent: task("real_parent")?,
        task_group_leader: task("group_leader")?,
        task_start_time: task("start_time")?,
        task_files: task("files")?,
        task_exit_code: task("exit_code")?,
        files_fdt: btf.member_offset("files_struct", &["fdt"])?,
        fdtable_fd: btf.member_offset("fdtable", &["fd"])?,
        fdtable_max_fds: btf.member_offset("fdtable", &["max_fds"])?,
        file_private_data: btf.member_offset("file", &["private_data"])?,
        socket_type: btf.member_offset("socket", &["type"])?,
        socket_sk: btf.member_offset("socket", &["sk"])?,
        sk_family: sock("skc_family")?,
        sk_daddr: sock("skc_daddr")?,
        sk_rcv_saddr: sock("skc_rcv_saddr")?,
        sk_dport: sock("skc_dport")?,
        sk_num: sock("skc_num")?,
        sk_v6_daddr: sock("skc_v6_daddr")?,
        sk_v6_rcv_saddr: sock("skc_v6_rcv_saddr")?,
        tcp_bytes_received: btf.member_offset("tcp_sock", &["bytes_received"])?,
        tcp_bytes_acked: btf.member_offset("tcp_sock", &["bytes_acked"])?,
        task_mm: task("mm")?,
        mm_arg_start: btf.member_offset("mm_struct", &["arg_start"])?,
        mm_arg_end: btf.member_offset("mm_struct", &["arg_end"])?,
        sk_protocol: btf.member_offset("sock", &["sk_protocol"])?,
        skb_head: skb("head")?,
        skb_data: skb("data")?,
        skb_network_header: skb("network_header")?,
        skb_tail: skb("tail")?,
        skb_len: skb("len")?,
        skb_data_len: skb("data_len")?,
        cgroup_kn: btf.member_offset("cgroup", &["kn"])?,
        kernfs_node_id: btf.member_offset("kernfs_node", &["id"])?,
        cgroup_parent_css: btf.member_offset("cgroup", &["self", "parent"])?,
        css_cgroup: btf.member_offset("cgroup_subsys_state", &["cgroup"])?,
        cgroup_root: btf.member_offset("cgroup", &["root"])?,
        cgroup_root_hierarchy_id: btf.member_offset("cgroup_root", &["hierarchy_id"])?,
        ..optional_offsets(btf)
    })
}

/// Offsets for what some kinds add (absolute paths, the memory cgroup of an OOM kill): each
/// unknown on its own when this kernel lacks it, and the probe leaves that part out.
fn optional_offsets(btf: &KernelBtf) -> KernelOffsets {
    let at = |name: &str, path: &[&str]| btf.member_offset(name, path).unwrap_or(KOFFSET_UNKNOWN);
    let mut k = KernelOffsets {
        task_fs: at("task_struct", &["fs"]),
        fs_pwd: at("fs_struct", &["pwd"]),
        fs_root: at("fs_struct", &["root"]),
        path_dentry: at("path", &["dentry"]),
        path_mnt: at("path", &["mnt"]),
        file_path: at("file", &["f_path"]),
        dentry_parent: at("dentry", &["d_parent"]),
        dentry_name: at("dentry", &["d_name", "name"]),
        dentry_hash_pprev: at("dentry", &["d_hash", "pprev"]),
        vfsmount_root: at("vfsmount", &["mnt_root"]),
        mount_mnt: at("mount", &["mnt"]),
        mount_parent: at("mount", &["mnt_parent"]),
        mount_mountpoint: at("mount", &["mnt_mountpoint"]),
        task_cgroups: at("task_struct", &["cgroups"]),
        css_set_subsys: at("css_set", &["subsys"]),
        css_parent: at("cgroup_subsys_state", &["parent"]),
        memcg_memory: at("mem_cgroup", &["memory"]),
        page_counter_usage: at("page_counter", &["usage"]),
        page_counter_max: at("page_counter", &["max"]),
        kernfs_name: at("kernfs_node", &["name"]),
        kernfs_parent: btf
            .member_offset("kernfs_node", &["__parent"])
            .or_else(|_| btf.member_offset("kernfs_node", &["parent"]))
            .unwrap_or(KOFFSET_UNKNOWN),
        memory_cgrp_id: memory_controller_index().unwrap_or(KOFFSET_UNKNOWN),
        ..KernelOffsets::UNKNOWN
    };
    // The probes add these offsets together: a group with one unknown is unknown whole, and
    // the probes test only its first member (`task_fs`, `memory_cgrp_id`).
    let walk = [
        k.task_fs,
        k.fs_pwd,
        k.fs_root,
        k.path_dentry,
        k.path_mnt,
        k.file_path,
        k.dentry_parent,
        k.dentry_name,
        k.dentry_hash_pprev,
        k.vfsmount_root,
        k.mount_mnt,
        k.mount_parent,
        k.mount_mountpoint,
    ];
    if walk.contains(&KOFFSET_UNKNOWN) {
        k.task_fs = KOFFSET_UNKNOWN;
    }
    let memcg = [
        k.memory_cgrp_id,
        k.task_cgroups,
        k.css_set_subsys,
        k.css_parent,
        k.memcg_memory,
        k.page_counter_usage,
        k.page_counter_max,
        k.kernfs_name,
        k.kernfs_parent,
    ];
    if memcg.contains(&KOFFSET_UNKNOWN) {
        k.memory_cgrp_id = KOFFSET_UNKNOWN;
    }
    k
}

/// The memory controller's index among the kernel's cgroup controllers: /proc/cgroups lists
/// them in that order.
fn memory_controller_index() -> Option<u32> {
    let text = std::fs::read_to_string("/proc/cgroups").ok()?;
    text.lines()
        .filter(|line| !line.starts_with('#'))
        .position(|line| line.split_whitespace().next() == Some("memory"))
        .map(|index| index as u32)
}
