//! `execve` / `execveat`. The filename, argv and the caller's user stack must be read at entry,
//! while the old image still exists; the record is completed and sent when the result is known:
//! `sched:sched_process_exec` for a success (it names the thread that called exec, which may
//! differ from the one that returns), `sys_exit_execve` for a failure.

use core::{ffi::c_void, mem::offset_of};

use aya_ebpf::{
    EbpfContext,
    helpers::{
        bpf_probe_read_user,
        generated::{
            bpf_probe_read_kernel, bpf_probe_read_kernel_str,
            bpf_probe_read_user as bpf_probe_read_user_raw, bpf_probe_read_user_str,
        },
    },
    programs::TracePointContext,
};
use ringside_common::{
    ARGC_MAX, ARGV_LEN, EventKind, ExecRecord, FLAG_ARGV_FROM_IMAGE, FLAG_ARGV_TRUNCATED,
    FLAG_ARGV_UNREADABLE, FLAG_DIR_DELETED, FLAG_DIR_PARTIAL, FLAG_PATH_TRUNCATED,
    FLAG_USER_READ_FAILED, PATH_LEN, Stack,
};

use crate::{
    EXEC_PENDING, EXEC_SCRATCH,
    draft::Draft,
    kernel::{
        StackKind, capture_stack, config, count_drop, current_ids, current_task, fill_header,
        now_ns, passes_filter, passes_filter_but_comm, read_field, read_kernel, syscall_arg,
    },
    paths::{AT_FDCWD, Finish, Walk, is_relative, send_with_walk},
};

#[derive(Clone, Copy)]
pub enum Variant {
    Execve,
    Execveat,
}

/// What an exec's entry read, kept until its result: the record's head, and its stack and
/// strings at their full sizes (they go into the record's tail at the lengths they have).
#[repr(C)]
pub struct ExecPending {
    record: ExecRecord,
    ustack: Stack,
    filename: [u8; PATH_LEN],
    argv: [u8; ARGV_LEN],
}

/// A pending exec followed by slack: each argument is read with a bound of "what is left of
/// `argv`", and the verifier only accepts that if offset + bound always fits in the value.
#[repr(C)]
pub struct ExecScratch {
    pending: ExecPending,
    slack: [u8; ARGV_LEN],
}

#[inline(always)]
pub fn enter(ctx: &TracePointContext, variant: Variant) -> u32 {
    let (pid, tid) = current_ids();
    // The command name changes with the exec, so its filter is applied when the result is sent.
    if !passes_filter_but_comm(pid) {
        return 0;
    }
    let tp = &config().tp;
    let (filename_offset, argv_offset) = match variant {
        Variant::Execve => (tp.execve_filename, tp.execve_argv),
        Variant::Execveat => (tp.execveat_filename, tp.execveat_argv),
    };
    let filename = read_field::<u64, _>(ctx, filename_offset).unwrap_or(0);
    let argv = read_field::<u64, _>(ctx, argv_offset).unwrap_or(0);
    let Some(scratch) = EXEC_SCRATCH.get_ptr_mut(0) else {
        return 0;
    };
    // SAFETY: `scratch` is this CPU's map value, large enough for an ExecScratch; programs do not
    // migrate between CPUs while running.
    unsafe {
        let pending = &raw mut (*scratch).pending;
        let mut flags = read_filename(pending, filename);
        flags |= read_argv(scratch, argv);
        (*pending).record.header.flags = flags;
        (*pending).record.stack_ns = now_ns();
        // Kept where the record has room until the result: where a relative name starts.
        (*pending).record._reserved = match variant {
            Variant::Execve => AT_FDCWD as u32,
            Variant::Execveat => syscall_arg(ctx, 0) as u32,
        };
        capture_stack(
            ctx,
            &raw mut (*pending).ustack,
            StackKind::User(crate::user_stack::send()),
        );
        if EXEC_PENDING.insert(tid, &*pending, 0).is_err() {
            count_drop(EventKind::Exec.wire());
        }
    }
    0
}

/// # Safety
/// `pending` must be valid for writes.
#[inline(always)]
unsafe fn read_filename(pending: *mut ExecPending, filename: u64) -> u16 {
    // SAFETY: the destination is the pending exec's own `filename` array and the bound its size.
    let read = unsafe {
        bpf_probe_read_user_str(
            (&raw mut (*pending).filename).cast::<c_void>(),
            PATH_LEN as u32,
            filename as *const c_void,
        )
    };
    let (len, flags) = match read {
        n if n <= 0 => (0, FLAG_USER_READ_FAILED),
        n if n as usize >= PATH_LEN => ((n - 1) as u32, FLAG_PATH_TRUNCATED),
        n => ((n - 1) as u32, 0),
    };
    // SAFETY: as above.
    unsafe { (*pending).record.filename_len = len };
    flags
}

/// Copies up to `ARGC_MAX` arguments, NUL-separated, into `argv`; marks truncation.
///
/// # Safety
/// `scratch` must be valid for writes.
#[inline(always)]
unsafe fn read_argv(scratch: *mut ExecScratch, argv: u64) -> u16 {
    // SAFETY: `base` points into the scratch value; every write below stays within `argv` plus
    // `slack` because offset < ARGV_LEN and bound <= ARGV_LEN.
    let base = unsafe { (&raw mut (*scratch).pending.argv).cast::<u8>() };
    let mut offset: usize = 0;
    let mut argc: u32 = 0;
    let mut flags = 0;
    for index in 0..=ARGC_MAX {
        // SAFETY: bpf_probe_read_user checks the user address and fails instead of faulting.
        let arg = match unsafe { bpf_probe_read_user((argv + u64::from(index) * 8) as *const u64) }
        {
            Ok(0) => break,
            Ok(arg) => arg,
            Err(_) => {
                flags |= FLAG_ARGV_UNREADABLE;
                break;
            }
        };
        if index == ARGC_MAX || offset >= ARGV_LEN {
            flags |= FLAG_ARGV_TRUNCATED;
            break;
        }
        let room = ARGV_LEN - offset;
        // SAFETY: see above; the helper writes at most `room` bytes and always NUL-terminates.
        let read = unsafe {
            bpf_probe_read_user_str(
                base.add(offset & (ARGV_LEN - 1)).cast::<c_void>(),
                room as u32,
                arg as *const c_void,
            )
        };
        if read <= 0 {
            flags |= FLAG_ARGV_UNREADABLE;
            break;
        }
        offset += read as usize;
        argc += 1;
        if read as usize >= room {
            flags |= FLAG_ARGV_TRUNCATED;
            break;
        }
    }
    // SAFETY: plain field stores into the scratch value.
    unsafe {
        (*scratch).pending.record.argc = argc;
        (*scratch).pending.record.argv_len = offset.min(ARGV_LEN) as u32;
    }
    flags
}

/// `sched:sched_process_exec`: the new image runs; send the record its caller started.
#[inline(always)]
pub fn succeeded(ctx: &TracePointContext) -> u32 {
    let Some(old_tid) = read_field::<i32, _>(ctx, config().tp.exec_old_pid) else {
        return 0;
    };
    if let Some(pending) = EXEC_PENDING.get_ptr_mut(old_tid as u32) {
        // SAFETY: a map value of one ExecPending, which no other program touches for this tid
        // while its exec runs.
        unsafe { read_from_image(ctx, pending) };
    }
    send(ctx, old_tid as u32, 0);
    0
}

/// Replaces what the entry read with what the new image holds: the filename the kernel
/// executed and argv as the kernel just copied it to the new stack. The entry may have found
/// neither readable: a child that calls exec right after fork has not yet touched the pages
/// where its string literals live, and a BPF program cannot fault them in. Kept as read at
/// entry where the image cannot be read.
///
/// # Safety
/// `pending` must be valid for writes.
#[inline(always)]
unsafe fn read_from_image(ctx: &TracePointContext, pending: *mut ExecPending) {
    let tp = &config().tp;
    let k = &config().kernel;
    // SAFETY (this block): the destinations are the pending exec's own arrays, the bounds their
    // sizes; the helpers check their source addresses and fail instead of faulting.
    unsafe {
        // `__data_loc char[] filename`: the string's offset in the record, in the low 16 bits.
        if let Some(location) = read_field::<u32, _>(ctx, tp.exec_filename) {
            let at = (ctx.as_ptr() as u64) + u64::from(location & 0xffff);
            let read = bpf_probe_read_kernel_str(
                (&raw mut (*pending).filename).cast::<c_void>(),
                PATH_LEN as u32,
                at as *const c_void,
            );
            if read > 0 {
                (*pending).record.filename_len = (read - 1) as u32;
            }
        }
        let mm = read_kernel::<u64>(current_task(), k.task_mm).unwrap_or(0);
        let start = read_kernel::<u64>(mm, k.mm_arg_start).unwrap_or(0);
        let end = read_kernel::<u64>(mm, k.mm_arg_end).unwrap_or(0);
        if start == 0 || end <= start {
            return;
        }
        let whole = end - start;
        let len = if whole > ARGV_LEN as u64 {
            ARGV_LEN as u32
        } else {
            whole as u32
        };
        let read = bpf_probe_read_user_raw(
            (&raw mut (*pending).argv).cast::<c_void>(),
            len,
            start as *const c_void,
        );
        if read != 0 {
            return;
        }
        let mut flags =
            (*pending).record.header.flags & !(FLAG_ARGV_TRUNCATED | FLAG_ARGV_UNREADABLE);
        flags |= FLAG_ARGV_FROM_IMAGE;
        if whole > ARGV_LEN as u64 {
            flags |= FLAG_ARGV_TRUNCATED;
        }
        (*pending).record.header.flags = flags;
        (*pending).record.argv_len = len;
    }
}

/// `sys_exit_execve` / `sys_exit_execveat`: only failures are left here; successes were sent by
/// [`succeeded`], which removed their pending entry.
#[inline(always)]
pub fn returned(ctx: &TracePointContext) -> u32 {
    let (_, tid) = current_ids();
    let ret = read_field::<i64, _>(ctx, config().tp.sys_exit_ret).unwrap_or(0);
    if ret < 0 {
        send(ctx, tid, ret as i32);
    } else {
        let _ = EXEC_PENDING.remove(tid);
    }
    0
}

#[inline(always)]
fn send(ctx: &TracePointContext, pending_tid: u32, ret: i32) {
    let Some(pending) = EXEC_PENDING.get_ptr(pending_tid) else {
        return;
    };
    let (pid, _) = current_ids();
    if !passes_filter(pid) {
        let _ = EXEC_PENDING.remove(pending_tid);
        return;
    }
    if !assemble(ctx, pending_tid, pending, ret) {
        count_drop(EventKind::Exec.wire());
    }
    let _ = EXEC_PENDING.remove(pending_tid);
}

/// Builds the record from what the entry read and sends it; `false` when it could not be built.
/// A relative filename's record is sent by `walk_dir`, tail-called: the pending entry is
/// removed first, since nothing comes back here.
#[inline(always)]
fn assemble(
    ctx: &TracePointContext,
    pending_tid: u32,
    pending: *const ExecPending,
    ret: i32,
) -> bool {
    let Some((mut draft, record)) = Draft::start::<ExecRecord>() else {
        return false;
    };
    // SAFETY: `pending` is a map value of one ExecPending; `record` the head of this CPU's
    // draft. The head is copied whole (one helper call), then rewritten for the task that now
    // runs.
    unsafe {
        let head = &raw const (*pending).record;
        if bpf_probe_read_kernel(
            record.cast::<c_void>(),
            size_of::<ExecRecord>() as u32,
            head.cast::<c_void>(),
        ) != 0
        {
            return false;
        }
        let ustack = draft.push_taken_stack(&raw const (*pending).ustack);
        let filename = (&raw const (*pending).filename).cast::<u8>();
        let argv = (&raw const (*pending).argv).cast::<u8>();
        let filename_at = draft.len();
        if !draft.push_kernel(filename, (*head).filename_len as usize)
            || !draft.push_kernel(argv, (*head).argv_len as usize)
        {
            return false;
        }
        let relative = (*head).filename_len > 0 && is_relative(draft.byte_at(filename_at));
        let dfd = (*head)._reserved as i32;
        fill_header(
            &raw mut (*record).header,
            EventKind::Exec.wire(),
            (*head).header.flags,
        );
        (*record).ret = ret;
        (*record).ustack = ustack;
        (*record).dir_len = 0;
        (*record)._reserved = 0;
        if relative {
            let finish = Finish {
                kind: EventKind::Exec.wire(),
                dir_len_at: offset_of!(ExecRecord, dir_len),
                partial: FLAG_DIR_PARTIAL,
                deleted: FLAG_DIR_DELETED,
            };
            let _ = EXEC_PENDING.remove(pending_tid);
            send_with_walk(ctx, draft, Walk::BaseOf(dfd), finish);
            return true;
        }
    }
    draft.send(EventKind::Exec.wire());
    true
}
