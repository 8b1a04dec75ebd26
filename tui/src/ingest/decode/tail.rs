//! The sections after a record's head, taken in the order the probes wrote them.

use ringside_common::{STACK_FRAMES_LEN, StackHead};

use super::DecodeError;

/// The sections after a record's head, taken in order.
pub struct Tail<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Tail<'a> {
    /// `bytes` are what follows the head.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self { bytes, at: 0 }
    }

    /// The next `len` bytes, a field at most `max` long.
    pub fn take(
        &mut self,
        field: &'static str,
        len: usize,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        if len > max {
            return Err(DecodeError::LengthOutOfRange { field, len, max });
        }
        let left = self.bytes.len().saturating_sub(self.at);
        let section = self
            .bytes
            .get(self.at..self.at + len)
            .ok_or(DecodeError::PastTheEnd { field, len, left })?;
        self.at += len;
        Ok(section)
    }

    /// The frames `stack` announces; none when capture was off or failed.
    pub fn frames(
        &mut self,
        stack: &StackHead,
        field: &'static str,
    ) -> Result<Vec<u64>, DecodeError> {
        let frames = self.take(field, stack.tail_len(), STACK_FRAMES_LEN)?;
        Ok(frames
            .chunks_exact(8)
            .map(|frame| u64::from_ne_bytes(frame.try_into().unwrap_or_default()))
            .collect())
    }
}
