//! The sections after a record's head, taken in the order the probes wrote them.

use std::mem::offset_of;

use ringside_common::{STACK_FRAMES_LEN, StackHead};

use super::DecodeError;
use super::head::Head;

/// The sections after a record's head, taken in order.
pub struct Tail<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Tail<'a> {
    pub fn after_head(bytes: &'a [u8], head: usize) -> Self {
        Self { bytes, at: head }
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

    /// The frames of the stack whose head is at `at` in the record; none when capture was off
    /// or failed.
    pub fn frames(
        &mut self,
        record: &Head<'_>,
        at: usize,
        field: &'static str,
    ) -> Result<Vec<u64>, DecodeError> {
        let written = record.i32(at + offset_of!(StackHead, bytes));
        let Ok(written) = usize::try_from(written) else {
            return Ok(Vec::new());
        };
        let frames = self.take(field, written, STACK_FRAMES_LEN)?;
        Ok(frames
            .chunks_exact(8)
            .map(|frame| u64::from_ne_bytes(frame.try_into().unwrap_or_default()))
            .collect())
    }
}
