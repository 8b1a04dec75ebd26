//! Writing a recording: a file of our own, then framed entries through one zstd stream.

use std::fs::{File, OpenOptions, Permissions};
use std::io::{self, BufWriter, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use zstd::stream::write::Encoder;

use super::error::RecordingError;
use super::format::{Entry, FORMAT_VERSION, Header, MAGIC, ZSTD_LEVEL, encode_frame};

pub struct RecordingWriter {
    path: PathBuf,
    /// Taken only by `finish`.
    encoder: Option<Encoder<'static, BufWriter<File>>>,
    /// The frame being written, kept to reuse its allocation.
    frame: Vec<u8>,
    /// Entries written after the header.
    entries: u64,
    /// A write failed part-way: the stream is broken from there, so nothing more is written.
    broken: bool,
}

impl RecordingWriter {
    /// Creates `path` with mode 0600, never following a symlink (O_NOFOLLOW), and refusing to
    /// overwrite an existing file unless `force` (then it truncates it, still without following a
    /// symlink). The header is flushed before this returns.
    pub fn create(path: &Path, force: bool, header: &Header) -> Result<Self, RecordingError> {
        let file = open_own_file(path, force)?;
        let io_error = |source| RecordingError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut out = BufWriter::new(file);
        out.write_all(&MAGIC).map_err(io_error)?;
        out.write_all(&FORMAT_VERSION.to_le_bytes())
            .map_err(io_error)?;
        let encoder = Encoder::new(out, ZSTD_LEVEL).map_err(io_error)?;
        let mut writer = RecordingWriter {
            path: path.to_path_buf(),
            encoder: Some(encoder),
            frame: Vec::new(),
            entries: 0,
            broken: false,
        };
        encode_frame(header, &mut writer.frame)
            .map_err(|reason| RecordingError::Encode { frame: 0, reason })?;
        writer.write_frame()?;
        writer.flush()?;
        Ok(writer)
    }

    /// Appends one entry. Use [`RecordingWriter::finish`] rather than writing `Entry::End`.
    pub fn write(&mut self, entry: &Entry) -> Result<(), RecordingError> {
        let number = self.entries + 1;
        encode_frame(entry, &mut self.frame).map_err(|reason| RecordingError::Encode {
            frame: number,
            reason,
        })?;
        self.write_frame()?;
        self.entries = number;
        Ok(())
    }

    /// Makes everything written so far decodable even if the process dies next (zstd flush + file
    /// flush). Call about once a second. It does not fsync: `finish` does.
    pub fn flush(&mut self) -> Result<(), RecordingError> {
        self.check_whole()?;
        let result = self.encoder_mut().flush();
        self.note(result)
    }

    /// Writes `Entry::End`, ends the zstd stream, fsyncs.
    pub fn finish(mut self) -> Result<(), RecordingError> {
        self.write(&Entry::End)?;
        let Some(encoder) = self.encoder.take() else {
            return Ok(());
        };
        let finished = encoder
            .finish()
            .and_then(|out| out.into_inner().map_err(|e| e.into_error()))
            .and_then(|file| file.sync_all());
        finished.map_err(|source| RecordingError::Io {
            path: self.path.clone(),
            source,
        })
    }

    fn write_frame(&mut self) -> Result<(), RecordingError> {
        self.check_whole()?;
        let encoder = self
            .encoder
            .as_mut()
            .expect("only finish takes the encoder");
        let result = encoder.write_all(&self.frame);
        self.note(result)
    }

    fn encoder_mut(&mut self) -> &mut Encoder<'static, BufWriter<File>> {
        self.encoder
            .as_mut()
            .expect("only finish takes the encoder")
    }

    fn check_whole(&self) -> Result<(), RecordingError> {
        if self.broken {
            Err(RecordingError::Io {
                path: self.path.clone(),
                source: io::Error::other("an earlier write to the recording failed"),
            })
        } else {
            Ok(())
        }
    }

    fn note(&mut self, result: io::Result<()>) -> Result<(), RecordingError> {
        result.map_err(|source| {
            self.broken = true;
            RecordingError::Io {
                path: self.path.clone(),
                source,
            }
        })
    }
}

impl Drop for RecordingWriter {
    /// A writer dropped without `finish` (an error, a panic) leaves what it wrote decodable.
    fn drop(&mut self) {
        if !self.broken
            && let Some(encoder) = self.encoder.as_mut()
        {
            let _ = encoder.flush();
        }
    }
}

/// Opens `path` for writing as a regular file of mode 0600 that no link leads elsewhere from.
fn open_own_file(path: &Path, force: bool) -> Result<File, RecordingError> {
    let mut options = OpenOptions::new();
    options
        .write(true)
        .mode(0o600)
        // O_NONBLOCK so that a FIFO cannot hang the open; it changes nothing for a regular file.
        .custom_flags(libc::O_NOFOLLOW | libc::O_NONBLOCK);
    if force {
        options.create(true);
    } else {
        // O_EXCL: an existing name, a dangling symlink included, is refused.
        options.create_new(true);
    }
    let file = options.open(path).map_err(|source| {
        let is_symlink = path
            .symlink_metadata()
            .is_ok_and(|meta| meta.file_type().is_symlink());
        let path = path.to_path_buf();
        if is_symlink || source.raw_os_error() == Some(libc::ELOOP) {
            return RecordingError::Symlink { path };
        }
        match source.raw_os_error() {
            Some(libc::EEXIST) => RecordingError::Exists { path },
            Some(libc::EISDIR | libc::ENXIO) => RecordingError::NotAFile { path },
            _ => RecordingError::Io { path, source },
        }
    })?;
    let io_error = |source| RecordingError::Io {
        path: path.to_path_buf(),
        source,
    };
    let meta = file.metadata().map_err(io_error)?;
    // A second hard link could be a file the recording must not clobber.
    if !meta.is_file() || meta.nlink() > 1 {
        return Err(RecordingError::NotAFile {
            path: path.to_path_buf(),
        });
    }
    if force {
        file.set_len(0).map_err(io_error)?;
    }
    // The mode of a file that existed, or that the umask narrowed.
    file.set_permissions(Permissions::from_mode(0o600))
        .map_err(io_error)?;
    Ok(file)
}
