//! The cgroup filter follows new cgroups: one made under a traced cgroup is traced from its
//! birth, as a child of a traced process is (`--tree`). Userspace cannot add it in time: a
//! process can be moved into a new cgroup, and act, before a scan of the tree would see it.

use aya_ebpf::programs::RawTracePointContext;
use ringside_common::FILTER_CGROUP;

use crate::{
    FILTER_CGROUPS,
    kernel::{config, filter_mode, read_kernel},
};

/// `cgroup:cgroup_mkdir(struct cgroup *cgrp, const char *path)`.
#[inline(always)]
pub fn made(ctx: &RawTracePointContext) -> u32 {
    if filter_mode() & FILTER_CGROUP == 0 {
        return 0;
    }
    let cgroup: u64 = ctx.arg(0);
    let k = &config().kernel;
    // cgroup v1 hierarchies have ids of their own, which could collide with cgroup2's.
    let hierarchy = read_kernel::<u64>(cgroup, k.cgroup_root)
        .and_then(|root| read_kernel::<i32>(root, k.cgroup_root_hierarchy_id));
    if hierarchy != Some(0) {
        return 0;
    }
    let (Some(id), Some(parent)) = (id_of(cgroup), parent_of(cgroup).and_then(id_of)) else {
        return 0;
    };
    if FILTER_CGROUPS.get_ptr(&parent).is_some() {
        // A full set leaves the new cgroup out: userspace's rescan adds it when it finds it.
        let _ = FILTER_CGROUPS.insert(&id, &1, 0);
    }
    0
}

/// `cgroup->kn->id`: the id `bpf_get_current_cgroup_id` gives for a task in it.
#[inline(always)]
fn id_of(cgroup: u64) -> Option<u64> {
    let k = &config().kernel;
    read_kernel::<u64>(cgroup, k.cgroup_kn).and_then(|kn| read_kernel::<u64>(kn, k.kernfs_node_id))
}

/// `cgroup->self.parent->cgroup`.
#[inline(always)]
fn parent_of(cgroup: u64) -> Option<u64> {
    let k = &config().kernel;
    read_kernel::<u64>(cgroup, k.cgroup_parent_css)
        .and_then(|css| read_kernel::<u64>(css, k.css_cgroup))
}
