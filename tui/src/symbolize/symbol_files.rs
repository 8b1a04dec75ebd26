//! The user binaries blazesym holds open, least recently used first.
//!
//! blazesym keeps every file it has symbolized open and mapped (with its parsed DWARF) for as
//! long as its `Symbolizer` lives. Under a storm of processes that run many different binaries
//! that is an unbounded number of descriptors and megabytes. This keeps the count at a bound
//! ringside states: when one more binary comes in, the least recently used one is evicted from
//! blazesym, together with the debug files blazesym may have opened for it.

use std::ffi::OsStr;
use std::num::NonZeroUsize;
use std::os::unix::ffi::OsStrExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use lru::LruCache;
use object::{Object as _, ReadCache};

use super::unwind::tables::build_id_path;

/// User binaries whose symbols stay loaded. Each holds one descriptor, and one more for its
/// debug file when it has one: at most twice this many descriptors.
pub const SYMBOL_BINARIES_MAX: usize = 64;
/// The sizes of those binaries and their debug files, together, at most: blazesym maps each
/// whole and keeps its parsed DWARF, so a few large debug builds weigh more than many small
/// binaries. The binary being symbolized is always admitted, even alone over this.
pub const SYMBOL_FILE_BYTES_MAX: u64 = 256 << 20;

/// Which version of a binary is held.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    pub dev: (u32, u32),
    pub inode: u64,
}

/// One held binary: the files blazesym may have opened for it, and their sizes.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Held {
    pub files: Vec<PathBuf>,
    pub bytes: u64,
}

pub struct SymbolFiles {
    held: LruCache<Arc<Path>, (Version, Held)>,
    bytes: u64,
    max_bytes: u64,
}

impl SymbolFiles {
    pub fn new(max: usize, max_bytes: u64) -> Self {
        Self {
            held: LruCache::new(NonZeroUsize::new(max).unwrap_or(NonZeroUsize::MIN)),
            bytes: 0,
            max_bytes,
        }
    }

    /// Binaries held now, and their bytes.
    pub fn held(&self) -> (usize, u64) {
        (self.held.len(), self.bytes)
    }

    /// Marks `path` (as file `version`) as about to be symbolized; `describe` tells what a
    /// binary not held yet brings. Returns what to evict from blazesym first: the least
    /// recently used binaries past the bounds, and what was held under `path` when that is
    /// another file now.
    pub fn touch(
        &mut self,
        path: &Arc<Path>,
        version: Version,
        describe: impl FnOnce() -> Held,
    ) -> Vec<Held> {
        let mut evict = Vec::new();
        match self.held.get(path) {
            Some((held_version, _)) if *held_version == version => return evict,
            Some(_) => {
                if let Some((_, old)) = self.held.pop(path) {
                    self.bytes = self.bytes.saturating_sub(old.bytes);
                    evict.push(old);
                }
            }
            None => {}
        }
        let held = describe();
        self.bytes += held.bytes;
        if let Some((pushed, (_, old))) = self.held.push(Arc::clone(path), (version, held))
            && pushed != *path
        {
            self.bytes = self.bytes.saturating_sub(old.bytes);
            evict.push(old);
        }
        while self.bytes > self.max_bytes && self.held.len() > 1 {
            let Some((_, (_, old))) = self.held.pop_lru() else {
                break;
            };
            self.bytes = self.bytes.saturating_sub(old.bytes);
            evict.push(old);
        }
        evict
    }

    /// Forgets everything (after the symbolizer was rebuilt).
    pub fn clear(&mut self) {
        self.held.clear();
        self.bytes = 0;
    }
}

/// What symbolizing `binary` may open: see [`files_of`]; the bytes are those of the files that
/// exist.
pub fn describe(binary: &Path, debug_dirs: &[PathBuf]) -> Held {
    let files = files_of(binary, debug_dirs);
    let bytes = files
        .iter()
        .filter_map(|file| std::fs::metadata(file).ok())
        .filter(std::fs::Metadata::is_file)
        .map(|meta| meta.len())
        .sum();
    Held { files, bytes }
}

/// The files blazesym may have opened to symbolize `binary`: the binary and the places it
/// looks for its separate debug file (by build id under each debug directory, then by the
/// `.gnu_debuglink` name), so that evicting them all lets every descriptor go. Evicting a path
/// blazesym never opened does nothing.
fn files_of(binary: &Path, debug_dirs: &[PathBuf]) -> Vec<PathBuf> {
    let mut files = vec![binary.to_path_buf()];
    let Ok(file) = std::fs::File::open(binary) else {
        return files;
    };
    let cache = ReadCache::new(file);
    let Ok(elf) = object::File::parse(&cache) else {
        return files;
    };
    if let Ok(Some(build_id)) = elf.build_id() {
        files.extend(
            debug_dirs
                .iter()
                .filter_map(|dir| build_id_path(dir, build_id)),
        );
    }
    if let Ok(Some((link, _crc))) = elf.gnu_debuglink() {
        let link = Path::new(OsStr::from_bytes(link));
        let parent = binary.parent().unwrap_or(Path::new("/"));
        files.push(parent.join(link));
        files.push(parent.join(".debug").join(link));
        for dir in debug_dirs {
            files.push(dir.join(link));
            files.push(
                dir.join(parent.strip_prefix("/").unwrap_or(parent))
                    .join(link),
            );
        }
    }
    files
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(name: &str) -> Arc<Path> {
        Arc::from(Path::new(name))
    }

    fn version(inode: u64) -> Version {
        Version { dev: (8, 1), inode }
    }

    fn sized(name: &str, bytes: u64) -> impl FnOnce() -> Held {
        let files = vec![PathBuf::from(name)];
        move || Held { files, bytes }
    }

    fn names(evicted: &[Held]) -> Vec<&Path> {
        evicted.iter().map(|held| held.files[0].as_path()).collect()
    }

    #[test]
    fn the_least_recently_used_binary_is_evicted_past_the_count() {
        let mut files = SymbolFiles::new(2, u64::MAX);
        assert!(
            files
                .touch(&path("/bin/a"), version(1), sized("/bin/a", 1))
                .is_empty()
        );
        assert!(
            files
                .touch(&path("/bin/b"), version(2), sized("/bin/b", 1))
                .is_empty()
        );
        // a is used again, so b is now the oldest.
        assert!(
            files
                .touch(&path("/bin/a"), version(1), sized("/bin/a", 1))
                .is_empty()
        );
        let evicted = files.touch(&path("/bin/c"), version(3), sized("/bin/c", 1));
        assert_eq!(names(&evicted), [Path::new("/bin/b")]);
        assert_eq!(files.held(), (2, 2));
    }

    #[test]
    fn large_binaries_push_out_others_past_the_bytes_but_one_is_always_held() {
        let mut files = SymbolFiles::new(10, 100);
        files.touch(&path("/bin/a"), version(1), sized("/bin/a", 40));
        files.touch(&path("/bin/b"), version(2), sized("/bin/b", 40));
        let evicted = files.touch(&path("/bin/c"), version(3), sized("/bin/c", 40));
        assert_eq!(names(&evicted), [Path::new("/bin/a")]);
        assert_eq!(files.held(), (2, 80));
        let evicted = files.touch(&path("/big"), version(4), sized("/big", 500));
        assert_eq!(names(&evicted), [Path::new("/bin/b"), Path::new("/bin/c")]);
        assert_eq!(files.held(), (1, 500));
    }

    #[test]
    fn a_binary_replaced_under_its_name_is_evicted_before_it_is_read_again() {
        let mut files = SymbolFiles::new(4, u64::MAX);
        files.touch(&path("/opt/app"), version(10), sized("/opt/app", 5));
        let evicted = files.touch(&path("/opt/app"), version(11), sized("/opt/app", 7));
        assert_eq!(names(&evicted), [Path::new("/opt/app")]);
        assert!(
            files
                .touch(&path("/opt/app"), version(11), sized("/opt/app", 7))
                .is_empty()
        );
        assert_eq!(files.held(), (1, 7));
    }

    #[test]
    fn a_debian_binary_names_its_build_id_debug_file() {
        // /bin/true on Debian has a build id: its debug file's place is known whether or not
        // a debug package is installed.
        let held = describe(Path::new("/bin/true"), &[PathBuf::from("/usr/lib/debug")]);
        assert_eq!(held.files[0], Path::new("/bin/true"));
        assert!(
            held.files
                .iter()
                .any(|f| f.starts_with("/usr/lib/debug/.build-id")
                    && f.extension() == Some("debug".as_ref())),
            "{:?}",
            held.files
        );
        let own = std::fs::metadata("/bin/true")
            .expect("stat /bin/true")
            .len();
        assert!(held.bytes >= own, "{} < {own}", held.bytes);
    }
}
