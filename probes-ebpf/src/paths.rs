//! Where a relative path starts, named in the kernel at the time of the call: the cwd's or a
//! directory fd's dentries walked up to the process's root, crossing mount points, with a
//! bounded loop. The names go into the record innermost first, each NUL-ended; userspace turns
//! them around. A directory that cannot be named whole (deleted, or deeper than the walk) is
//! reported as partial, never as a wrong path.

use ringside_common::{DIR_DEPTH_MAX, DIR_LEN_MAX, KOFFSET_UNKNOWN};

use crate::{
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
    if offset == KOFFSET_UNKNOWN || k.path_mnt == KOFFSET_UNKNOWN {
        return None;
    }
    Some(Location {
        mnt: read_kernel::<u64>(base, offset + k.path_mnt)?,
        dentry: read_kernel::<u64>(base, offset + k.path_dentry)?,
    })
}

/// The process's cwd and root (`task->fs->pwd`, `->root`).
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

/// Appends the directory a path relative to `dfd` starts from: the cwd for [`AT_FDCWD`].
#[inline(always)]
pub fn push_base_dir(draft: &mut Draft, dfd: i32) -> Dir {
    let Some((cwd, root)) = cwd_and_root() else {
        return Dir::UNNAMED;
    };
    let start = if dfd == AT_FDCWD {
        Some(cwd)
    } else {
        location_of_fd(dfd)
    };
    match start {
        Some(start) => push_dir(draft, start, root),
        None => Dir::UNNAMED,
    }
}

/// Appends the path of the file `fd` names, the file's own name first.
#[inline(always)]
pub fn push_file_of_fd(draft: &mut Draft, fd: i32) -> Dir {
    match (cwd_and_root(), location_of_fd(fd)) {
        (Some((_, root)), Some(file)) => push_dir(draft, file, root),
        _ => Dir::UNNAMED,
    }
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
    if k.mount_mnt == KOFFSET_UNKNOWN {
        return Dir::UNNAMED;
    }
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
            if up == mount || up == 0 {
                return finished(draft, start, true, hashed == 0);
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
