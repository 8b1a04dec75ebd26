//! Unwinding user stacks from a copy of the registers and stack memory, with the binaries'
//! unwind tables where they have them and frame pointers where they do not (framehop decides
//! per frame: an address covered by no unwind table is unwound through its frame pointer).
//!
//! Why in userspace rather than with unwind tables in BPF maps: the probes then only copy
//! bytes (a bounded `bpf_probe_read_user`), every table format framehop reads works at once
//! (including .debug_frame from separate debug files), and nothing has to be converted and
//! loaded into the kernel for each new binary. The cost is the copy, measured per event by
//! `cargo xtask bench` ("stack copy").

pub mod tables;

use std::num::NonZeroUsize;
use std::path::PathBuf;
use std::sync::Arc;

use framehop::x86_64::{CacheX86_64, UnwindRegsX86_64, UnwinderX86_64};
use framehop::{ExplicitModuleSectionInfo, Module, Unwinder as _};
use lru::LruCache;
use ringside_common::MAX_STACK_DEPTH;

use super::images::{BinaryKey, Mapping, ProcessImages};
use crate::model::frame::{FoundBy, StackEnd};
use crate::model::user_stack::UserStackCopy;
use tables::{BinaryTables, SectionBytes};

/// Binaries whose tables are kept. A binary's tables are its unwind sections (tens to hundreds
/// of KiB each), so this bounds the cache to tens of MiB.
const BINARIES_KEPT: usize = 256;
/// Address spaces whose framehop unwinder is kept: building one is cheap, but a burst of
/// events from one process should build it once.
const ADDRESS_SPACES_KEPT: usize = 64;

/// A user stack unwound from a copy: return addresses innermost first (the first is the
/// instruction pointer), how each was found, and why the walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwound {
    pub addrs: Vec<u64>,
    pub found_by: Vec<FoundBy>,
    pub end: StackEnd,
}

type ProcessUnwinder = UnwinderX86_64<SectionBytes>;

pub struct StackUnwinder {
    debug_dirs: Vec<PathBuf>,
    /// `None`: the binary could not be read (it is unwound with frame pointers).
    binaries: LruCache<BinaryKey, Option<Arc<BinaryTables>>>,
    /// By the address of a shared mapping list; the entry holds the list, so the address
    /// cannot be reused for another list while the entry exists.
    address_spaces: LruCache<usize, (Arc<Vec<Mapping>>, ProcessUnwinder)>,
    cache: CacheX86_64,
}

impl StackUnwinder {
    /// `debug_dirs` are searched by build id for .debug_frame when a binary has no
    /// .eh_frame of its own.
    pub fn new(debug_dirs: Vec<PathBuf>) -> Self {
        let binaries = NonZeroUsize::new(BINARIES_KEPT).unwrap_or(NonZeroUsize::MIN);
        let spaces = NonZeroUsize::new(ADDRESS_SPACES_KEPT).unwrap_or(NonZeroUsize::MIN);
        Self {
            debug_dirs,
            binaries: LruCache::new(binaries),
            address_spaces: LruCache::new(spaces),
            cache: CacheX86_64::new(),
        }
    }

    /// The tables of a mapped binary, read on first use.
    pub fn tables(&mut self, mapping: &Mapping) -> Option<Arc<BinaryTables>> {
        let key = mapping.binary_key();
        if let Some(known) = self.binaries.get(&key) {
            return known.clone();
        }
        let tables = match BinaryTables::read(&mapping.path, mapping.inode, &self.debug_dirs) {
            Ok(tables) => Some(Arc::new(tables)),
            Err(error) => {
                tracing::debug!("unwinding without tables: {error}");
                None
            }
        };
        self.binaries.put(key, tables.clone());
        tables
    }

    /// Unwinds `copy`, taken in process `pid` at `time_ns`.
    pub fn unwind(
        &mut self,
        images: &ProcessImages,
        pid: u32,
        time_ns: u64,
        copy: &UserStackCopy,
    ) -> Unwound {
        let Some(mappings) = images.mappings_at(pid, time_ns).cloned() else {
            return Unwound {
                addrs: Vec::new(),
                found_by: Vec::new(),
                end: StackEnd::ProcessUnknown,
            };
        };
        let space = Arc::as_ptr(&mappings) as usize;
        if !self.address_spaces.contains(&space) {
            let unwinder = self.build_unwinder(&mappings);
            self.address_spaces
                .put(space, (Arc::clone(&mappings), unwinder));
        }
        let Some((_, unwinder)) = self.address_spaces.peek(&space) else {
            return Unwound {
                addrs: Vec::new(),
                found_by: Vec::new(),
                end: StackEnd::UnwindFailed,
            };
        };
        let binaries = &self.binaries;
        let code_at = |addr: u64| {
            let mapping = find_mapping(&mappings, addr)?;
            let tables = binaries.peek(&mapping.binary_key())?.as_ref();
            let svma =
                |t: &BinaryTables| addr.wrapping_sub(t.load_bias(mapping.start, mapping.pgoff));
            Some(Code {
                covered_by_tables: tables.is_some_and(|t| t.covers(svma(t))),
                is_entry: tables.is_some_and(|t| t.is_entry_function(svma(t))),
            })
        };
        walk(unwinder, &mut self.cache, copy, code_at)
    }

    fn build_unwinder(&mut self, mappings: &[Mapping]) -> ProcessUnwinder {
        let mut unwinder = ProcessUnwinder::new();
        for mapping in mappings {
            let Some(tables) = self.tables(mapping) else {
                continue;
            };
            unwinder.add_module(Module::new(
                mapping.path.to_string_lossy().into_owned(),
                mapping.start..mapping.end,
                tables.load_bias(mapping.start, mapping.pgoff),
                section_info(&tables),
            ));
        }
        unwinder
    }
}

/// framehop's view of a binary. ELF addresses are relative to 0, so `base_svma` is 0.
fn section_info(tables: &BinaryTables) -> ExplicitModuleSectionInfo<SectionBytes> {
    ExplicitModuleSectionInfo {
        base_svma: 0,
        text_svma: tables.text.clone(),
        // Only needed for instruction analysis of prologues, which DWARF CFI makes unnecessary.
        text: None,
        stubs_svma: None,
        stub_helper_svma: None,
        unwind_info: None,
        text_segment_svma: None,
        text_segment: None,
        got_svma: tables.got.clone(),
        eh_frame_svma: tables.eh_frame.as_ref().map(|s| s.svma.clone()),
        eh_frame: tables.eh_frame.as_ref().map(|s| s.bytes.clone()),
        eh_frame_hdr_svma: tables.eh_frame_hdr.as_ref().map(|s| s.svma.clone()),
        eh_frame_hdr: tables.eh_frame_hdr.as_ref().map(|s| s.bytes.clone()),
        debug_frame: tables.debug_frame.clone(),
    }
}

/// What the unwinder knows of the code at an address that lies in a file mapping.
struct Code {
    /// An unwind table entry covers it (otherwise framehop follows its frame pointer).
    covered_by_tables: bool,
    /// It is the binary's entry function: the outermost frame.
    is_entry: bool,
}

fn find_mapping(mappings: &[Mapping], addr: u64) -> Option<&Mapping> {
    let index = mappings.partition_point(|m| m.start <= addr);
    let mapping = mappings.get(index.checked_sub(1)?)?;
    (addr < mapping.end).then_some(mapping)
}

/// Walks the copied stack. `code_at(addr)` describes the code at `addr`, or is `None` when no
/// file mapping holds it.
fn walk<U>(
    unwinder: &U,
    cache: &mut U::Cache,
    copy: &UserStackCopy,
    code_at: impl Fn(u64) -> Option<Code>,
) -> Unwound
where
    U: framehop::Unwinder<UnwindRegs = UnwindRegsX86_64>,
{
    let mut read_stack = |addr: u64| copy.read_u64(addr).ok_or(());
    let regs = UnwindRegsX86_64::new(copy.ip, copy.sp, copy.bp);
    let mut frames = unwinder.iter_frames(copy.ip, regs, cache, &mut read_stack);
    let mut unwound = Unwound {
        addrs: Vec::new(),
        found_by: Vec::new(),
        end: StackEnd::Complete,
    };
    // Whether an unwind table covers the callee of the next frame.
    let mut callee_covered: Option<bool> = None;
    loop {
        if unwound.addrs.len() >= MAX_STACK_DEPTH {
            unwound.end = StackEnd::DepthLimit;
            break;
        }
        let address = match frames.next() {
            Ok(Some(address)) => address,
            Ok(None) => break,
            Err(framehop::Error::CouldNotReadStack(at)) if beyond_copy(copy, at) => {
                unwound.end = StackEnd::WindowExhausted;
                break;
            }
            Err(error) => {
                tracing::trace!("unwinding stopped: {error}");
                unwound.end = StackEnd::UnwindFailed;
                break;
            }
        };
        unwound.addrs.push(address.address());
        unwound.found_by.push(match callee_covered {
            None => FoundBy::Registers,
            Some(true) => FoundBy::UnwindTable,
            Some(false) => FoundBy::FramePointer,
        });
        let Some(code) = code_at(address.address_for_lookup()) else {
            // JIT or generated code: no table describes it, and a frame pointer walk from
            // here is a guess. Stop with the address that shows where it went.
            unwound.end = StackEnd::NotCode;
            break;
        };
        if code.is_entry {
            break;
        }
        callee_covered = Some(code.covered_by_tables);
    }
    unwound
}

/// A failed read at `at` means the stack goes on past the copy, unless the copy already
/// reached the top of the stack.
fn beyond_copy(copy: &UserStackCopy, at: u64) -> bool {
    let end = copy.sp.saturating_add(copy.bytes.len() as u64);
    !copy.top_reached && at.saturating_add(8) > end
}

#[cfg(test)]
mod tests;
