//! Recordings: a session written to a file, to be looked at again later, elsewhere.
//!
//! A recording is the 8 bytes `RINGSIDE`, the format version as a little-endian `u16`, then one
//! zstd stream. Decompressed, the stream is a sequence of frames, each a little-endian `u32`
//! payload length, the payload (postcard) and the CRC-32 of the payload (little-endian `u32`).
//! The first frame is the [`Header`]; every later one is an [`Entry`], the last being
//! [`Entry::End`]. The writer flushes the zstd stream at frame boundaries, so a file cut short
//! anywhere still replays every entry flushed before the cut.

mod error;
pub mod format;
mod reader;
mod session;
mod writer;

#[cfg(test)]
mod tests;

pub use error::RecordingError;
pub use format::{Entry, Header, ProcessInfo};
pub use reader::RecordingReader;
pub use session::session_header;
pub use writer::RecordingWriter;
