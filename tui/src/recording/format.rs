//! The recording's layout and the types it holds; reading and writing live beside it.
//!
//! Every future format version must keep what an older ringside needs to say which version it
//! needs: the magic, the `u16` version, a zstd stream whose first frame is a `u32` length and a
//! payload that starts with the postcard `String` of the ringside version that wrote the file.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};

/// The first bytes of every recording.
pub const MAGIC: [u8; 8] = *b"RINGSIDE";
/// 2: user frames say how they were found and user stacks why they end (stack unwinding).
/// 3: an exec says whether its argv could not be read (`argv_unreadable`).
/// 4: connects of every family: a socket's family, transport, type and unix address.
/// 5: every event's cgroup id, and the path, unit and container it names.
/// 6: events from a fleet view carry their host (`Entry::HostEvent`); a 5 reads as one host.
/// 7: signals, OOM kills and file changes; opens and execs carry their absolute path.
pub const FORMAT_VERSION: u16 = 7;
/// The oldest version this reader takes: 7 changed the open and exec events, so a 6 is
/// refused with the ringside version that can replay it.
pub const OLDEST_READABLE: u16 = 7;
/// The magic and the version: the bytes before the zstd stream.
pub const PREAMBLE_LEN: usize = MAGIC.len() + 2;
/// A frame's payload is never longer: a longer length is damage, and is never allocated.
pub const MAX_FRAME_LEN: u32 = 64 << 20;
/// Bytes around a payload: its length before it and its CRC after it.
pub const FRAME_OVERHEAD: u64 = 8;
/// The zstd level: fast enough to keep up with a busy host on one core, still compact.
pub const ZSTD_LEVEL: i32 = 3;

/// Who recorded what, where: the first frame of a recording.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Header {
    /// Must stay the first field: an older ringside reads it to say which version it needs.
    pub ringside_version: String,
    pub hostname: String,
    pub kernel: String,
    pub started: SystemTime,
    /// The filter text the session used.
    pub filter: String,
    pub stacks: bool,
}

/// A process as ringside knew it; `(pid, start_ns)` identifies it across pid reuse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProcessInfo {
    pub pid: u32,
    pub ppid: u32,
    pub start_ns: u64,
    pub comm: Vec<u8>,
}

/// One entry of a recording: a frame after the header.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum Entry {
    Event(crate::model::Event),
    Process(ProcessInfo),
    /// Kernel drop counters per event type name so far.
    Drops(BTreeMap<String, u64>),
    /// The recording was finished: nothing follows.
    End,
    /// An event of a fleet view, with the label of the host it came from. The reader hands
    /// it out as an [`Entry::Event`] whose `host` is set.
    HostEvent {
        host: String,
        event: crate::model::Event,
    },
}

impl Entry {
    /// The entry that records `event`, its host named when it has one.
    pub fn of_event(event: &crate::model::Event) -> Entry {
        match event.host.label() {
            Some(host) => Entry::HostEvent {
                host: host.to_string(),
                event: event.clone(),
            },
            None => Entry::Event(event.clone()),
        }
    }
}

/// Replaces `frame` with the frame of `value`: length, payload, CRC.
pub fn encode_frame<T: Serialize>(value: &T, frame: &mut Vec<u8>) -> Result<(), String> {
    frame.clear();
    frame.extend_from_slice(&[0; 4]);
    let mut out = postcard::to_extend(value, std::mem::take(frame)).map_err(|e| e.to_string())?;
    let len = out.len() - 4;
    let len32 = u32::try_from(len)
        .ok()
        .filter(|&len| len <= MAX_FRAME_LEN)
        .ok_or_else(|| format!("its {len} bytes exceed the {MAX_FRAME_LEN}-byte limit"))?;
    let crc = crc32fast::hash(&out[4..]);
    out[..4].copy_from_slice(&len32.to_le_bytes());
    out.extend_from_slice(&crc.to_le_bytes());
    *frame = out;
    Ok(())
}

/// The payload length a frame announces, if it is within the limit.
pub fn check_len(len: [u8; 4]) -> Result<u32, String> {
    let len = u32::from_le_bytes(len);
    if len > MAX_FRAME_LEN {
        Err(format!(
            "its length {len} exceeds the {MAX_FRAME_LEN}-byte limit"
        ))
    } else {
        Ok(len)
    }
}

pub fn check_crc(payload: &[u8], stored: [u8; 4]) -> Result<(), String> {
    let stored = u32::from_le_bytes(stored);
    let computed = crc32fast::hash(payload);
    if stored == computed {
        Ok(())
    } else {
        Err(format!(
            "CRC mismatch (stored {stored:08x}, computed {computed:08x}): its bytes were altered"
        ))
    }
}

/// The value a payload holds, all of it.
pub fn decode_payload<T: DeserializeOwned>(payload: &[u8]) -> Result<T, String> {
    let (value, rest) =
        postcard::take_from_bytes(payload).map_err(|e| format!("cannot decode it: {e}"))?;
    if rest.is_empty() {
        Ok(value)
    } else {
        Err(format!("{} stray bytes follow its contents", rest.len()))
    }
}
