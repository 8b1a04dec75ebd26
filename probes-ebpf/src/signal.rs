//! Signals as they are generated (`signal:signal_generate`), in the sender's context: a
//! process's `kill`, or the kernel on its behalf (a fault's SIGSEGV, a child's SIGCHLD, a
//! broken pipe's SIGPIPE), with the sender's stacks.

use aya_ebpf::programs::TracePointContext;
use ringside_common::{COMM_LEN, EventKind, FILTER_PID, SignalRecord, StackHead, user_stack};

/// The signal a child's end is notified with.
const SIGCHLD: i32 = 17;

use crate::{
    draft::{Draft, StackKind},
    kernel::{
        config, count_drop, current_ids, fill_header, filter_mode, passes_filter, pid_in_filter,
        read_field, wanted,
    },
};

#[inline(always)]
pub fn generated(ctx: &TracePointContext) -> u32 {
    if !wanted(EventKind::Signal.wire()) {
        return 0;
    }
    let tp = &config().tp;
    let (pid, _) = current_ids();
    let target_pid = read_field::<i32, _>(ctx, tp.signal_pid).unwrap_or(0) as u32;
    // A signal to a traced process is news about it, whoever sent it.
    if !passes_filter(pid) && !target_traced(target_pid) {
        return 0;
    }
    let sig = read_field::<i32, _>(ctx, tp.signal_sig).unwrap_or(0);
    let code = read_field::<i32, _>(ctx, tp.signal_code).unwrap_or(0);
    // A child's notice to its parent as it exits (SIGCHLD, CLD_EXITED to CLD_DUMPED) is sent from its
    // exit path, whose stacks its exit event already carries: one per process, so they are
    // left out rather than copied again.
    // CLD_EXITED, CLD_KILLED, CLD_DUMPED: a stop or a trap is news, with its stacks.
    let routine = sig == SIGCHLD && (1..=3).contains(&code);
    let snapshot = if routine {
        user_stack::NONE
    } else {
        crate::user_stack::send()
    };
    let Some((mut draft, record)) = Draft::start::<SignalRecord>() else {
        count_drop(EventKind::Signal.wire());
        return 0;
    };
    let (ustack, kstack) = if routine {
        (StackHead::default(), StackHead::default())
    } else {
        (
            draft.push_stack(ctx, StackKind::User(snapshot)),
            draft.push_stack(ctx, StackKind::Kernel),
        )
    };
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::Signal.wire(), 0);
        (*record).sig = sig;
        (*record).errno = read_field::<i32, _>(ctx, tp.signal_errno).unwrap_or(0);
        (*record).code = code;
        (*record).target_pid = target_pid;
        (*record).group = read_field::<i32, _>(ctx, tp.signal_group).unwrap_or(0) as u32;
        (*record).result = read_field::<i32, _>(ctx, tp.signal_result).unwrap_or(0) as u32;
        (*record).target_comm =
            read_field::<[u8; COMM_LEN], _>(ctx, tp.signal_comm).unwrap_or([0; COMM_LEN]);
        (*record).ustack = ustack;
        (*record).kstack = kstack;
    }
    draft.send(EventKind::Signal.wire());
    0
}

/// Whether the pid filter is on and names `pid`. Kept out of line: inlined, the compiler
/// merges its map lookup with the filter's into one test of two pointers, which the verifier
/// refuses.
#[inline(never)]
pub fn target_traced(pid: u32) -> bool {
    filter_mode() & FILTER_PID != 0 && core::hint::black_box(pid_in_filter(pid))
}
