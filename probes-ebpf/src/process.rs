//! Process lifecycle: a new process (`task:task_newtask`, which knows the clone flags and so can
//! tell a process from a thread) and the end of a process (`sched:sched_process_exit` with
//! `group_dead`). Both keep the kernel's pid filter in step with the process tree.

use aya_ebpf::programs::TracePointContext;
use ringside_common::{EventKind, ExitRecord, FILTER_TREE, ForkRecord, OFFSET_UNKNOWN, user_stack};

use crate::{
    CHANGE_DIR2, CHANGE_PENDING, CONNECT_KSTACK, EXEC_PENDING, FILTER_PIDS, OPEN_PENDING,
    SOCK_PENDING,
    draft::{Draft, StackKind},
    kernel::{
        config, count_drop, current_ids, current_task, fill_header, filter_mode, passes_filter,
        pid_in_filter, read_field, read_kernel, wanted,
    },
};

const CLONE_THREAD: u64 = 0x0001_0000;

#[inline(always)]
pub fn forked(ctx: &TracePointContext) -> u32 {
    let tp = &config().tp;
    let (Some(child), Some(clone_flags)) = (
        read_field::<i32, _>(ctx, tp.newtask_pid),
        read_field::<u64, _>(ctx, tp.newtask_clone_flags),
    ) else {
        return 0;
    };
    if clone_flags & CLONE_THREAD != 0 {
        return 0;
    }
    let (pid, _) = current_ids();
    // Before anything is reported: a traced tree takes in its children as they are born.
    if filter_mode() & FILTER_TREE != 0 && pid_in_filter(pid) {
        let _ = FILTER_PIDS.insert(child as u32, 1, 0);
    }
    if !wanted(EventKind::Fork.wire()) || !passes_filter(pid) {
        return 0;
    }
    let snapshot = crate::user_stack::send();
    let Some((mut draft, record)) = Draft::start::<ForkRecord>() else {
        count_drop(EventKind::Fork.wire());
        return 0;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let kstack = draft.push_stack(ctx, StackKind::Kernel);
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::Fork.wire(), 0);
        (*record).child_pid = child as u32;
        (*record)._reserved = 0;
        (*record).clone_flags = clone_flags;
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(EventKind::Fork.wire());
    0
}

#[inline(always)]
pub fn exited(ctx: &TracePointContext) -> u32 {
    let (pid, tid) = current_ids();
    // A thread that dies in a syscall never reaches its exit tracepoint: forget its entries.
    let _ = OPEN_PENDING.remove(tid);
    let _ = CHANGE_PENDING.remove(tid);
    let _ = CHANGE_DIR2.remove(tid);
    let _ = SOCK_PENDING.remove(tid);
    let _ = EXEC_PENDING.remove(tid);
    let _ = CONNECT_KSTACK.remove(tid);

    let group_offset = config().tp.exit_group_dead;
    let process_ended = if group_offset == OFFSET_UNKNOWN {
        pid == tid
    } else {
        read_field::<u8, _>(ctx, group_offset).unwrap_or(0) != 0
    };
    if !process_ended {
        return 0;
    }
    let traced = passes_filter(pid);
    // The pid may be reused by an unrelated process: it leaves the filter with this one.
    let _ = FILTER_PIDS.remove(pid);
    if !traced || !wanted(EventKind::Exit.wire()) {
        return 0;
    }
    let Some((mut draft, record)) = Draft::start::<ExitRecord>() else {
        count_drop(EventKind::Exit.wire());
        return 0;
    };
    let exit_code = read_kernel::<i32>(current_task(), config().kernel.task_exit_code);
    let ustack = draft.push_stack(ctx, StackKind::User(user_stack::NONE));
    let kstack = draft.push_stack(ctx, StackKind::Kernel);
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::Exit.wire(), 0);
        let header = &raw const (*record).header;
        (*record).exit_code = exit_code.unwrap_or(0);
        (*record)._reserved = 0;
        (*record).lifetime_ns = match (*header).start_ns {
            0 => 0,
            start => (*header).ts_ns.saturating_sub(start),
        };
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(EventKind::Exit.wire());
    0
}
