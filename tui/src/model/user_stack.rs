//! A copy of a thread's user registers and stack top, taken by the probes next to an event, and
//! how far unwinding it got.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

/// What the probes copied when the thread entered the kernel. Cheap to clone: the bytes are
/// shared.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserStackCopy {
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
    /// The stack from `sp` upwards.
    pub bytes: Bytes,
    /// The copy stopped at unreadable memory before `--stack-bytes`: it holds the whole stack.
    pub top_reached: bool,
}

impl UserStackCopy {
    /// The 8 bytes at `addr`, when the copy holds them.
    pub fn read_u64(&self, addr: u64) -> Option<u64> {
        let offset = usize::try_from(addr.checked_sub(self.sp)?).ok()?;
        let word = self.bytes.get(offset..offset.checked_add(8)?)?;
        Some(u64::from_le_bytes(word.try_into().ok()?))
    }
}

/// An event's user stack copy, or why it has none.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub enum UserCopy {
    /// Copies are off (`--stack-bytes 0`, no user stacks, or an exit): frame pointers only.
    #[default]
    NotTaken,
    Taken(UserStackCopy),
    /// One was asked for and is not here: the probes could not send it (ring buffer half full,
    /// no user registers), it never met its event, or the symbolizer was too far behind to
    /// queue it. Counted as lost; the stack falls back to frame pointers.
    Lost,
}

/// Why a user stack ends where it does: the last line of every user stack, so that a short
/// stack is never mistaken for a whole one. `as_str` is what JSON shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum StackEnd {
    /// Unwinding reached the outermost frame (`_start`, a thread's start routine).
    Complete,
    /// The stack goes on past the bytes copied: raise `--stack-bytes`.
    WindowExhausted,
    /// A return address lies outside every file mapping (JIT or generated code): neither unwind
    /// tables nor frame pointers lead further.
    NotCode,
    /// The unwinder found no usable rule or read a nonsense frame (corrupt stack or code without
    /// unwind tables nor frame pointers).
    UnwindFailed,
    /// More frames than are kept.
    DepthLimit,
    /// No copy was taken (`--stack-bytes 0`; exit events, whose memory is gone by the time
    /// they are seen): the stack is what frame pointers gave.
    FramePointersOnly,
    /// The copy was lost (ring buffer half full, or the symbolizer too far behind) or never
    /// arrived: frame pointers only.
    CopyLost,
    /// The process's mappings were unknown at the time of the stack.
    ProcessUnknown,
}

impl StackEnd {
    pub fn as_str(self) -> &'static str {
        match self {
            StackEnd::Complete => "complete",
            StackEnd::WindowExhausted => "window_exhausted",
            StackEnd::NotCode => "not_code",
            StackEnd::UnwindFailed => "unwind_failed",
            StackEnd::DepthLimit => "depth_limit",
            StackEnd::FramePointersOnly => "frame_pointers_only",
            StackEnd::CopyLost => "copy_lost",
            StackEnd::ProcessUnknown => "process_unknown",
        }
    }

    /// What a person reads under the stack.
    pub fn explain(self) -> &'static str {
        match self {
            StackEnd::Complete => "complete: unwound to the program's entry",
            StackEnd::WindowExhausted => {
                "cut short: the stack is deeper than the bytes copied (raise --stack-bytes)"
            }
            StackEnd::NotCode => {
                "cut short: a return address is outside all file mappings (JIT or generated code)"
            }
            StackEnd::UnwindFailed => {
                "cut short: no unwind table or frame pointer leads further (corrupt stack?)"
            }
            StackEnd::DepthLimit => "cut short: deeper than the frames kept",
            StackEnd::FramePointersOnly => {
                "frame pointers only: no stack copy (--stack-bytes 0, or an exit, whose memory is \
                 already gone)"
            }
            StackEnd::CopyLost => {
                "frame pointers only: the stack copy was shed under load (counted as lost)"
            }
            StackEnd::ProcessUnknown => "cut short: the process's mappings were never seen",
        }
    }
}

/// How a user frame was found.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum FoundBy {
    /// The instruction pointer itself.
    Registers,
    /// The callee's unwind table (.eh_frame / .debug_frame).
    UnwindTable,
    /// The callee's frame pointer (no unwind table covers it).
    FramePointer,
}

impl FoundBy {
    pub fn as_str(self) -> &'static str {
        match self {
            FoundBy::Registers => "registers",
            FoundBy::UnwindTable => "unwind_table",
            FoundBy::FramePointer => "frame_pointer",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_only_words_inside_the_copy() {
        let copy = UserStackCopy {
            ip: 0,
            sp: 0x1000,
            bp: 0,
            bytes: Bytes::from((0u8..24).collect::<Vec<_>>()),
            top_reached: false,
        };
        assert_eq!(copy.read_u64(0x1000), Some(0x0706_0504_0302_0100));
        assert_eq!(copy.read_u64(0x1010), Some(0x1716_1514_1312_1110));
        assert_eq!(copy.read_u64(0x1011), None, "runs past the end");
        assert_eq!(copy.read_u64(0xff8), None, "below sp");
        assert_eq!(copy.read_u64(u64::MAX), None);
    }
}
