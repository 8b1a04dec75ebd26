//! Tracepoint format files from tracefs.
//!
//! Our eBPF tracepoint programs read their arguments at raw byte offsets into the
//! record the kernel hands them. Those offsets drift between kernel versions (for
//! example `sched_process_fork` swapped `char parent_comm[16]` for a
//! `__data_loc char[]` in 6.x) and Rust eBPF has no CO-RE to relocate them, so
//! user space reads `events/<category>/<name>/format` at start-up and passes the
//! offsets down to the probes.
//!
//! This module finds tracefs (mounting it if need be) and reads the files; [`format`] parses
//! their text.

#[cfg(test)]
mod fixtures;
mod format;

use std::io;
use std::path::{Path, PathBuf};

pub use format::{FormatError, FormatField, TracepointFormat, parse_format};

/// Where tracefs lives on current kernels.
const TRACEFS_ROOT: &str = "/sys/kernel/tracing";
/// Where older setups expose it: tracefs auto-mounted under debugfs.
const DEBUGFS_TRACING_ROOT: &str = "/sys/kernel/debug/tracing";

/// Something went wrong finding or reading tracefs.
///
/// Each message is one line; the underlying OS error, where there is one, is the
/// error's `source()` (print with `{:#}` in anyhow to see it on the same line).
#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error("tracepoint {category}/{name} does not exist on this kernel")]
    MissingTracepoint { category: String, name: String },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "tracefs is not mounted and mounting it failed; run `mount -t tracefs tracefs /sys/kernel/tracing` as root"
    )]
    NotMountable {
        #[source]
        source: io::Error,
    },

    #[error("cannot parse {}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: FormatError,
    },
}

/// Makes sure tracefs is available and returns its root (usually /sys/kernel/tracing).
///
/// Checks /sys/kernel/tracing/events, then /sys/kernel/debug/tracing/events; if
/// neither exists, mounts tracefs at /sys/kernel/tracing and re-checks. Many
/// systems (this one included) do not mount tracefs at boot, and asking the user to
/// do it by hand for every run would be needless friction when we are root anyway.
pub fn ensure_mounted() -> Result<PathBuf, TracefsError> {
    let candidates = [Path::new(TRACEFS_ROOT), Path::new(DEBUGFS_TRACING_ROOT)];
    if let Some(root) = find_root(&candidates) {
        return Ok(root);
    }
    let mounted = mount_tracefs();
    // Re-check even when mount failed: someone else may have mounted it meanwhile.
    if let Some(root) = find_root(&candidates) {
        return Ok(root);
    }
    let source = match mounted {
        Err(err) => err,
        Ok(()) => io::Error::new(
            io::ErrorKind::NotFound,
            "tracefs was mounted but has no events directory",
        ),
    };
    Err(TracefsError::NotMountable { source })
}

/// The first candidate that has an `events` directory, which is what we read.
fn find_root(candidates: &[&Path]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|root| root.join("events").is_dir())
        .map(|root| root.to_path_buf())
}

/// `mount -t tracefs tracefs /sys/kernel/tracing`.
fn mount_tracefs() -> io::Result<()> {
    nix::mount::mount(
        Some("tracefs"),
        "/sys/kernel/tracing",
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// A tracefs mount, for reading tracepoint formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracefs {
    root: PathBuf,
}

impl Tracefs {
    /// Wraps a tracefs root such as the one [`ensure_mounted`] returns. Tests point
    /// it at a temporary directory laid out like tracefs.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Reads and parses one tracepoint's format file.
    ///
    /// An absent tracepoint (kernel built without it, or a typo) is
    /// [`TracefsError::MissingTracepoint`] so callers can skip that probe.
    pub fn format(&self, category: &str, name: &str) -> Result<TracepointFormat, TracefsError> {
        let missing = || TracefsError::MissingTracepoint {
            category: category.to_owned(),
            name: name.to_owned(),
        };
        // A name with a path separator or `..` could only resolve to some other file.
        if !is_plain_component(category) || !is_plain_component(name) {
            return Err(missing());
        }
        let path = self
            .root
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(missing()),
            Err(source) => return Err(TracefsError::Io { path, source }),
        };
        parse_format(&text).map_err(|source| TracefsError::Format { path, source })
    }
}

fn is_plain_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

#[cfg(test)]
mod tests;
