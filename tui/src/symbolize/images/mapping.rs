//! One file mapping of a process, and a sorted list of them changed as mmap changes it.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::Arc;

/// One file mapping of a process image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address of the mapping.
    pub end: u64,
    /// File offset, in bytes, of `start`.
    pub pgoff: u64,
    /// The mapped file, without a `" (deleted)"` suffix.
    pub path: Arc<Path>,
    /// Device (major, minor) of the mapped file.
    pub dev: (u32, u32),
    /// Inode of the mapped file.
    pub inode: u64,
}

/// A binary as the kernel named it: the same path with another inode is another binary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinaryKey {
    pub path: Arc<Path>,
    pub dev: (u32, u32),
    pub inode: u64,
}

impl Mapping {
    pub fn binary_key(&self) -> BinaryKey {
        BinaryKey {
            path: Arc::clone(&self.path),
            dev: self.dev,
            inode: self.inode,
        }
    }

    /// The file offset of `addr` (addr - start + pgoff).
    pub fn file_offset(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.start).wrapping_add(self.pgoff)
    }

    pub(super) fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

/// Puts `new` (or nothing) at `[start, end)` in a sorted, non-overlapping list, trimming or
/// splitting what was there, as mmap(MAP_FIXED) does.
pub(super) fn replace_range(
    mappings: &mut Vec<Mapping>,
    start: u64,
    end: u64,
    new: Option<Mapping>,
) {
    if start >= end {
        return;
    }
    // The list is sorted by start and does not overlap, so it is sorted by end too.
    let first = mappings.partition_point(|m| m.end <= start);
    let past = mappings.partition_point(|m| m.start < end);
    let (mut left, mut right) = (None, None);
    if first < past {
        let head = &mappings[first];
        if head.start < start {
            left = Some(Mapping {
                end: start,
                ..head.clone()
            });
        }
        let tail = &mappings[past - 1];
        if tail.end > end {
            right = Some(Mapping {
                start: end,
                pgoff: tail.pgoff.saturating_add(end - tail.start),
                ..tail.clone()
            });
        }
    }
    mappings.splice(first..past, left.into_iter().chain(new).chain(right));
}

/// The path of a file mapping, without a `" (deleted)"` suffix; `None` for names that are not
/// files ("//anon", "[vdso]", "[heap]", ...).
pub(super) fn file_path(path: &Path) -> Option<&Path> {
    let bytes = path.as_os_str().as_bytes();
    if !bytes.starts_with(b"/") || bytes.starts_with(b"//") {
        return None;
    }
    let bytes = bytes.strip_suffix(b" (deleted)").unwrap_or(bytes);
    Some(Path::new(OsStr::from_bytes(bytes)))
}
