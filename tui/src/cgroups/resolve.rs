//! Cgroup v2 ids to paths below the cgroup2 mount, cached.
//!
//! `bpf_get_current_cgroup_id()` gives the kernfs id of the process's cgroup v2 directory. On
//! 64-bit kernels kernfs also uses that id as the directory's inode number, so the id is what
//! `stat` (and `readdir`) show for the directory in the cgroup2 filesystem, and it is what
//! kernfs puts in file handles of type `FILEID_KERNFS`. So `open_by_handle_at` opens the
//! directory straight from the id, and the fd's /proc/self/fd link names its path: one syscall
//! and one readlink per new id. That needs CAP_DAC_READ_SEARCH (ringside runs as root); where
//! handles do not work, a walk of the cgroup2 tree maps every directory's inode to its path.
//!
//! Answers are cached in a bounded LRU. Ids are not reused (64-bit kernfs ids only grow), so a
//! path stays right for its id; it is re-checked with a `stat` every few seconds only to notice
//! that the cgroup was removed. A removed or unknown id is remembered as gone for a second,
//! so a flood of events from it costs a lookup in the cache, not a syscall or a walk each.

use std::fs::File;
use std::io;
use std::num::NonZeroUsize;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::fs::{DirEntryExt, MetadataExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

use lru::LruCache;

/// How many ids the cache remembers; the least recently used is forgotten first.
pub const CACHE_ENTRIES: usize = 16_384;

/// The most directories one walk of the cgroup tree visits.
pub const WALK_LIMIT: usize = 100_000;

/// How long a gone (or unknown) id is answered from the cache before it is looked up again.
const GONE_RECHECK: Duration = Duration::from_secs(1);

/// How long a path is answered from the cache before a `stat` checks its cgroup still exists.
const PATH_RECHECK: Duration = Duration::from_secs(5);

/// The least time between two walks of the tree.
const WALK_INTERVAL: Duration = Duration::from_millis(500);

/// The file handle type of kernfs (cgroup2, sysfs): its 8 bytes are the node's id.
const FILEID_KERNFS: i32 = 0xfe;

/// Where the cgroup2 filesystem is mounted, from /proc/self/mountinfo.
pub fn cgroup2_mount() -> Option<PathBuf> {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    cgroup2_mount_in(&mountinfo)
}

/// Where `mountinfo` (the text of /proc/PID/mountinfo) has the cgroup2 filesystem mounted:
/// `/sys/fs/cgroup` (unified hierarchy) before `/sys/fs/cgroup/unified` (hybrid), else the
/// first mount of the whole tree, else the first at all. A mount hidden by a later mount on
/// the same place does not count.
pub fn cgroup2_mount_in(mountinfo: &str) -> Option<PathBuf> {
    let mounts: Vec<Mount> = mountinfo.lines().filter_map(Mount::parse).collect();
    let visible: Vec<&Mount> = mounts
        .iter()
        .enumerate()
        .filter(|(at, mount)| {
            mount.fstype == "cgroup2" && !mounts[at + 1..].iter().any(|m| m.point == mount.point)
        })
        .map(|(_, mount)| mount)
        .collect();
    ["/sys/fs/cgroup", "/sys/fs/cgroup/unified"]
        .iter()
        .find_map(|want| visible.iter().find(|m| m.point == Path::new(want)))
        .or_else(|| visible.iter().find(|m| m.root == "/"))
        .or(visible.first())
        .map(|mount| mount.point.clone())
}

/// One line of mountinfo: the fields this module needs.
struct Mount<'a> {
    /// The directory of the filesystem that is mounted (`/` for the whole tree).
    root: &'a str,
    point: PathBuf,
    fstype: &'a str,
}

impl<'a> Mount<'a> {
    /// `ID PARENT MAJ:MIN ROOT POINT OPTIONS [OPTIONAL...] - FSTYPE SOURCE SUPEROPTIONS`.
    fn parse(line: &'a str) -> Option<Self> {
        let mut fields = line.split(' ');
        let root = fields.nth(3)?;
        let point = unescape(fields.next()?);
        let fstype = fields.skip_while(|field| *field != "-").nth(1)?;
        Some(Self {
            root,
            point,
            fstype,
        })
    }
}

/// A mountinfo path: the kernel writes space, tab, newline and backslash as `\ooo` octal.
fn unescape(field: &str) -> PathBuf {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut at = 0;
    while let Some(&byte) = bytes.get(at) {
        if byte == b'\\'
            && let Some(value) = bytes.get(at + 1..at + 4).and_then(octal)
        {
            out.push(value);
            at += 4;
        } else {
            out.push(byte);
            at += 1;
        }
    }
    PathBuf::from(std::ffi::OsString::from_vec(out))
}

/// Three octal digits as a byte.
fn octal(digits: &[u8]) -> Option<u8> {
    let value = digits.iter().try_fold(0_u16, |value, &digit| {
        (b'0'..=b'7')
            .contains(&digit)
            .then(|| value * 8 + u16::from(digit - b'0'))
    })?;
    u8::try_from(value).ok()
}

/// Every cgroup below `mount` (a cgroup2 mount), the root first: its id and its path below the
/// mount (`/` for the root). Depth first, directories only, at most [`WALK_LIMIT`] of them;
/// directories that vanish or cannot be read meanwhile are skipped.
pub fn walk(mount: &Path) -> Vec<(u64, String)> {
    walk_at_most(mount, WALK_LIMIT)
}

/// [`walk`] with its own bound.
pub(super) fn walk_at_most(mount: &Path, limit: usize) -> Vec<(u64, String)> {
    let Ok(root) = std::fs::metadata(mount) else {
        return Vec::new();
    };
    let mut found = vec![(root.ino(), "/".to_owned())];
    let mut pending = vec![(mount.to_path_buf(), String::new())];
    while let Some((dir, below)) = pending.pop() {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if found.len() >= limit {
                return found;
            }
            if !entry.file_type().is_ok_and(|kind| kind.is_dir()) {
                continue;
            }
            // kernfs reports the same inode number in readdir as in stat: no stat needed.
            let path = format!("{below}/{}", entry.file_name().to_string_lossy());
            found.push((entry.ino(), path.clone()));
            pending.push((entry.path(), path));
        }
    }
    found
}

/// What the cache knows about an id.
enum Cached {
    /// The cgroup's path, and when it was last seen to exist.
    Path { path: Arc<str>, checked: Instant },
    /// When the id was last looked up and not found.
    Gone { checked: Instant },
}

/// What one way of looking an id up found.
#[derive(Debug, PartialEq, Eq)]
enum Answer {
    Found(Arc<str>),
    /// The id names no cgroup (now).
    Gone,
    /// This way cannot tell; try another.
    Unknown,
}

/// Turns cgroup ids into paths below the cgroup2 mount, remembering the answers.
pub struct CgroupResolver {
    mount: PathBuf,
    /// `None` where file handles do not work here: every lookup walks instead.
    handles: Option<Handles>,
    cache: LruCache<u64, Cached>,
    last_walk: Option<Instant>,
}

impl CgroupResolver {
    /// A resolver for the cgroup2 filesystem mounted at `mount`. It checks at once that file
    /// handles work there (by opening the mount's own directory from its id) and walks the
    /// tree for every lookup if they do not.
    pub fn new(mount: PathBuf) -> Self {
        let handles = Handles::open(&mount);
        Self::with_handles(mount, handles)
    }

    /// A resolver that never uses file handles: for testing the walk.
    #[cfg(test)]
    pub(super) fn walking_only(mount: PathBuf) -> Self {
        Self::with_handles(mount, None)
    }

    fn with_handles(mount: PathBuf, handles: Option<Handles>) -> Self {
        let entries = NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self {
            mount,
            handles,
            cache: LruCache::new(entries),
            last_walk: None,
        }
    }

    /// Whether ids are looked up with `open_by_handle_at` (else by walking the tree).
    #[cfg(test)]
    pub fn uses_handles(&self) -> bool {
        self.handles.is_some()
    }

    /// The path below the mount of cgroup `id` (`/` for the root), or `None` if no cgroup has
    /// that id (any more). A path can outlive its cgroup by up to five seconds, and a new
    /// cgroup can stay unknown for up to a second after a lookup found nothing.
    pub fn resolve(&mut self, id: u64) -> Option<Arc<str>> {
        self.resolve_at(id, Instant::now())
    }

    /// [`Self::resolve`] at time `now`, for callers that already read the clock.
    pub fn resolve_at(&mut self, id: u64, now: Instant) -> Option<Arc<str>> {
        match self.cache.get_mut(&id) {
            Some(Cached::Gone { checked }) if within(*checked, now, GONE_RECHECK) => None,
            Some(Cached::Path { path, checked })
                if within(*checked, now, PATH_RECHECK) || still_there(&self.mount, path, id) =>
            {
                *checked = now;
                Some(Arc::clone(path))
            }
            _ => self.look_up(id, now),
        }
    }

    /// Asks the kernel (or the tree) about `id` and remembers the answer.
    fn look_up(&mut self, id: u64, now: Instant) -> Option<Arc<str>> {
        let answer = match self.by_handle(id) {
            Answer::Unknown => self.by_walk(id, now),
            answer => answer,
        };
        match answer {
            Answer::Found(path) => {
                let cached = Cached::Path {
                    path: Arc::clone(&path),
                    checked: now,
                };
                self.cache.put(id, cached);
                Some(path)
            }
            // An id a rate-limited walk could not look for is remembered like a gone one: it
            // is looked for again in a second.
            Answer::Gone | Answer::Unknown => {
                self.cache.put(id, Cached::Gone { checked: now });
                None
            }
        }
    }

    fn by_handle(&mut self, id: u64) -> Answer {
        let Some(handles) = &self.handles else {
            return Answer::Unknown;
        };
        match open_by_id(handles.mount_fd.as_fd(), id) {
            Ok(fd) => handles.path_of(&fd),
            Err(error) => match error.raw_os_error() {
                Some(libc::ESTALE | libc::ENOENT | libc::ENOTDIR) => Answer::Gone,
                Some(libc::EMFILE | libc::ENFILE | libc::ENOMEM | libc::EINTR) => Answer::Unknown,
                _ => {
                    tracing::warn!(
                        "cgroup ids: open_by_handle_at failed ({error}); walking {} instead",
                        self.mount.display()
                    );
                    self.handles = None;
                    Answer::Unknown
                }
            },
        }
    }

    /// Walks the tree, unless it was walked too recently, caching every cgroup in it.
    fn by_walk(&mut self, id: u64, now: Instant) -> Answer {
        if self
            .last_walk
            .is_some_and(|last| within(last, now, WALK_INTERVAL))
        {
            return Answer::Unknown;
        }
        self.last_walk = Some(now);
        let mut answer = Answer::Gone;
        for (ino, path) in walk(&self.mount) {
            let path: Arc<str> = path.into();
            if ino == id {
                answer = Answer::Found(Arc::clone(&path));
            }
            self.cache.put(ino, Cached::Path { path, checked: now });
        }
        answer
    }
}

/// Whether `now` is less than `period` after `then`.
fn within(then: Instant, now: Instant, period: Duration) -> bool {
    now.saturating_duration_since(then) < period
}

/// Whether the cgroup directory at `path` below `mount` still has inode `id`.
fn still_there(mount: &Path, path: &str, id: u64) -> bool {
    std::fs::symlink_metadata(mount.join(path.trim_start_matches('/')))
        .is_ok_and(|meta| meta.is_dir() && meta.ino() == id)
}

/// What `open_by_handle_at` needs: an fd of the mount, and the mount's path as the kernel
/// writes it in /proc/self/fd links, to take off the front of the paths it writes there.
struct Handles {
    mount_fd: OwnedFd,
    prefix: PathBuf,
}

impl Handles {
    /// `None` unless the mount's own directory opens from its id and reads back as `/`.
    fn open(mount: &Path) -> Option<Self> {
        let dir = File::open(mount).ok()?;
        let root_id = dir.metadata().ok()?.ino();
        let prefix = std::fs::read_link(fd_link(dir.as_raw_fd())).ok()?;
        let handles = Self {
            mount_fd: OwnedFd::from(dir),
            prefix,
        };
        let answer = match open_by_id(handles.mount_fd.as_fd(), root_id) {
            Ok(fd) => handles.path_of(&fd),
            Err(error) => {
                tracing::debug!(
                    "cgroup ids: open_by_handle_at unusable in {} ({error}): walking instead",
                    mount.display()
                );
                return None;
            }
        };
        (answer == Answer::Found(Arc::from("/"))).then_some(handles)
    }

    /// The path below the mount of the cgroup directory open as `fd`.
    fn path_of(&self, fd: &OwnedFd) -> Answer {
        let Ok(link) = std::fs::read_link(fd_link(fd.as_raw_fd())) else {
            return Answer::Unknown;
        };
        if link.as_os_str().as_encoded_bytes().ends_with(b" (deleted)") {
            return Answer::Gone;
        }
        match link.strip_prefix(&self.prefix) {
            Ok(below) => Answer::Found(format!("/{}", below.to_string_lossy()).into()),
            // Outside the mount (a cgroup namespace or a bind mount of a subtree shows only
            // part of the tree): the walk cannot see it either, but may know better.
            Err(_) => Answer::Unknown,
        }
    }
}

fn fd_link(fd: RawFd) -> PathBuf {
    PathBuf::from(format!("/proc/self/fd/{fd}"))
}

/// `struct file_handle` with room for a kernfs handle's 8 bytes.
#[repr(C)]
struct KernfsHandle {
    handle_bytes: u32,
    handle_type: i32,
    f_handle: [u8; 8],
}

/// Opens (`O_PATH`) the kernfs directory with id `id` in the filesystem `mount` is on.
#[expect(
    unsafe_code,
    reason = "open_by_handle_at has no wrapper in libc or nix"
)]
fn open_by_id(mount: BorrowedFd<'_>, id: u64) -> io::Result<OwnedFd> {
    let handle = KernfsHandle {
        handle_bytes: 8,
        handle_type: FILEID_KERNFS,
        f_handle: id.to_ne_bytes(),
    };
    let flags = libc::O_PATH | libc::O_DIRECTORY | libc::O_CLOEXEC;
    // SAFETY: `mount` is an open fd for the call's duration; `handle` is a file_handle whose
    // handle_bytes (8) is the size of its f_handle, which the kernel only reads.
    let fd = unsafe {
        libc::syscall(
            libc::SYS_open_by_handle_at,
            mount.as_raw_fd(),
            std::ptr::from_ref(&handle),
            flags,
        )
    };
    if fd < 0 {
        return Err(io::Error::last_os_error());
    }
    let fd = RawFd::try_from(fd).map_err(|_| io::Error::from_raw_os_error(libc::EBADF))?;
    // SAFETY: the kernel just opened `fd` for us; nothing else owns or closes it.
    Ok(unsafe { OwnedFd::from_raw_fd(fd) })
}
