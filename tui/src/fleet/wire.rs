//! What a remote ringside (`ringside stream`) writes to the viewer over ssh, and what the viewer
//! writes back.
//!
//! The stream opens with one line of text, `RINGSIDE-STREAM <protocol> <version>`, that any
//! version can read, so a viewer can name the version it found before it decodes anything
//! else. Frames follow: a little-endian `u32` length, then that many bytes of one zstd frame
//! whose content is a postcard `Vec` of messages. Lengths are bounded both ways: a remote that
//! sends garbage fails that host only, and never makes the viewer allocate more than a frame.

use std::collections::BTreeMap;
use std::io::{BufRead, Read, Write};

use serde::{Deserialize, Serialize};

use crate::model::Event;

/// Changes whenever a message changes shape; the hello line carries it.
pub const PROTOCOL: u32 = 3;
/// The hello line's first word.
pub const HELLO_WORD: &str = "RINGSIDE-STREAM";
/// The longest hello line read: a version string, not a file.
const MAX_HELLO: u64 = 512;
/// A frame's compressed bytes, and what they may decompress to.
pub const MAX_FRAME: u32 = 16 << 20;
pub const MAX_PAYLOAD: usize = 64 << 20;
/// Fast enough to keep up with a busy host on a fraction of a core.
const ZSTD_LEVEL: i32 = 1;

/// What the remote says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Message {
    /// First: who is talking, and how its clock relates to the viewer's.
    Started {
        hostname: String,
        kernel: String,
        /// Its wall clock when it wrote this, nanoseconds since the epoch.
        wall_ns: u64,
    },
    /// Events with their stacks symbolized there (only the remote has the binaries).
    Events(Vec<Event>),
    /// Nothing older than this (its wall clock, nanoseconds since the epoch) is still to come:
    /// the viewer merges the hosts' events up to the slowest one's mark.
    Watermark(u64),
    /// Its kernel's drop counters so far, per event type name.
    Drops(BTreeMap<String, u64>),
    /// Something its operator should know (a tracepoint missing, no BTF): a line for the
    /// host's status.
    Warning(String),
}

/// What the viewer says.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Control {
    /// A filter typed in the viewer: the remote applies it, its kernel part included.
    SetFilter(String),
}

/// Why a stream could not be read.
#[derive(Debug, thiserror::Error)]
pub enum WireError {
    #[error("the stream ended")]
    Ended,
    #[error("reading the stream: {0}")]
    Io(#[from] std::io::Error),
    #[error("not a ringside stream (it began with {0:?})")]
    NotAStream(String),
    #[error("ringside {version} there speaks stream protocol {theirs}, this one speaks {PROTOCOL}")]
    Protocol { theirs: String, version: String },
    #[error("a frame of {0} bytes is over the {MAX_FRAME}-byte limit: the stream is damaged")]
    FrameTooLong(u32),
    #[error("a frame did not decode: {0}")]
    Damaged(String),
}

/// The first line of a stream.
pub fn hello_line(version: &str) -> String {
    format!("{HELLO_WORD} {PROTOCOL} {version}\n")
}

/// Reads the hello line; returns the remote's ringside version.
pub fn read_hello(input: &mut impl BufRead) -> Result<String, WireError> {
    let mut bytes = Vec::new();
    let read = input
        .by_ref()
        .take(MAX_HELLO)
        .read_until(b'\n', &mut bytes)?;
    if read == 0 {
        return Err(WireError::Ended);
    }
    // Whatever came is shown inert: a hostile host's bytes reach a status line.
    let line = crate::model::text::printable(bytes.strip_suffix(b"\n").unwrap_or(&bytes));
    let mut words = line.splitn(3, ' ');
    if words.next() != Some(HELLO_WORD) {
        let shown: String = line.chars().take(40).collect();
        return Err(WireError::NotAStream(shown));
    }
    let protocol = words.next().unwrap_or_default();
    let version = words.next().unwrap_or_default().to_owned();
    if protocol != PROTOCOL.to_string() {
        return Err(WireError::Protocol {
            theirs: protocol.to_owned(),
            version,
        });
    }
    Ok(version)
}

thread_local! {
    // A context per thread, kept: making one costs more than a small frame's whole
    // decompression. Each host is read on a thread of its own.
    static COMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Compressor<'static>>> =
        const { std::cell::RefCell::new(None) };
    static DECOMPRESSOR: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
        const { std::cell::RefCell::new(None) };
}

/// Writes `items` as one frame: a sequence, which the reader takes as a `Vec` (a slice, not
/// an array: postcard writes an array's length nowhere).
pub fn write_frame<T: Serialize>(out: &mut impl Write, items: &[T]) -> anyhow::Result<()> {
    let payload = postcard::to_allocvec(items)?;
    let compressed = COMPRESSOR.with_borrow_mut(|kept| {
        let compressor = match kept {
            Some(compressor) => compressor,
            None => kept.insert(zstd::bulk::Compressor::new(ZSTD_LEVEL)?),
        };
        compressor.compress(&payload)
    })?;
    let len = u32::try_from(compressed.len())
        .ok()
        .filter(|&len| len <= MAX_FRAME)
        .ok_or_else(|| anyhow::anyhow!("a frame of {} bytes is too long", compressed.len()))?;
    out.write_all(&len.to_le_bytes())?;
    out.write_all(&compressed)?;
    Ok(())
}

/// Reads one frame; `WireError::Ended` at a clean end between frames.
pub fn read_frame<T: serde::de::DeserializeOwned>(input: &mut impl Read) -> Result<T, WireError> {
    let mut len = [0; 4];
    match input.read_exact(&mut len) {
        Ok(()) => {}
        Err(error) if error.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(WireError::Ended);
        }
        Err(error) => return Err(error.into()),
    }
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME {
        return Err(WireError::FrameTooLong(len));
    }
    let mut compressed = vec![0; len as usize];
    input.read_exact(&mut compressed)?;
    // The frame says its size (the writer's compressor does): only that much is allocated,
    // never the whole bound for a small frame.
    let size = zstd::zstd_safe::get_frame_content_size(&compressed)
        .ok()
        .flatten()
        .and_then(|size| usize::try_from(size).ok())
        .filter(|&size| size <= MAX_PAYLOAD)
        .ok_or_else(|| WireError::Damaged("a frame without a size within bounds".into()))?;
    let payload = DECOMPRESSOR
        .with_borrow_mut(|kept| {
            let decompressor = match kept {
                Some(decompressor) => decompressor,
                None => kept.insert(zstd::bulk::Decompressor::new()?),
            };
            decompressor.decompress(&compressed, size)
        })
        .map_err(|error| WireError::Damaged(error.to_string()))?;
    postcard::from_bytes(&payload).map_err(|error| WireError::Damaged(error.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_stream_round_trips_and_ends_cleanly_between_frames() {
        let mut bytes = hello_line("9.9.9 (test)").into_bytes();
        let sent = vec![Message::Warning("no BTF".into())];
        write_frame(&mut bytes, &sent).unwrap();
        let control = Control::SetFilter("comm=x".into());
        write_frame(&mut bytes, std::slice::from_ref(&control)).unwrap();
        let mut input = std::io::Cursor::new(bytes);
        assert_eq!(read_hello(&mut input).unwrap(), "9.9.9 (test)");
        let got: Vec<Message> = read_frame(&mut input).unwrap();
        assert_eq!(got, sent);
        let controls: Vec<Control> = read_frame(&mut input).unwrap();
        assert_eq!(controls, [control]);
        assert!(matches!(
            read_frame::<Vec<Message>>(&mut input),
            Err(WireError::Ended)
        ));
    }

    #[test]
    fn garbage_is_an_error_never_a_panic_or_a_huge_allocation() {
        let mut noise = 0x2545_f491_4f6c_dd1d_u64;
        for round in 0..200 {
            let bytes: Vec<u8> = (0..(round * 37 % 4000))
                .map(|_| {
                    noise ^= noise << 13;
                    noise ^= noise >> 7;
                    noise ^= noise << 17;
                    noise as u8
                })
                .collect();
            let _ = read_hello(&mut std::io::Cursor::new(&bytes));
            let _ = read_frame::<Vec<Message>>(&mut std::io::Cursor::new(&bytes));
        }
        let too_long = (MAX_FRAME + 1).to_le_bytes();
        assert!(matches!(
            read_frame::<Vec<Message>>(&mut std::io::Cursor::new(too_long)),
            Err(WireError::FrameTooLong(_))
        ));
        let error = read_hello(&mut std::io::Cursor::new(b"\x1b[2J\xff junk\n")).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("e[2J") && !text.contains('\x1b'), "{text}");
    }
}
