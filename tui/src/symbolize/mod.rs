//! Symbolization: process mappings from the kernel's perf records, addresses turned into frames
//! by blazesym on a thread of its own.

pub mod bounds;
mod debuginfod;
pub mod images;
pub mod perf_events;
mod resolver;
mod symbol_files;
mod unwind;
mod worker;

pub use worker::{StackRequest, SymbolizerHandle, SymbolizerStats};

/// Where separate debug files are looked for, by build id: Debian's -dbg and -dbgsym packages
/// install under /usr/lib/debug; files fetched from debuginfod servers are kept in a cache of
/// the same layout.
pub fn debug_dirs() -> Vec<std::path::PathBuf> {
    ["/usr/lib/debug", "/lib/debug"]
        .into_iter()
        .map(std::path::PathBuf::from)
        .chain(debuginfod::cache_dir())
        .collect()
}
