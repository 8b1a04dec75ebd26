//! Where a relative path starts, named in the kernel at the time of the call: the cwd's or a
//! directory fd's dentries walked up to the process's root, crossing mount points, with a
//! bounded loop. The names go into the record innermost first, each NUL-ended; userspace turns
//! them around. A directory that cannot be named whole (deleted, or deeper than the walk) is
//! reported as partial, never as a wrong path.

use ringside_common::{DIR_DEPTH_MAX, DIR_LEN_MAX, KOFFSET_UNKNOWN};

use aya_ebpf::{EbpfContext, programs::TracePointContext};

use crate::{
    WALK_REQUEST, WALKS,
    draft::Draft,
    kernel::{config, current_task, file_of_fd, read_kernel},
};

/// `AT_FDCWD`: a path relative to the cwd.
pub const AT_FDCWD: i32 = -100;

/// A `struct path`: a dentry on a mount.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Location {
    mnt: u64,
    dentry: u64,
}

/// What [`push_dir`] appended.
pub struct Dir {
    pub len: u32,
    /// The walk reached the process's root and nothing on the way was deleted.
    pub complete: bool,
    /// The walk reached the root, through a directory that was deleted (the names are those
    /// it had): the path is whole but no longer exists.
    pub deleted: bool,
}

impl Dir {
    /// Could not be walked.
    pub const UNNAMED: Dir = Dir {
        len: 0,
        complete: false,
        deleted: false,
    };
    /// Not asked for: nothing to name.
    pub const NAMED_NOTHING: Dir = Dir {
        len: 0,
        complete: true,
        deleted: false,
    };
}

impl Dir {
    /// The record's flags for it: `partial` when it was not named whole, `deleted` when it
    /// was but no longer exists.
    #[inline(always)]
    pub fn flags(&self, partial: u16, deleted: u16) -> u16 {
        if self.deleted {
            deleted
        } else if self.complete {
            0
        } else {
            partial
        }
    }
}

/// The `struct path` at `base + offset`.
#[inline(always)]
fn location_at(base: u64, offset: u32) -> Option<Location> {
    let k = &config().kernel;
    if offset == KOFFSET_UNKNOWN {
        return None;
    }
    Some(Location {
        mnt: read_kernel::<u64>(base, offset + k.path_mnt)?,
        dentry: read_kernel::<u64>(base, offset + k.path_dentry)?,
    })
}

/// The process's cwd and root (`task->fs->pwd`, `->root`). `task_fs` is unknown when any
/// offset of the walk is (userspace's `optional_offsets`): then nothing is walked.
#[inline(always)]
fn cwd_and_root() -> Option<(Location, Location)> {
    let k = &config().kernel;
    let fs = read_kernel::<u64>(current_task(), k.task_fs)?;
    Some((location_at(fs, k.fs_pwd)?, location_at(fs, k.fs_root)?))
}

/// What an fd names (`file->f_path`).
#[inline(always)]
fn location_of_fd(fd: i32) -> Option<Location> {
    location_at(file_of_fd(fd)?, config().kernel.file_path)
}

/// What a walk names.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Walk {
    /// The directory a path relative to this dirfd starts from: the cwd for [`AT_FDCWD`].
    BaseOf(i32),
    /// The file this fd names, its own name first.
    FileOf(i32),
}

/// Appends what `walk` names.
#[inline(always)]
pub fn push_walk(draft: &mut Draft, walk: Walk) -> Dir {
    let Some((cwd, root)) = cwd_and_root() else {
        return Dir::UNNAMED;
    };
    let start = match walk {
        Walk::BaseOf(AT_FDCWD) => Some(cwd),
        Walk::BaseOf(fd) | Walk::FileOf(fd) => location_of_fd(fd),
    };
    match start {
        Some(start) => push_dir(draft, start, root),
        None => Dir::UNNAMED,
    }
}

/// What `walk_dir` needs to finish a record a probe started.
#[repr(C)]
#[derive(Clone, Copy)]
pub struct WalkRequest {
    /// The record's length so far, in RECORD_SCRATCH.
    len: u32,
    kind: u16,
    /// The header's flags for a directory named in part, or deleted.
    partial: u16,
    deleted: u16,
    /// 1 for [`Walk::FileOf`].
    file: u16,
    fd: i32,
    /// Where the head's `dir_len` is.
    dir_len_at: u32,
}

/// Sends a record whose head is complete but for its directory: the walk and the send happen
/// in `walk_dir`, tail-called. Should the tail call fail, the record goes without it, marked
/// partial.
#[inline(always)]
pub fn send_with_walk<C: EbpfContext>(ctx: &C, mut draft: Draft, walk: Walk, finish: Finish) {
    let (fd, file) = match walk {
        Walk::BaseOf(fd) => (fd, 0),
        Walk::FileOf(fd) => (fd, 1),
    };
    let request = WalkRequest {
        len: draft.len() as u32,
        kind: finish.kind,
        partial: finish.partial,
        deleted: finish.deleted,
        file,
        fd,
        dir_len_at: finish.dir_len_at as u32,
    };
    if let Some(slot) = WALK_REQUEST.get_ptr_mut(0) {
        // SAFETY: this CPU's map value, written whole.
        unsafe { *slot = request };
        // SAFETY: the context is the one this program was called with.
        unsafe { WALKS.tail_call(ctx, 0) };
    }
    draft.add_flags(finish.partial);
    draft.send(finish.kind);
}

/// How `walk_dir` finishes a record: its kind, where its `dir_len` is, and its flags.
#[derive(Clone, Copy)]
pub struct Finish {
    pub kind: u16,
    pub dir_len_at: usize,
    pub partial: u16,
    pub deleted: u16,
}

/// `walk_dir`: walks what the request says, appends it, sets `dir_len` and the flags, sends.
#[inline(always)]
pub fn walk_and_send(_ctx: &TracePointContext) -> u32 {
    let Some(request) = WALK_REQUEST.get(0).copied() else {
        return 0;
    };
    let Some(mut draft) = Draft::resume(request.len) else {
        return 0;
    };
    let walk = if request.file != 0 {
        Walk::FileOf(request.fd)
    } else {
        Walk::BaseOf(request.fd)
    };
    let dir = push_walk(&mut draft, walk);
    draft.set_u32(request.dir_len_at, dir.len);
    draft.add_flags(dir.flags(request.partial, request.deleted));
    draft.send(request.kind);
    0
}

/// Whether a path the caller passed, whose first byte is `first`, is relative.
#[inline(always)]
pub fn is_relative(first: u8) -> bool {
    first != b'/'
}

/// Walks from `at` up to `root` (or the top of the mount tree), appending each name.
#[inline(always)]
fn push_dir(draft: &mut Draft, at: Location, root: Location) -> Dir {
    let k = &config().kernel;
    let start = draft.len();
    // 1 while every dentry passed was still hashed; kept without a branch (see below).
    let mut hashed: u64 = 1;
    let mut dentry = at.dentry;
    let mut mount = at.mnt.wrapping_sub(u64::from(k.mount_mnt));
    let mut mnt = at.mnt;
    for _ in 0..DIR_DEPTH_MAX {
        if dentry == root.dentry && mnt == root.mnt {
            return finished(draft, start, true, hashed == 0);
        }
        let (Some(mnt_root), Some(parent)) = (
            read_kernel::<u64>(mnt, k.vfsmount_root),
            read_kernel::<u64>(dentry, k.dentry_parent),
        ) else {
            return finished(draft, start, false, false);
        };
        if dentry == mnt_root {
            // The top of this mount: go on from where it is mounted, or stop at the top.
            let Some(up) = read_kernel::<u64>(mount, k.mount_parent) else {
                return finished(draft, start, false, false);
            };
            // The top of the mount tree without passing the process's root (a lazily
            // unmounted tree, a directory outside a chroot): not a path from its root.
            if up == mount || up == 0 {
                return finished(draft, start, false, false);
            }
            let Some(mountpoint) = read_kernel::<u64>(mount, k.mount_mountpoint) else {
                return finished(draft, start, false, false);
            };
            dentry = mountpoint;
            mount = up;
            mnt = up.wrapping_add(u64::from(k.mount_mnt));
            continue;
        }
        // The root of a tree that is mounted nowhere.
        if dentry == parent {
            return finished(draft, start, false, false);
        }
        // A deleted directory keeps its name and parent: the walk goes on, and says so. A
        // hashed dentry's `pprev` is a kernel address, whose top bit is set; a deleted one's
        // is null. Taken as arithmetic, not a comparison: a branch here would double the
        // states the verifier walks at every step.
        let pprev = read_kernel::<u64>(dentry, k.dentry_hash_pprev).unwrap_or(0);
        hashed &= pprev >> 63;
        let Some(name) = read_kernel::<u64>(dentry, k.dentry_name) else {
            return finished(draft, start, false, false);
        };
        if draft.push_name(name) == 0 || draft.len() - start > DIR_LEN_MAX {
            return finished(draft, start, false, false);
        }
        dentry = parent;
    }
    finished(draft, start, false, false)
}

/// `rooted`: the walk reached the process's root or the top of the mount tree.
#[inline(always)]
fn finished(draft: &Draft, start: usize, rooted: bool, deleted: bool) -> Dir {
    Dir {
        len: (draft.len() - start) as u32,
        complete: rooted && !deleted,
        deleted: rooted && deleted,
    }
}
