//! Turns addresses into frames with blazesym, caching what it found per binary and offset.

use std::collections::HashMap;
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use blazesym::symbolize::evict::{self, Evict};
use blazesym::symbolize::source::{Elf, Kernel, Source};
use blazesym::symbolize::{Input, Reason, Sym, Symbolized, Symbolizer};
use lru::LruCache;

use super::images::{BinaryKey, Lookup, ProcessImages};
use super::symbol_files::{self, SYMBOL_BINARIES_MAX, SYMBOL_FILE_BYTES_MAX, SymbolFiles, Version};
use crate::model::frame::{Fold, Frame, InlinedFrame, Unresolved};

/// How a user stack's addresses were found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Walk {
    /// The kernel followed frame pointers: an address outside all code means it went astray.
    FramePointers,
    /// Unwound from a copy of the stack, which stops by itself where the code ends.
    Unwound,
}

/// Frames resolved per (binary, file offset) and per kernel address. Each entry is a frame
/// without its address; a few hundred bytes, so the bound keeps the cache to tens of MiB.
pub const CACHE_ENTRIES: usize = 100_000;

pub struct Resolver {
    /// User binaries; rebuilt when debug files appear, evicted binary by binary.
    symbolizer: Symbolizer,
    /// kallsyms, kept apart so that nothing done to user binaries reloads it.
    kernel_symbolizer: Symbolizer,
    debug_dirs: Vec<PathBuf>,
    /// The user binaries `symbolizer` holds open, bounded.
    files: SymbolFiles,
    /// Loaded kernel modules' address ranges, to name the module of a kernel frame.
    modules: Vec<KernelModule>,
    user_cache: LruCache<(BinaryKey, u64), Frame>,
    kernel_cache: LruCache<u64, Frame>,
}

impl Resolver {
    /// `debug_dirs` are searched for separate debug files (by build id and debug link).
    pub fn new(debug_dirs: &[PathBuf]) -> Self {
        let capacity = NonZeroUsize::new(CACHE_ENTRIES).unwrap_or(NonZeroUsize::MIN);
        Self {
            symbolizer: symbolizer(debug_dirs),
            kernel_symbolizer: symbolizer(&[]),
            debug_dirs: debug_dirs.to_vec(),
            files: SymbolFiles::new(SYMBOL_BINARIES_MAX, SYMBOL_FILE_BYTES_MAX),
            modules: Vec::new(),
            user_cache: LruCache::new(capacity),
            kernel_cache: LruCache::new(capacity),
        }
    }

    /// Forgets what it knows of user binaries, so that debug files that appeared since (fetched
    /// from a debuginfod server) are used. Kernel symbols are kept.
    pub fn forget_user_symbols(&mut self, debug_dirs: &[PathBuf]) {
        self.symbolizer = symbolizer(debug_dirs);
        self.debug_dirs = debug_dirs.to_vec();
        self.files.clear();
        self.user_cache.clear();
    }

    /// Frames held in the caches.
    pub fn cached_frames(&self) -> usize {
        self.user_cache.len() + self.kernel_cache.len()
    }

    /// User binaries whose symbols are loaded, and the bytes of their files.
    pub fn symbol_files(&self) -> (usize, u64) {
        self.files.held()
    }

    /// Makes room for `binary` among the files blazesym holds, evicting the least recently
    /// used ones (with their debug files) past the bounds.
    fn hold(&mut self, binary: &BinaryKey) {
        let version = Version {
            dev: binary.dev,
            inode: binary.inode,
        };
        let debug_dirs = &self.debug_dirs;
        let evicted = self.files.touch(&binary.path, version, || {
            symbol_files::describe(&binary.path, debug_dirs)
        });
        for held in evicted {
            for path in held.files {
                let _ = self.symbolizer.evict(&Evict::Elf(evict::Elf::new(path)));
            }
        }
    }

    /// User frames of process `pid` at `time_ns`, innermost first; `walk` says how `addrs`
    /// were found.
    pub fn user_frames(
        &mut self,
        images: &ProcessImages,
        pid: u32,
        time_ns: u64,
        addrs: &[u64],
        walk: Walk,
    ) -> Vec<Frame> {
        let mut frames: Vec<Frame> = Vec::with_capacity(addrs.len());
        // Offsets still to resolve, grouped by binary: (frame index, file offset).
        let mut wanted: HashMap<BinaryKey, Vec<(usize, u64)>> = HashMap::new();
        for (index, &addr) in addrs.iter().enumerate() {
            let probe = lookup_address(index, addr);
            match images.lookup(pid, time_ns, probe) {
                Lookup::Found(mapping) => {
                    let key = mapping.binary_key();
                    let offset = mapping.file_offset(probe);
                    match self.user_cache.get(&(key.clone(), offset)) {
                        Some(cached) => frames.push(at_address(cached, index, addr)),
                        None => {
                            frames.push(Frame {
                                addr,
                                ..Frame::default()
                            });
                            wanted.entry(key).or_default().push((index, offset));
                        }
                    }
                }
                // Code built without frame pointers sends a frame-pointer walk into data (or round
                // a loop): past the first return address outside all code, every "frame" is
                // noise. An unwound stack already ends there, and says why.
                Lookup::Unmapped
                    if walk == Walk::FramePointers && (index > 0 || !could_be_user_code(addr)) =>
                {
                    frames.push(Frame::unresolved(addr, Unresolved::WalkWentAstray));
                    break;
                }
                Lookup::Unmapped => frames.push(Frame::unresolved(addr, Unresolved::Unmapped)),
                Lookup::UnknownProcess => {
                    frames.push(Frame::unresolved(addr, Unresolved::ProcessUnknown));
                }
            }
        }
        for (binary, slots) in wanted {
            let offsets: Vec<u64> = slots.iter().map(|&(_, offset)| offset).collect();
            self.hold(&binary);
            let source = Source::Elf(Elf::new(binary.path.as_ref()));
            let resolved: Vec<Frame> = match self
                .symbolizer
                .symbolize(&source, Input::FileOffset(&offsets))
            {
                Ok(symbols) => symbols
                    .iter()
                    .map(|s| frame_from(s, Some(&binary.path)))
                    .collect(),
                Err(error) => {
                    tracing::debug!("symbolizing in {}: {error}", binary.path.display());
                    vec![Frame::unresolved(0, Unresolved::BinaryUnreadable); offsets.len()]
                }
            };
            for ((index, offset), template) in slots.into_iter().zip(resolved) {
                if template.unresolved != Some(Unresolved::BinaryUnreadable) {
                    self.user_cache
                        .put((binary.clone(), offset), template.clone());
                }
                if let (Some(slot), Some(&addr)) = (frames.get_mut(index), addrs.get(index)) {
                    *slot = at_address(&template, index, addr);
                }
            }
        }
        frames
    }

    /// Loads kallsyms now rather than on the first kernel stack, and the module list.
    pub fn warm_up(&mut self) {
        self.modules = std::fs::read_to_string("/proc/modules")
            .map(|text| parse_modules(&text))
            .unwrap_or_default();
        let source = Source::Kernel(Kernel::default());
        if let Err(error) = self
            .kernel_symbolizer
            .symbolize(&source, Input::AbsAddr(&[0xffff_ffff_8100_0000]))
        {
            tracing::warn!("loading kernel symbols: {error}");
        }
    }

    /// Kernel frames, innermost first, from kallsyms (and vmlinux when one is installed).
    pub fn kernel_frames(&mut self, addrs: &[u64]) -> Vec<Frame> {
        let missing: Vec<u64> = addrs
            .iter()
            .copied()
            .filter(|addr| !self.kernel_cache.contains(addr))
            .collect();
        if !missing.is_empty() {
            let source = Source::Kernel(Kernel::default());
            match self
                .kernel_symbolizer
                .symbolize(&source, Input::AbsAddr(&missing))
            {
                Ok(symbols) => {
                    for (addr, symbol) in missing.iter().zip(&symbols) {
                        let mut frame = frame_from(symbol, None);
                        if frame.unresolved.is_some() {
                            frame.unresolved = Some(Unresolved::UnknownKernelAddress);
                        }
                        frame.folded = frame.symbol.as_deref().and_then(Fold::of_kernel_symbol);
                        if frame.module.is_none() {
                            frame.module = module_of(&self.modules, *addr).map(Arc::from);
                        }
                        self.kernel_cache.put(*addr, frame);
                    }
                }
                Err(error) => tracing::warn!("symbolizing kernel addresses: {error}"),
            }
        }
        addrs
            .iter()
            .map(|&addr| match self.kernel_cache.get(&addr) {
                Some(frame) => Frame {
                    addr,
                    ..frame.clone()
                },
                None => Frame::unresolved(addr, Unresolved::UnknownKernelAddress),
            })
            .collect()
    }
}

fn symbolizer(debug_dirs: &[PathBuf]) -> Symbolizer {
    Symbolizer::builder()
        .enable_code_info(true)
        .enable_inlined_fns(true)
        .enable_demangling(true)
        .set_debug_dirs(Some(debug_dirs))
        .build()
}

/// Below `vm.mmap_min_addr` nothing is ever mapped; above 0x7fff_ffff_ffff is the
/// non-canonical hole and the kernel (x86_64).
fn could_be_user_code(addr: u64) -> bool {
    (0x1_0000..0x8000_0000_0000).contains(&addr)
}

/// Return addresses point after their call, which may be the next function or line: look up
/// the byte before. The innermost user frame is where the syscall instruction left off.
fn lookup_address(index: usize, addr: u64) -> u64 {
    if index == 0 {
        addr
    } else {
        addr.saturating_sub(1)
    }
}

/// A cached frame placed at a real address; offsets are reported from the real address.
fn at_address(template: &Frame, index: usize, addr: u64) -> Frame {
    let adjust = u64::from(index != 0);
    Frame {
        addr,
        offset: template.offset.map(|offset| offset + adjust),
        ..template.clone()
    }
}

fn frame_from(symbolized: &Symbolized<'_>, binary: Option<&Arc<Path>>) -> Frame {
    let module = |sym: &Sym<'_>| {
        binary
            .map(|path| Arc::from(path.to_string_lossy().as_ref()))
            .or_else(|| {
                sym.module
                    .as_ref()
                    .map(|m| Arc::from(m.to_string_lossy().as_ref()))
            })
    };
    match symbolized {
        Symbolized::Sym(sym) => {
            let code = sym.code_info.as_deref();
            Frame {
                addr: 0,
                symbol: Some(Arc::from(sym.name.as_ref())),
                offset: Some(sym.offset as u64),
                module: module(sym),
                file: code.map(|c| Arc::from(c.to_path().to_string_lossy().as_ref())),
                line: code.and_then(|c| c.line),
                column: code.and_then(|c| c.column),
                inlined: sym
                    .inlined
                    .iter()
                    .map(|f| InlinedFrame {
                        symbol: Arc::from(f.name.as_ref()),
                        file: f
                            .code_info
                            .as_ref()
                            .map(|c| Arc::from(c.to_path().to_string_lossy().as_ref())),
                        line: f.code_info.as_ref().and_then(|c| c.line),
                        column: f.code_info.as_ref().and_then(|c| c.column),
                    })
                    .collect(),
                unresolved: None,
                folded: None,
                found_by: None,
            }
        }
        Symbolized::Unknown(reason) => Frame {
            module: binary.map(|path| Arc::from(path.to_string_lossy().as_ref())),
            unresolved: Some(match reason {
                Reason::Unmapped | Reason::InvalidFileOffset => Unresolved::Unmapped,
                _ => Unresolved::NoSymbols,
            }),
            ..Frame::default()
        },
    }
}

/// A loaded kernel module and the addresses it occupies.
#[derive(Clone, Debug, PartialEq, Eq)]
struct KernelModule {
    start: u64,
    end: u64,
    name: String,
}

/// `/proc/modules`: `name size refcount deps state address`.
fn parse_modules(text: &str) -> Vec<KernelModule> {
    text.lines()
        .filter_map(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let size: u64 = fields.get(1)?.parse().ok()?;
            let start = u64::from_str_radix(fields.get(5)?.trim_start_matches("0x"), 16).ok()?;
            // Without CAP_SYSLOG the addresses read as zero: no use.
            (start != 0).then(|| KernelModule {
                start,
                end: start + size,
                name: fields[0].to_owned(),
            })
        })
        .collect()
}

fn module_of(modules: &[KernelModule], addr: u64) -> Option<&str> {
    modules
        .iter()
        .find(|m| (m.start..m.end).contains(&addr))
        .map(|m| m.name.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_address_outside_all_code_ends_a_frame_pointer_walk_but_not_an_unwound_stack() {
        let mut images = ProcessImages::new();
        images.seed(
            7,
            "00400000-00401000 r-xp 00000000 08:01 11 /nonexistent/app\n",
        );
        let addrs = [0x40_0100, 0x9000_0000, 0x40_0200];
        let mut resolver = Resolver::new(&[]);
        let walked = resolver.user_frames(&images, 7, 1, &addrs, Walk::FramePointers);
        assert_eq!(walked.len(), 2, "{walked:?}");
        assert_eq!(walked[1].unresolved, Some(Unresolved::WalkWentAstray));
        let unwound = resolver.user_frames(&images, 7, 1, &addrs, Walk::Unwound);
        assert_eq!(unwound.len(), 3, "{unwound:?}");
        assert_eq!(unwound[1].unresolved, Some(Unresolved::Unmapped));
        assert_eq!(
            unwound[2].unresolved,
            Some(Unresolved::BinaryUnreadable),
            "the frame after it is still resolved in its mapping"
        );
    }

    #[test]
    fn kernel_module_ranges_name_their_frames() {
        let text = "nf_tables 360448 0 - Live 0xffffffffc0a00000\n\
                    hidden 4096 0 - Live 0x0000000000000000\n\
                    garbage line\n";
        let modules = parse_modules(text);
        assert_eq!(modules.len(), 1);
        assert_eq!(
            module_of(&modules, 0xffff_ffff_c0a0_1234),
            Some("nf_tables")
        );
        assert_eq!(module_of(&modules, 0xffff_ffff_c0a0_0000 + 360_448), None);
        assert_eq!(module_of(&modules, 0xffff_ffff_8100_0000), None);
        assert_eq!(
            (lookup_address(0, 0x1000), lookup_address(1, 0x1000)),
            (0x1000, 0xfff),
            "return addresses are looked up one byte back"
        );
    }
}
