//! Unwinding user stacks from a copy of the registers and stack memory, with the binaries'
//! unwind tables where they have them and frame pointers where they do not (framehop decides
//! per frame: an address covered by no unwind table is unwound through its frame pointer).
//!
//! Why in userspace rather than with unwind tables in BPF maps: the probes then only copy
//! bytes (a bounded `bpf_probe_read_user`), every table format framehop reads works at once
//! (including .debug_frame from separate debug files), and nothing has to be converted and
//! loaded into the kernel for each new binary. The cost is the copy, measured per event by
//! `cargo xtask bench --only unwind`.

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
pub const BINARIES_KEPT: usize = 256;
/// Address spaces whose framehop unwinder is kept: building one is cheap, but a burst of
/// events from one process should build it once.
pub const ADDRESS_SPACES_KEPT: usize = 64;
/// framehop tells its cached unwind rules apart by a global 16-bit count of the modules ever
/// added; after it wraps, a stale rule could be taken for a current one. The cache is emptied
/// long before that.
const MODULES_PER_RULE_CACHE: usize = 30_000;

/// A user stack unwound from a copy: return addresses innermost first (the first is the
/// instruction pointer), how each was found, and why the walk stopped.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unwound {
    pub addrs: Vec<u64>,
    pub found_by: Vec<FoundBy>,
    pub end: StackEnd,
}

type ProcessUnwinder = UnwinderX86_64<SectionBytes>;

/// One process image's unwinder and what it knows of each code mapping.
struct AddressSpace {
    /// Held so that the list's address, the cache key, is not reused while the entry exists.
    _mappings: Arc<Vec<Mapping>>,
    unwinder: ProcessUnwinder,
    /// Each executable mapping with its binary's tables (`None`: unreadable) and load bias,
    /// sorted by address. Held here, not looked up in the shared table cache, so that an
    /// eviction there cannot change what this unwinder knows.
    code: Vec<CodeMapping>,
}

struct CodeMapping {
    range: std::ops::Range<u64>,
    tables: Option<Arc<BinaryTables>>,
    bias: u64,
}

pub struct StackUnwinder {
    debug_dirs: Vec<PathBuf>,
    /// `None`: the binary could not be read (it is unwound with frame pointers).
    binaries: LruCache<BinaryKey, Option<Arc<BinaryTables>>>,
    /// By the address of a shared mapping list.
    address_spaces: LruCache<usize, AddressSpace>,
    cache: CacheX86_64,
    /// Modules added since `cache` was last emptied.
    modules_added: usize,
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
            modules_added: 0,
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
        let key = Arc::as_ptr(&mappings) as usize;
        if !self.address_spaces.contains(&key) {
            let space = self.build_space(mappings);
            self.address_spaces.put(key, space);
        }
        let Some(space) = self.address_spaces.peek(&key) else {
            return Unwound {
                addrs: Vec::new(),
                found_by: Vec::new(),
                end: StackEnd::UnwindFailed,
            };
        };
        walk(&space.unwinder, &mut self.cache, copy, |addr| {
            space.code_at(addr)
        })
    }

    /// Forgets every binary's tables, e.g. when debug files (with .debug_frame) arrived.
    pub fn forget_tables(&mut self) {
        self.binaries.clear();
        self.address_spaces.clear();
    }

    fn build_space(&mut self, mappings: Arc<Vec<Mapping>>) -> AddressSpace {
        let mut unwinder = ProcessUnwinder::new();
        let mut code = Vec::with_capacity(mappings.len());
        for mapping in mappings.iter() {
            let tables = self.tables(mapping);
            let bias = tables
                .as_ref()
                .map_or(0, |t| t.load_bias(mapping.start, mapping.pgoff));
            if let Some(tables) = &tables {
                self.modules_added += 1;
                unwinder.add_module(Module::new(
                    mapping.path.to_string_lossy().into_owned(),
                    mapping.start..mapping.end,
                    bias,
                    section_info(tables),
                ));
            }
            code.push(CodeMapping {
                range: mapping.start..mapping.end,
                tables,
                bias,
            });
        }
        if self.modules_added > MODULES_PER_RULE_CACHE {
            self.cache = CacheX86_64::new();
            self.modules_added = 0;
        }
        AddressSpace {
            _mappings: mappings,
            unwinder,
            code,
        }
    }
}

impl AddressSpace {
    /// The code at `addr`, or `None` when no file mapping holds it.
    fn code_at(&self, addr: u64) -> Option<Code> {
        let index = self.code.partition_point(|c| c.range.start <= addr);
        let mapping = self.code.get(index.checked_sub(1)?)?;
        if addr >= mapping.range.end {
            return None;
        }
        let svma = addr.wrapping_sub(mapping.bias);
        let tables = mapping.tables.as_deref();
        Some(Code {
            covered_by_tables: tables.is_some_and(|t| t.covers(svma)),
            is_entry: tables.is_some_and(|t| t.is_entry_function(svma)),
        })
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
    // Whether an unwind table covers the callee of the next frame (the last frame so far).
    let mut callee_covered: Option<bool> = None;
    loop {
        if unwound.addrs.len() >= MAX_STACK_DEPTH {
            unwound.end = StackEnd::DepthLimit;
            break;
        }
        let address = match frames.next() {
            Ok(Some(address)) => address,
            // framehop ends a stack when an unwind table marks the outermost frame (no return
            // address, as in clone's child), and also when a frame-pointer walk reads a zero
            // frame pointer, which in code without frame pointers is just a register: only the
            // first is a whole stack.
            Ok(None) if callee_covered == Some(true) => break,
            Ok(None) => {
                unwound.end = StackEnd::UnwindFailed;
                break;
            }
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

/// A failed read at `at` means the stack goes on past the copy when `at` lies just above it
/// (within the largest copy), unless the copy already reached the top of the stack. A read
/// far away is a wrong frame address, not a short copy.
fn beyond_copy(copy: &UserStackCopy, at: u64) -> bool {
    let end = copy.sp.saturating_add(copy.bytes.len() as u64);
    let reach = u64::from(ringside_common::MAX_STACK_BYTES);
    !copy.top_reached && at.saturating_add(8) > end && at < end.saturating_add(reach)
}

#[cfg(test)]
mod tests;
