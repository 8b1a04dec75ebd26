//! Every cache the symbolizer keeps, with the bound ringside chose for it: what `--stats-file`
//! reports under `bounds`, and what the README's "Memory and descriptors" table states.

use serde::Serialize;

use super::{debuginfod, resolver, symbol_files, unwind, worker};

/// The bounds in force. Counts evict the least recently used entry; byte bounds evict least
/// recently used entries until the total fits.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct Bounds {
    /// User binaries whose symbols blazesym keeps loaded (each an open descriptor, two with a
    /// debug file).
    pub symbol_binaries: usize,
    /// Bytes of those binaries and their debug files together.
    pub symbol_file_bytes: u64,
    /// Descriptors the symbol files can hold: two per binary.
    pub symbol_descriptors: usize,
    /// Resolved frames kept per (binary, offset), and per kernel address.
    pub user_frames_cached: usize,
    pub kernel_frames_cached: usize,
    /// Binaries whose unwind tables are kept, and process images whose unwinder is kept.
    pub unwind_tables: usize,
    pub unwind_address_spaces: usize,
    /// Images of exited processes kept for their late events (within `exit_grace_secs`).
    pub exited_images: usize,
    pub exit_grace_secs: u64,
    /// Bytes of user stack copies waiting to be unwound; bytes of those decoded and on their
    /// way to the symbolizer; copies waiting for their event.
    pub queued_copy_bytes: usize,
    pub decoded_copy_bytes: usize,
    pub waiting_copies: usize,
    /// Build ids remembered as asked of debuginfod; bytes of its cache directory.
    pub debuginfod_asked: usize,
    pub debuginfod_cache_bytes: u64,
}

impl Bounds {
    pub fn current() -> Self {
        Self {
            symbol_binaries: symbol_files::SYMBOL_BINARIES_MAX,
            symbol_file_bytes: symbol_files::SYMBOL_FILE_BYTES_MAX,
            symbol_descriptors: 2 * symbol_files::SYMBOL_BINARIES_MAX,
            user_frames_cached: resolver::CACHE_ENTRIES,
            kernel_frames_cached: resolver::CACHE_ENTRIES,
            unwind_tables: unwind::BINARIES_KEPT,
            unwind_address_spaces: unwind::ADDRESS_SPACES_KEPT,
            exited_images: worker::EXITED_IMAGES_MAX,
            exit_grace_secs: worker::EXIT_GRACE.as_secs(),
            queued_copy_bytes: worker::COPY_BYTES_QUEUED_MAX,
            decoded_copy_bytes: crate::ingest::copy_budget::DECODED_COPY_BYTES_MAX,
            waiting_copies: crate::ingest::user_copies::WAITING_MAX,
            debuginfod_asked: debuginfod::ASKED_MAX,
            debuginfod_cache_bytes: debuginfod::CACHE_BYTES_MAX,
        }
    }
}
