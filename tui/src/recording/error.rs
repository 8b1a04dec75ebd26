//! What can go wrong writing or reading a recording, said so that a person can act on it.

use std::io;
use std::path::PathBuf;

/// Frame numbers count the frames of the stream: 0 is the header, 1 the first entry after it;
/// messages call a frame "record N", as they always have. Byte offsets in
/// [`RecordingError::Truncated`] and [`RecordingError::Corrupt`] are offsets into the
/// decompressed stream, where the frame starts.
#[derive(Debug, thiserror::Error)]
pub enum RecordingError {
    /// The cause is the error's source: print the chain (`{:#}` with anyhow) to see it.
    #[error("{}", path.display())]
    Io { path: PathBuf, source: io::Error },
    #[error("{} exists; use --force to overwrite", path.display())]
    Exists { path: PathBuf },
    #[error(
        "{} is a symbolic link; ringside never writes a recording through one, even with --force",
        path.display()
    )]
    Symlink { path: PathBuf },
    #[error(
        "{} is not a regular file with a single link; ringside writes recordings only to its own \
         regular files",
        path.display()
    )]
    NotAFile { path: PathBuf },
    #[error("{} is not a ringside recording (it does not start with \"RINGSIDE\")", path.display())]
    NotARecording { path: PathBuf },
    #[error(
        "{} ends after {len} bytes, before the recording's header: it was cut short with nothing \
         recorded",
        path.display()
    )]
    CutBeforeHeader { path: PathBuf, len: u64 },
    #[error("{}", newer_version(*.found, *.supported, .written_by.as_deref()))]
    NewerVersion {
        found: u16,
        supported: u16,
        /// The ringside version that wrote the file, when its header could still be read.
        written_by: Option<String>,
    },
    #[error(
        "{} is a recording of format {found}, from before stack unwinding; this ringside reads \
         format {supported}: replay it with the ringside that wrote it{}",
        path.display(),
        written_by.as_deref().map(|v| format!(" ({v})")).unwrap_or_default()
    )]
    OlderVersion {
        path: PathBuf,
        found: u16,
        supported: u16,
        written_by: Option<String>,
    },
    #[error(
        "the recording ends before {} is whole (byte {offset} of the decompressed stream): it was \
         cut short",
        frame_name(*.frame)
    )]
    Truncated { frame: u64, offset: u64 },
    #[error(
        "the recording is damaged at {} (byte {offset} of the decompressed stream): {reason}",
        frame_name(*.frame)
    )]
    Corrupt {
        frame: u64,
        offset: u64,
        reason: String,
    },
    #[error("cannot write {}: {reason}", frame_name(*.frame))]
    Encode { frame: u64, reason: String },
}

fn frame_name(frame: u64) -> String {
    if frame == 0 {
        "record 0 (the header)".to_string()
    } else {
        format!("record {frame}")
    }
}

fn newer_version(found: u16, supported: u16, written_by: Option<&str>) -> String {
    let this = env!("CARGO_PKG_VERSION");
    match written_by {
        Some(version) => format!(
            "recording format version {found} needs ringside >= {version} (the version that \
             wrote it); this is ringside {this} (format {supported})"
        ),
        None => format!(
            "recording format version {found} needs a newer ringside, one that reads format \
             {found}; this is ringside {this} (format {supported})"
        ),
    }
}
