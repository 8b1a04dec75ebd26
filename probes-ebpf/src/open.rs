//! `openat`, `openat2` and `open`: arguments kept at entry, one record at exit with the result,
//! the latency, the path as the caller passed it and the caller's user stack.

use core::mem::offset_of;

use aya_ebpf::programs::TracePointContext;
use ringside_common::{
    EventKind, FLAG_DIR_DELETED, FLAG_DIR_PARTIAL, FLAG_PATH_TRUNCATED, FLAG_USER_READ_FAILED,
    OpenRecord, PATH_LEN, open_syscall,
};

use crate::{
    OPEN_PENDING,
    draft::{Draft, StackKind},
    kernel::{config, count_drop, current_ids, fill_header, now_ns, passes_filter, read_field},
    paths::{AT_FDCWD, Finish, Walk, is_relative, send_with_walk},
    user_stack,
};

#[derive(Clone, Copy)]
pub enum Variant {
    Openat,
    Openat2,
    Open,
}

/// What the entry saw, kept until the exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct OpenPending {
    ts_ns: u64,
    filename: u64,
    dfd: i32,
    flags: u32,
    mode: u32,
    syscall: u32,
}

/// `struct open_how`, the head of openat2's third argument.
#[repr(C)]
#[derive(Clone, Copy)]
struct OpenHow {
    flags: u64,
    mode: u64,
}

#[inline(always)]
pub fn enter(ctx: &TracePointContext, variant: Variant) -> u32 {
    let (pid, tid) = current_ids();
    if !passes_filter(pid) {
        return 0;
    }
    let Some(pending) = read_arguments(ctx, variant) else {
        return 0;
    };
    if OPEN_PENDING.insert(tid, pending, 0).is_err() {
        count_drop(EventKind::Open.wire());
    }
    0
}

#[inline(always)]
fn read_arguments(ctx: &TracePointContext, variant: Variant) -> Option<OpenPending> {
    let tp = &config().tp;
    let (dfd, filename, flags, mode, syscall) = match variant {
        Variant::Openat => (
            read_field::<u64, _>(ctx, tp.openat_dfd)? as i32,
            read_field::<u64, _>(ctx, tp.openat_filename)?,
            read_field::<u64, _>(ctx, tp.openat_flags)?,
            read_field::<u64, _>(ctx, tp.openat_mode)?,
            open_syscall::OPENAT,
        ),
        Variant::Openat2 => {
            let how_ptr = read_field::<u64, _>(ctx, tp.openat2_how)?;
            // SAFETY: bpf_probe_read_user checks the user address and fails instead of faulting.
            let how = unsafe { aya_ebpf::helpers::bpf_probe_read_user(how_ptr as *const OpenHow) }
                .unwrap_or(OpenHow { flags: 0, mode: 0 });
            (
                read_field::<u64, _>(ctx, tp.openat2_dfd)? as i32,
                read_field::<u64, _>(ctx, tp.openat2_filename)?,
                how.flags,
                how.mode,
                open_syscall::OPENAT2,
            )
        }
        Variant::Open => (
            AT_FDCWD,
            read_field::<u64, _>(ctx, tp.open_filename)?,
            read_field::<u64, _>(ctx, tp.open_flags)?,
            read_field::<u64, _>(ctx, tp.open_mode)?,
            open_syscall::OPEN,
        ),
    };
    Some(OpenPending {
        ts_ns: now_ns(),
        filename,
        dfd,
        flags: flags as u32,
        mode: mode as u32,
        syscall,
    })
}

#[inline(always)]
pub fn exit(ctx: &TracePointContext) -> u32 {
    let (_, tid) = current_ids();
    // SAFETY: the value is copied out at once; only this thread writes its own entry.
    let Some(pending) = (unsafe { OPEN_PENDING.get(tid) }).copied() else {
        return 0;
    };
    let _ = OPEN_PENDING.remove(tid);
    let ret = read_field::<i64, _>(ctx, config().tp.sys_exit_ret).unwrap_or(0);

    // Before the event, so that the reader meets the copy first.
    let snapshot = user_stack::send();
    let Some((mut draft, record)) = Draft::start::<OpenRecord>() else {
        count_drop(EventKind::Open.wire());
        return 0;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let path_at = draft.len();
    let read = draft.push_user_str(pending.filename, PATH_LEN);
    let flags = match read {
        n if n < 0 => FLAG_USER_READ_FAILED,
        n if n as usize >= PATH_LEN => FLAG_PATH_TRUNCATED,
        _ => 0,
    };
    let relative = read > 1 && is_relative(draft.byte_at(path_at));
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, EventKind::Open.wire(), flags);
        (*record).path_len = if read > 0 { (read - 1) as u32 } else { 0 };
        (*record).ret = ret as i32;
        (*record).dfd = pending.dfd;
        (*record).flags = pending.flags;
        (*record).mode = pending.mode;
        (*record).latency_ns = (*record).header.ts_ns.saturating_sub(pending.ts_ns);
        (*record).syscall = pending.syscall;
        (*record).ustack = ustack;
        (*record).dir_len = 0;
        (*record)._reserved = 0;
    }
    if relative {
        let finish = Finish {
            kind: EventKind::Open.wire(),
            dir_len_at: offset_of!(OpenRecord, dir_len),
            partial: FLAG_DIR_PARTIAL,
            deleted: FLAG_DIR_DELETED,
        };
        send_with_walk(ctx, draft, Walk::BaseOf(pending.dfd), finish);
    } else {
        draft.send(EventKind::Open.wire());
    }
    0
}
