//! What unwinding needs from one binary: its unwind sections (.eh_frame, .eh_frame_hdr,
//! .debug_frame) and its load segments, read once and shared by every process that maps it.
//!
//! Files are read with `pread` through object's `ReadCache`, never mapped: a binary truncated
//! or replaced while ringside reads it gives an error here, not a SIGBUS.

use std::fs::File;
use std::ops::{Deref, Range};
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use object::read::ReadCache;
use object::{Object as _, ObjectSection as _, ObjectSegment as _};

/// Section bytes shared between the cached tables and every framehop module built from them.
#[derive(Clone, Debug)]
pub struct SectionBytes(Arc<[u8]>);

impl Deref for SectionBytes {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        &self.0
    }
}

/// A section's bytes and where the binary says it is loaded.
#[derive(Clone, Debug)]
pub struct Section {
    pub svma: Range<u64>,
    pub bytes: SectionBytes,
}

/// A `PT_LOAD` segment: file bytes `[offset, offset + size)` are loaded at `vaddr`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Load {
    offset: u64,
    size: u64,
    vaddr: u64,
    executable: bool,
}

/// One binary's unwind information.
#[derive(Debug, Default)]
pub struct BinaryTables {
    pub eh_frame: Option<Section>,
    pub eh_frame_hdr: Option<Section>,
    /// Only its bytes: .debug_frame addresses are absolute, it needs no base.
    pub debug_frame: Option<SectionBytes>,
    pub text: Option<Range<u64>>,
    pub got: Option<Range<u64>>,
    loads: Vec<Load>,
    /// The ELF entry point (`_start`), where a program's or ld.so's outermost frame is.
    pub entry: Option<u64>,
    /// The GNU build id, which names its debug files.
    pub build_id: Option<Vec<u8>>,
    /// The binary has a symbol table or DWARF of its own; otherwise only `.dynsym` names it.
    pub has_own_symbols: bool,
}

/// Why a binary's tables could not be read: each is a reason to unwind it with frame pointers.
#[derive(Debug, thiserror::Error)]
pub enum TablesError {
    #[error("cannot read {path}: {source}")]
    Unreadable {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path} is not the file that was mapped (inode {found}, mapped {mapped})")]
    Replaced {
        path: PathBuf,
        found: u64,
        mapped: u64,
    },
    #[error("{path} is not an ELF file we can read: {source}")]
    NotElf {
        path: PathBuf,
        source: object::Error,
    },
}

impl BinaryTables {
    /// Reads the tables of `path`, which must still be inode `inode`. A binary without unwind
    /// sections gives empty tables: framehop then follows frame pointers through its code.
    /// When the binary itself has no unwind sections, the .debug_frame of its debug file (by
    /// build id, under one of `debug_dirs`) is used.
    pub fn read(path: &Path, inode: u64, debug_dirs: &[PathBuf]) -> Result<Self, TablesError> {
        let unreadable = |source| TablesError::Unreadable {
            path: path.to_owned(),
            source,
        };
        let file = File::open(path).map_err(unreadable)?;
        let found = file.metadata().map_err(unreadable)?.ino();
        if found != inode {
            return Err(TablesError::Replaced {
                path: path.to_owned(),
                found,
                mapped: inode,
            });
        }
        let cache = ReadCache::new(file);
        let elf = object::File::parse(&cache).map_err(|source| TablesError::NotElf {
            path: path.to_owned(),
            source,
        })?;
        let mut tables = BinaryTables {
            eh_frame: section(&elf, ".eh_frame"),
            eh_frame_hdr: section(&elf, ".eh_frame_hdr"),
            debug_frame: section(&elf, ".debug_frame").map(|s| s.bytes),
            text: svma(&elf, ".text"),
            got: svma(&elf, ".got"),
            loads: elf
                .segments()
                .filter_map(|segment| {
                    let (offset, size) = segment.file_range();
                    let executable = matches!(
                        segment.flags(),
                        object::SegmentFlags::Elf { p_flags } if p_flags & object::elf::PF_X != 0
                    );
                    Some(Load {
                        offset,
                        size,
                        vaddr: segment.address(),
                        executable,
                    })
                    .filter(|_| size > 0)
                })
                .collect(),
            entry: Some(elf.entry()).filter(|&entry| entry != 0),
            build_id: elf.build_id().ok().flatten().map(<[u8]>::to_vec),
            has_own_symbols: elf.symbol_table().is_some() || elf.has_debug_symbols(),
        };
        if !tables.has_unwind_info() {
            tables.debug_frame = tables
                .build_id
                .as_deref()
                .and_then(|id| debug_file(debug_dirs, id))
                .and_then(|file| read_debug_frame(&file));
        }
        Ok(tables)
    }

    /// Whether `svma` (an address in the binary's own terms) lies in its entry function: the
    /// few instructions of `_start` that call into libc or ld.so. Nothing called it, so a
    /// stack that reaches it is whole, whatever its unwind table says of the frame above.
    pub fn is_entry_function(&self, svma: u64) -> bool {
        /// glibc's x86_64 `_start` is 38 bytes; ld.so's calls `_dl_start` within its first 8.
        const ENTRY_FUNCTION_BYTES: u64 = 64;
        self.entry.is_some_and(|entry| {
            (entry..entry.saturating_add(ENTRY_FUNCTION_BYTES)).contains(&svma)
        })
    }

    pub fn has_unwind_info(&self) -> bool {
        self.eh_frame.is_some() || self.debug_frame.is_some()
    }

    /// Whether an unwind table entry covers `svma` (an address in the binary's own terms);
    /// where none does, the unwinder follows the frame pointer. Answered exactly through the
    /// .eh_frame_hdr search table; without one, by whether the binary has tables at all.
    pub fn covers(&self, svma: u64) -> bool {
        let (Some(hdr), Some(frame)) = (&self.eh_frame_hdr, &self.eh_frame) else {
            return self.has_unwind_info();
        };
        let mut bases = gimli::BaseAddresses::default()
            .set_eh_frame_hdr(hdr.svma.start)
            .set_eh_frame(frame.svma.start);
        if let Some(text) = &self.text {
            bases = bases.set_text(text.start);
        }
        if let Some(got) = &self.got {
            bases = bases.set_got(got.start);
        }
        let header = gimli::EhFrameHdr::new(&hdr.bytes, gimli::LittleEndian);
        let Some(table) = header.parse(&bases, 8).ok() else {
            return self.has_unwind_info();
        };
        let Some(table) = table.table() else {
            return self.has_unwind_info();
        };
        let eh_frame = gimli::EhFrame::new(&frame.bytes, gimli::LittleEndian);
        table
            .fde_for_address(&eh_frame, &bases, svma, |section, bases, offset| {
                gimli::UnwindSection::cie_from_offset(section, bases, offset)
            })
            .is_ok()
    }

    /// The load bias of an executable mapping of this binary at `start` with file offset
    /// `pgoff`: what is added to the binary's own addresses to get addresses in the process.
    pub fn load_bias(&self, start: u64, pgoff: u64) -> u64 {
        // The mapping's first page may also hold the end of the segment before it (linkers
        // pack segments into shared pages): an executable mapping belongs to an executable one.
        let holds = |load: &&Load| {
            let page_start = load.offset & !0xfff;
            (page_start..load.offset.saturating_add(load.size)).contains(&pgoff)
        };
        let load = self
            .loads
            .iter()
            .filter(|load| load.executable)
            .find(holds)
            .or_else(|| self.loads.iter().find(holds))
            .or(self.loads.first());
        match load {
            // File offset X is at start + (X - pgoff) in the process and at
            // vaddr + (X - offset) in the binary.
            Some(load) => start
                .wrapping_sub(pgoff)
                .wrapping_add(load.offset)
                .wrapping_sub(load.vaddr),
            // No segments (should not happen for a mapped binary): assume offsets are addresses.
            None => start.wrapping_sub(pgoff),
        }
    }
}

fn section<'data, R: object::ReadRef<'data>>(
    elf: &object::File<'data, R>,
    name: &str,
) -> Option<Section> {
    let section = elf.section_by_name(name)?;
    let bytes = section.data().ok().filter(|bytes| !bytes.is_empty())?;
    Some(Section {
        svma: section.address()..section.address().saturating_add(section.size()),
        bytes: SectionBytes(Arc::from(bytes)),
    })
}

fn svma<'data, R: object::ReadRef<'data>>(
    elf: &object::File<'data, R>,
    name: &str,
) -> Option<Range<u64>> {
    let section = elf.section_by_name(name)?;
    Some(section.address()..section.address().saturating_add(section.size()))
}

/// `DIR/.build-id/xx/rest.debug`, the layout of Debian's -dbg packages and of debuginfod caches.
pub fn build_id_path(dir: &Path, build_id: &[u8]) -> Option<PathBuf> {
    let (first, rest) = build_id.split_first()?;
    let rest = crate::output::json::fields::hex(rest);
    Some(
        dir.join(".build-id")
            .join(format!("{first:02x}"))
            .join(format!("{rest}.debug")),
    )
}

/// Whether a debug file for `build_id` is under one of `debug_dirs`.
pub fn has_debug_file(debug_dirs: &[PathBuf], build_id: &[u8]) -> bool {
    debug_file(debug_dirs, build_id).is_some()
}

fn debug_file(debug_dirs: &[PathBuf], build_id: &[u8]) -> Option<PathBuf> {
    debug_dirs
        .iter()
        .filter_map(|dir| build_id_path(dir, build_id))
        .find(|path| path.is_file())
}

fn read_debug_frame(path: &Path) -> Option<SectionBytes> {
    let cache = ReadCache::new(File::open(path).ok()?);
    let elf = object::File::parse(&cache).ok()?;
    section(&elf, ".debug_frame").map(|s| s.bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn load(offset: u64, size: u64, vaddr: u64, executable: bool) -> Load {
        Load {
            offset,
            size,
            vaddr,
            executable,
        }
    }

    #[test]
    fn load_bias_places_the_executable_segment_holding_the_mapped_offset() {
        // As gcc and ld lay out a PIE: segments on page boundaries, offsets equal addresses.
        let gcc = BinaryTables {
            loads: vec![
                load(0, 0x1000, 0, false),
                load(0x1000, 0x5000, 0x1000, true),
            ],
            ..BinaryTables::default()
        };
        assert_eq!(gcc.load_bias(0x5555_5555_5000, 0x1000), 0x5555_5555_4000);
        // A non-PIE executable is mapped where it says: no bias.
        assert_eq!(gcc.load_bias(0x1000, 0x1000), 0);

        // As lld lays out a Rust binary: the read-only segment ends inside the page where the
        // text segment starts, and text addresses run a page ahead of their file offsets.
        let lld = BinaryTables {
            loads: vec![
                load(0, 0x214b9c, 0, false),
                load(0x214bc0, 0x68a000, 0x215bc0, true),
            ],
            ..BinaryTables::default()
        };
        assert_eq!(
            lld.load_bias(0x5600_e8db_a000, 0x214000),
            0x5600_e8ba_5000,
            "the mapping at offset 0x214000 is the text segment's"
        );
    }

    #[test]
    fn build_id_paths_follow_the_debug_directory_layout() {
        assert_eq!(
            build_id_path(Path::new("/usr/lib/debug"), &[0xab, 0xcd, 0x01]),
            Some(PathBuf::from("/usr/lib/debug/.build-id/ab/cd01.debug"))
        );
        assert_eq!(build_id_path(Path::new("/d"), &[]), None);
    }

    #[test]
    fn reads_unwind_sections_of_a_real_binary_and_refuses_a_replaced_one() {
        let path = std::env::current_exe().expect("test binary");
        let inode = std::fs::metadata(&path).expect("stat").ino();
        let tables = BinaryTables::read(&path, inode, &[]).expect("tables");
        assert!(tables.eh_frame.is_some(), "Rust binaries carry .eh_frame");
        assert!(tables.eh_frame_hdr.is_some());
        assert!(tables.text.is_some());
        assert!(!tables.loads.is_empty());
        assert!(tables.has_own_symbols, "test binaries are not stripped");
        // Whether reaching it ends a stack is shown by the kernel tests (cat's and ld.so's
        // stacks end "complete"); here, that the entry is read and _start's table found.
        let entry = tables.entry.expect("an executable has an entry point");
        assert!(tables.covers(entry + 4), "_start has its table entry");
        assert!(!tables.covers(0), "the ELF header is not code");
        assert!(matches!(
            BinaryTables::read(&path, inode + 1, &[]),
            Err(TablesError::Replaced { .. })
        ));
        assert!(matches!(
            BinaryTables::read(Path::new("/nonexistent/ringside"), 1, &[]),
            Err(TablesError::Unreadable { .. })
        ));
    }
}
