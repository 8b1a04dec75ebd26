//! The offsets the probes need, read from this kernel: tracepoint record layouts from tracefs
//! `format` files and kernel struct layouts from BTF.

use std::collections::BTreeSet;

use anyhow::{Context as _, bail};
use ringside_common::{KernelOffsets, TracepointOffsets};

use super::btf::{BtfError, KernelBtf};
use super::tracefs::{FormatField, Tracefs, TracefsError, TracepointFormat};

/// A tracepoint as `category/name`.
pub type TracepointName = (&'static str, &'static str);

/// Tracepoint offsets, and which tracepoints this kernel lacks.
pub struct TracepointLayout {
    pub offsets: TracepointOffsets,
    pub missing: BTreeSet<TracepointName>,
}

/// The `syscalls:sys_exit_*` tracepoints whose `ret` the probes read.
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
    let mut ret_offset = None;
    for name in SYS_EXITS {
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
    })
}
