//! OOM kills (`oom:mark_victim`), seen in the context of the task whose allocation set the
//! killer off: its stacks show the allocation that tipped it over. The victim's memory comes
//! from the tracepoint; the memory cgroup whose limit was hit is found by walking up from the
//! allocating task's memory cgroup to the first one whose usage has reached its limit.

use core::ffi::c_void;

use aya_ebpf::{
    EbpfContext, helpers::generated::bpf_probe_read_kernel_str, programs::TracePointContext,
};
use ringside_common::{
    COMM_LEN, DIR_LEN_MAX, EventKind, KOFFSET_UNKNOWN, OomKillRecord, oom_memcg,
};

use crate::{
    draft::{Draft, StackKind},
    kernel::{
        config, count_drop, current_ids, current_task, fill_header, passes_filter, read_field,
        read_kernel, wanted,
    },
    user_stack,
};

/// How many memory cgroups up from the task's own the walk looks, and how many names up
/// from the one found it reports.
const MEMCG_DEPTH: usize = 16;
/// `PAGE_COUNTER_MAX` is near `LONG_MAX / PAGE_SIZE`: any limit above this is "no limit".
const NO_LIMIT: u64 = 1 << 50;

#[inline(always)]
pub fn victim_marked(ctx: &TracePointContext) -> u32 {
    if !wanted(EventKind::OomKill.wire()) {
        return 0;
    }
    let tp = &config().tp;
    let (pid, _) = current_ids();
    let victim = read_field::<i32, _>(ctx, tp.oom_pid).unwrap_or(0) as u32;
    if !passes_filter(pid) && !crate::signal::target_traced(victim) {
        return 0;
    }
    let snapshot = user_stack::send();
    let Some((mut draft, record)) = Draft::start::<OomKillRecord>() else {
        count_drop(EventKind::OomKill.wire());
        return 0;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let kstack = draft.push_stack(ctx, StackKind::Kernel);
    let at_limit = memcg_at_limit();
    let before = draft.len();
    let memcg = match at_limit {
        Limit::Unknown => oom_memcg::UNKNOWN,
        Limit::Global => oom_memcg::GLOBAL,
        Limit::At(cgroup) => {
            push_cgroup_path(&mut draft, cgroup);
            oom_memcg::NAMED
        }
    };
    let memcg_len = (draft.len() - before) as u32;
    let kb = |offset| read_field::<u64, _>(ctx, offset).unwrap_or(0);
    let mut comm = [0u8; COMM_LEN];
    // `__data_loc char[] comm`: the string's offset in the record, in the low 16 bits.
    if let Some(location) = read_field::<u32, _>(ctx, tp.oom_comm) {
        let at = (ctx.as_ptr() as u64) + u64::from(location & 0xffff);
        // SAFETY: the destination is `comm`, the bound its size; the helper fails instead of
        // faulting.
        unsafe {
            bpf_probe_read_kernel_str(
                comm.as_mut_ptr().cast::<c_void>(),
                COMM_LEN as u32,
                at as *const c_void,
            )
        };
    }
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::OomKill.wire(), 0);
        (*record).victim_pid = victim;
        (*record).victim_uid = read_field::<u32, _>(ctx, tp.oom_uid).unwrap_or(0);
        (*record).total_vm_kb = kb(tp.oom_total_vm);
        (*record).anon_rss_kb = kb(tp.oom_anon_rss);
        (*record).file_rss_kb = kb(tp.oom_file_rss);
        (*record).shmem_rss_kb = kb(tp.oom_shmem_rss);
        (*record).pgtables_kb = kb(tp.oom_pgtables);
        (*record).oom_score_adj =
            i32::from(read_field::<i16, _>(ctx, tp.oom_score_adj).unwrap_or(0));
        (*record).memcg = memcg;
        (*record).memcg_len = memcg_len;
        (*record)._reserved = 0;
        (*record).victim_comm = comm;
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(EventKind::OomKill.wire());
    0
}

enum Limit {
    Unknown,
    Global,
    /// The `struct cgroup *` of the memory cgroup at its limit.
    At(u64),
}

/// The first memory cgroup, from the current task's up, whose usage has reached its limit.
#[inline(always)]
fn memcg_at_limit() -> Limit {
    let k = &config().kernel;
    // Userspace marks the whole group unknown through this one (`optional_offsets`).
    if k.memory_cgrp_id == KOFFSET_UNKNOWN {
        return Limit::Unknown;
    }
    let Some(css_set) = read_kernel::<u64>(current_task(), k.task_cgroups) else {
        return Limit::Unknown;
    };
    let Some(mut css) = read_kernel::<u64>(css_set, k.css_set_subsys + 8 * k.memory_cgrp_id) else {
        return Limit::Unknown;
    };
    let counter = k.memcg_memory;
    for _ in 0..MEMCG_DEPTH {
        if css == 0 {
            return Limit::Global;
        }
        // `css` is the first member of `struct mem_cgroup`.
        let usage = read_kernel::<u64>(css, counter + k.page_counter_usage).unwrap_or(0);
        let max = read_kernel::<u64>(css, counter + k.page_counter_max).unwrap_or(u64::MAX);
        // Within 1/32 of the limit (and 32 pages): the charge that failed was on its way past.
        if max < NO_LIMIT && usage + max / 32 + 32 >= max {
            return match read_kernel::<u64>(css, k.css_cgroup) {
                Some(cgroup) => Limit::At(cgroup),
                None => Limit::Unknown,
            };
        }
        css = read_kernel::<u64>(css, k.css_parent).unwrap_or(0);
    }
    Limit::Global
}

/// Appends a cgroup's path as a directory: its kernfs names, innermost first, up to (not
/// including) the hierarchy's root.
#[inline(always)]
fn push_cgroup_path(draft: &mut Draft, cgroup: u64) {
    let k = &config().kernel;
    let Some(mut node) = read_kernel::<u64>(cgroup, k.cgroup_kn) else {
        return;
    };
    let start = draft.len();
    for _ in 0..MEMCG_DEPTH {
        if draft.len() - start > DIR_LEN_MAX {
            return;
        }
        let parent = read_kernel::<u64>(node, k.kernfs_parent).unwrap_or(0);
        if parent == 0 {
            return;
        }
        let Some(name) = read_kernel::<u64>(node, k.kernfs_name) else {
            return;
        };
        if draft.push_name(name) == 0 {
            return;
        }
        node = parent;
    }
}
