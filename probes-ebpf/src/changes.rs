//! Changes to files: removals, renames, new directories, modes, owners, lengths and links.
//! Every call's arguments are kept at its entry and one [`ChangeRecord`] is sent at its exit,
//! with the result, the latency, the paths as the caller passed them, the directories relative
//! paths start from (named in the kernel) and the caller's user stack.

use core::mem::offset_of;

use aya_ebpf::programs::TracePointContext;
use ringside_common::{
    ChangeRecord, DIR_TAIL_MAX, EventKind, FLAG_DIR_DELETED, FLAG_DIR_PARTIAL, FLAG_DIR2_DELETED,
    FLAG_DIR2_PARTIAL, FLAG_PATH_TRUNCATED, FLAG_PATH2_READ_FAILED, FLAG_PATH2_TRUNCATED,
    FLAG_USER_READ_FAILED, PATH_LEN, change_dir, change_syscall as call,
};

use aya_ebpf::helpers::bpf_probe_read_user;

use crate::{
    CHANGE_DIR2, CHANGE_PENDING, DIR_SCRATCH,
    draft::{Draft, StackKind},
    kernel::{
        config, count_drop, current_ids, fill_header, now_ns, passes_filter, syscall_arg, wanted,
    },
    paths::{AT_FDCWD, Dir, Finish, Walk, is_relative, push_walk, send_with_walk},
    user_stack,
};

/// What the entry saw, kept until the exit.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct ChangePending {
    ts_ns: u64,
    kind: u16,
    _reserved: u16,
    syscall: u32,
    /// User pointers to the paths, 0 when the call has none.
    path: u64,
    path2: u64,
    dfd: i32,
    dfd2: i32,
    flags: u32,
    mode: u32,
    uid: u32,
    gid: u32,
    length: i64,
    /// The second path is a symlink's target: text, not a place.
    path2_is_target: u32,
    /// `dfd` is the fd of an fd-based call, not a directory.
    fd_call: u32,
}

#[inline(always)]
pub fn enter(ctx: &TracePointContext, syscall: u32) -> u32 {
    let (pid, tid) = current_ids();
    let kind = kind_of(syscall);
    if !wanted(kind.wire()) || !passes_filter(pid) {
        return 0;
    }
    let pending = read_arguments(ctx, syscall, kind);
    // `syscall` is a constant in each entry program: only these three carry this walk.
    let two_dirfds = matches!(syscall, call::RENAMEAT | call::RENAMEAT2 | call::LINKAT);
    if two_dirfds && pending.dfd2 != pending.dfd && pending.path2 != 0 {
        walk_second_dir(tid, pending.dfd2, pending.path2);
    }
    if CHANGE_PENDING.insert(tid, pending, 0).is_err() {
        let _ = CHANGE_DIR2.remove(tid);
        count_drop(kind.wire());
    }
    0
}

/// A directory walked at a call's entry, kept until its exit.
#[repr(C)]
pub struct WalkedDir {
    head: WalkedHead,
    names: [u8; DIR_TAIL_MAX],
}

/// Its counts, which the walk writes before its names.
#[repr(C)]
pub struct WalkedHead {
    len: u32,
    /// What [`Dir::flags`] says, with 1 for partial and 2 for deleted.
    state: u32,
}

/// Walks the directory a second, relative path starts from (its dirfd differs from the
/// first's) and keeps it in CHANGE_DIR2 for the exit.
#[inline(always)]
fn walk_second_dir(tid: u32, dfd: i32, path: u64) {
    // SAFETY: bpf_probe_read_user checks the user address and fails instead of faulting.
    let first = unsafe { bpf_probe_read_user(path as *const u8) }.unwrap_or(b'/');
    if !is_relative(first) {
        return;
    }
    let Some((mut draft, head)) = Draft::start_in::<WalkedHead>(&DIR_SCRATCH) else {
        return;
    };
    let dir = push_walk(&mut draft, Walk::BaseOf(dfd));
    // SAFETY: `head` is the start of this CPU's scratch, larger than a WalkedDir, whose
    // names are where the draft wrote them: right after the head.
    unsafe {
        (*head).len = dir.len;
        (*head).state = u32::from(dir.flags(1, 2));
        let _ = CHANGE_DIR2.insert(tid, &*head.cast::<WalkedDir>(), 0);
    }
}

/// Appends the directory [`walk_second_dir`] kept for this thread, if it did.
#[inline(always)]
fn push_dir_walked_at_entry(draft: &mut Draft, tid: u32) -> Dir {
    let Some(walked) = CHANGE_DIR2.get_ptr(tid) else {
        return Dir::UNNAMED;
    };
    // SAFETY: a map value of one WalkedDir.
    let (len, state, names) = unsafe {
        (
            (*walked).head.len as usize,
            (*walked).head.state,
            (&raw const (*walked).names).cast::<u8>(),
        )
    };
    let copied = len <= DIR_TAIL_MAX && draft.push_kernel(names, len);
    let _ = CHANGE_DIR2.remove(tid);
    Dir {
        len: if copied { len as u32 } else { 0 },
        complete: copied && state == 0,
        deleted: copied && state == 2,
    }
}

#[inline(always)]
fn kind_of(syscall: u32) -> EventKind {
    match syscall {
        call::UNLINK | call::UNLINKAT | call::RMDIR => EventKind::Unlink,
        call::RENAME | call::RENAMEAT | call::RENAMEAT2 => EventKind::Rename,
        call::MKDIR | call::MKDIRAT => EventKind::Mkdir,
        call::CHMOD | call::FCHMOD | call::FCHMODAT | call::FCHMODAT2 => EventKind::Chmod,
        call::CHOWN | call::FCHOWN | call::LCHOWN | call::FCHOWNAT => EventKind::Chown,
        call::TRUNCATE | call::FTRUNCATE => EventKind::Truncate,
        call::LINK | call::LINKAT => EventKind::Link,
        _ => EventKind::Symlink,
    }
}

/// Each call's arguments, by position (see its `sys_enter_*` format file).
#[inline(always)]
fn read_arguments(ctx: &TracePointContext, syscall: u32, kind: EventKind) -> ChangePending {
    let mut p = ChangePending {
        ts_ns: now_ns(),
        kind: kind.wire(),
        _reserved: 0,
        syscall,
        path: 0,
        path2: 0,
        dfd: AT_FDCWD,
        dfd2: AT_FDCWD,
        flags: 0,
        mode: 0,
        uid: u32::MAX,
        gid: u32::MAX,
        length: 0,
        path2_is_target: 0,
        fd_call: 0,
    };
    let a = |i| syscall_arg(ctx, i);
    match syscall {
        call::UNLINK | call::RMDIR => p.path = a(0),
        call::TRUNCATE => (p.path, p.length) = (a(0), a(1) as i64),
        call::MKDIR | call::CHMOD => (p.path, p.mode) = (a(0), a(1) as u32),
        call::CHOWN | call::LCHOWN => (p.path, p.uid, p.gid) = (a(0), a(1) as u32, a(2) as u32),
        call::UNLINKAT => (p.dfd, p.path, p.flags) = (a(0) as i32, a(1), a(2) as u32),
        call::MKDIRAT | call::FCHMODAT => {
            (p.dfd, p.path, p.mode) = (a(0) as i32, a(1), a(2) as u32)
        }
        call::FCHMODAT2 => {
            (p.dfd, p.path, p.mode, p.flags) = (a(0) as i32, a(1), a(2) as u32, a(3) as u32)
        }
        call::FCHOWNAT => {
            (p.dfd, p.path, p.uid, p.gid) = (a(0) as i32, a(1), a(2) as u32, a(3) as u32);
            p.flags = a(4) as u32;
        }
        call::FCHMOD => (p.dfd, p.mode, p.fd_call) = (a(0) as i32, a(1) as u32, 1),
        call::FCHOWN => {
            (p.dfd, p.uid, p.gid, p.fd_call) = (a(0) as i32, a(1) as u32, a(2) as u32, 1)
        }
        call::FTRUNCATE => (p.dfd, p.length, p.fd_call) = (a(0) as i32, a(1) as i64, 1),
        call::RENAME | call::LINK => (p.path, p.path2) = (a(0), a(1)),
        call::RENAMEAT | call::RENAMEAT2 | call::LINKAT => {
            (p.dfd, p.path, p.dfd2, p.path2) = (a(0) as i32, a(1), a(2) as i32, a(3));
            if syscall != call::RENAMEAT {
                p.flags = a(4) as u32;
            }
        }
        call::SYMLINK => (p.path, p.path2, p.path2_is_target) = (a(1), a(0), 1),
        _ => {
            // symlinkat(target, newdfd, linkpath): the link is the path, the target the second.
            (p.path2, p.dfd, p.path, p.path2_is_target) = (a(0), a(1) as i32, a(2), 1);
        }
    }
    p
}

#[inline(always)]
pub fn exit(ctx: &TracePointContext) -> u32 {
    let (_, tid) = current_ids();
    // SAFETY: the value is copied out at once; only this thread writes its own entry.
    let Some(pending) = (unsafe { CHANGE_PENDING.get(tid) }).copied() else {
        return 0;
    };
    let _ = CHANGE_PENDING.remove(tid);
    let ret = crate::kernel::read_field::<i64, _>(ctx, config().tp.sys_exit_ret).unwrap_or(0);

    let snapshot = user_stack::send();
    let Some((mut draft, record)) = Draft::start::<ChangeRecord>() else {
        count_drop(pending.kind);
        return 0;
    };
    let ustack = draft.push_stack(ctx, StackKind::User(snapshot));
    let mut flags = 0;
    let path_at = draft.len();
    let path_len = push_path(
        &mut draft,
        pending.path,
        &mut flags,
        FLAG_PATH_TRUNCATED,
        FLAG_USER_READ_FAILED,
    );
    let path2_at = draft.len();
    let path2_len = push_path(
        &mut draft,
        pending.path2,
        &mut flags,
        FLAG_PATH2_TRUNCATED,
        FLAG_PATH2_READ_FAILED,
    );
    let relative = path_len > 0 && is_relative(draft.byte_at(path_at));
    let relative2 =
        pending.path2_is_target == 0 && path2_len > 0 && is_relative(draft.byte_at(path2_at));
    let same_dir = pending.dfd2 == pending.dfd;
    // The second directory first: walked at the entry (where the verifier's budget had room
    // for it) and copied here, before the one walk this program makes, whose many ways out
    // must not each be followed by more work.
    let dir2 = if relative2 && !same_dir {
        push_dir_walked_at_entry(&mut draft, tid)
    } else {
        // Walked at the entry but not wanted now (the path could not be read here): a stale
        // entry must not be taken for a later call's.
        let _ = CHANGE_DIR2.remove(tid);
        Dir::NAMED_NOTHING
    };
    let (dir_names, walk) = if pending.fd_call != 0 {
        (change_dir::FILE, Some(Walk::FileOf(pending.dfd)))
    } else if relative || (relative2 && same_dir) {
        (change_dir::BASE, Some(Walk::BaseOf(pending.dfd)))
    } else {
        (change_dir::NONE, None)
    };
    flags |= dir2.flags(FLAG_DIR2_PARTIAL, FLAG_DIR2_DELETED);
    // SAFETY: `record` is the head of this CPU's draft, written field by field.
    unsafe {
        fill_header(&raw mut (*record).header, pending.kind, flags);
        (*record).ret = ret as i32;
        (*record).syscall = pending.syscall;
        (*record).latency_ns = (*record).header.ts_ns.saturating_sub(pending.ts_ns);
        (*record).dfd = pending.dfd;
        (*record).dfd2 = pending.dfd2;
        (*record).flags = pending.flags;
        (*record).mode = pending.mode;
        (*record).uid = pending.uid;
        (*record).gid = pending.gid;
        (*record).length = pending.length;
        (*record).path_len = path_len;
        (*record).path2_len = path2_len;
        (*record).dir_len = 0;
        (*record).dir2_len = dir2.len;
        (*record).dir_names = dir_names;
        (*record)._reserved = 0;
        (*record).ustack = ustack;
    }
    match walk {
        Some(walk) => {
            let finish = Finish {
                kind: pending.kind,
                dir_len_at: offset_of!(ChangeRecord, dir_len),
                partial: FLAG_DIR_PARTIAL,
                deleted: FLAG_DIR_DELETED,
            };
            send_with_walk(ctx, draft, walk, finish);
        }
        None => draft.send(pending.kind),
    }
    0
}

/// Appends a path from the caller's memory; returns its length, and says in `flags` when it
/// was cut or unreadable.
#[inline(always)]
fn push_path(draft: &mut Draft, src: u64, flags: &mut u16, truncated: u16, failed: u16) -> u32 {
    if src == 0 {
        return 0;
    }
    match draft.push_user_str(src, PATH_LEN) {
        n if n < 0 => {
            *flags |= failed;
            0
        }
        n if n as usize >= PATH_LEN => {
            *flags |= truncated;
            (n - 1) as u32
        }
        n if n > 0 => (n - 1) as u32,
        _ => 0,
    }
}
