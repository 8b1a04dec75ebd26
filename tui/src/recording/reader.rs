//! Reading a recording back, trusting nothing in it: every length is bounded and every payload
//! checked before it is decoded, and damage is reported with where it is.

use std::fs::File;
use std::io::{self, BufReader, Read};
use std::path::{Path, PathBuf};

use zstd::stream::read::Decoder;

use super::error::RecordingError;
use super::format::{
    Entry, FORMAT_VERSION, FRAME_OVERHEAD, Header, MAGIC, OLDEST_READABLE, PREAMBLE_LEN, check_crc,
    check_len, decode_payload,
};

pub struct RecordingReader {
    header: Header,
    frames: Frames,
    complete: bool,
    /// After `End` or an error nothing more is read.
    done: bool,
}

/// The frames of the decompressed stream, one after the other.
struct Frames {
    path: PathBuf,
    decoder: Decoder<'static, BufReader<File>>,
    /// The payload being read, kept to reuse its allocation.
    payload: Vec<u8>,
    /// The number of the next frame: 0 is the header.
    frame: u64,
    /// Where the next frame starts in the decompressed stream.
    offset: u64,
}

impl RecordingReader {
    /// Opens `path` and reads and checks its magic, format version and header.
    pub fn open(path: &Path) -> Result<Self, RecordingError> {
        let io_error = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut file = File::open(path).map_err(io_error)?;
        let mut preamble = [0; PREAMBLE_LEN];
        let len = read_full(&mut file, &mut preamble).map_err(io_error)?;
        let seen = &preamble[..len.min(MAGIC.len())];
        if seen != &MAGIC[..seen.len()] {
            return Err(RecordingError::NotARecording {
                path: path.to_path_buf(),
            });
        }
        if len < PREAMBLE_LEN {
            return Err(RecordingError::CutBeforeHeader {
                path: path.to_path_buf(),
                len: len as u64,
            });
        }
        let version = u16::from_le_bytes([preamble[8], preamble[9]]);
        if version == 0 {
            return Err(RecordingError::NotARecording {
                path: path.to_path_buf(),
            });
        }
        if version < OLDEST_READABLE {
            return Err(RecordingError::OlderVersion {
                path: path.to_path_buf(),
                found: version,
                supported: FORMAT_VERSION,
                written_by: writer_version(file),
            });
        }
        if version > FORMAT_VERSION {
            return Err(RecordingError::NewerVersion {
                found: version,
                supported: FORMAT_VERSION,
                written_by: writer_version(file),
            });
        }
        let decoder = Decoder::new(file).map_err(io_error)?;
        let mut frames = Frames {
            path: path.to_path_buf(),
            decoder,
            payload: Vec::new(),
            frame: 0,
            offset: 0,
        };
        Ok(RecordingReader {
            header: frames.read()?,
            frames,
            complete: false,
            done: false,
        })
    }

    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The next entry; Ok(None) after End (which is not itself returned); Err for damage,
    /// saying where. After an Err, further calls return Ok(None).
    pub fn next_entry(&mut self) -> Result<Option<Entry>, RecordingError> {
        if self.done {
            return Ok(None);
        }
        match self.frames.read() {
            Ok(Entry::End) => {
                self.complete = true;
                self.done = true;
                Ok(None)
            }
            Ok(Entry::HostEvent { host, mut event }) => {
                event.host = crate::model::host::HostId::intern(&host);
                Ok(Some(Entry::Event(event)))
            }
            Ok(entry) => Ok(Some(entry)),
            Err(error) => {
                self.done = true;
                Err(error)
            }
        }
    }

    /// Whether the stream ended with End (false for a recording cut short).
    pub fn complete(&self) -> bool {
        self.complete
    }
}

impl Frames {
    /// Reads, checks and decodes the next frame.
    fn read<T: serde::de::DeserializeOwned>(&mut self) -> Result<T, RecordingError> {
        let (frame, offset) = (self.frame, self.offset);
        let corrupt = |reason| RecordingError::Corrupt {
            frame,
            offset,
            reason,
        };
        let truncated = RecordingError::Truncated { frame, offset };
        let mut len = [0; 4];
        if read_full(&mut self.decoder, &mut len).map_err(|e| self.stream_error(e))? < len.len() {
            return Err(truncated);
        }
        let len = check_len(len).map_err(corrupt)?;
        self.payload.clear();
        // Grows as bytes arrive: a length is never allocated before its bytes are there.
        (&mut self.decoder)
            .take(u64::from(len))
            .read_to_end(&mut self.payload)
            .map_err(|e| self.stream_error(e))?;
        let mut crc = [0; 4];
        if self.payload.len() < len as usize
            || read_full(&mut self.decoder, &mut crc).map_err(|e| self.stream_error(e))? < crc.len()
        {
            return Err(truncated);
        }
        check_crc(&self.payload, crc).map_err(corrupt)?;
        let value = decode_payload(&self.payload).map_err(corrupt)?;
        self.frame += 1;
        self.offset += FRAME_OVERHEAD + u64::from(len);
        Ok(value)
    }

    /// What a failed read of the stream means for the frame being read.
    fn stream_error(&self, error: io::Error) -> RecordingError {
        let (frame, offset) = (self.frame, self.offset);
        if error.kind() == io::ErrorKind::UnexpectedEof {
            RecordingError::Truncated { frame, offset }
        } else if error.raw_os_error().is_some() {
            RecordingError::Io {
                path: self.path.clone(),
                source: error,
            }
        } else {
            RecordingError::Corrupt {
                frame,
                offset,
                reason: format!("the compressed data is damaged ({error})"),
            }
        }
    }
}

/// Reads until `buf` is full or the input ends; how many bytes it read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut filled = 0;
    while filled < buf.len() {
        match input.read(&mut buf[filled..]) {
            Ok(0) => break,
            Ok(n) => filled += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(filled)
}

/// The ringside version that wrote a recording of a newer format, from the start of its header,
/// which every format keeps; `None` when it cannot be read. Only printable ASCII is kept, since
/// it is shown on a terminal.
fn writer_version(file: File) -> Option<String> {
    const LIMIT: u32 = 64 << 10;
    let mut decoder = Decoder::new(file).ok()?;
    let mut len = [0; 4];
    if read_full(&mut decoder, &mut len).ok()? < len.len() {
        return None;
    }
    let len = u32::from_le_bytes(len).min(LIMIT);
    let mut payload = Vec::new();
    decoder
        .take(u64::from(len))
        .read_to_end(&mut payload)
        .ok()?;
    let (version, _) = postcard::take_from_bytes::<String>(&payload).ok()?;
    let version: String = version
        .chars()
        .filter(char::is_ascii_graphic)
        .take(40)
        .collect();
    (!version.is_empty()).then_some(version)
}
