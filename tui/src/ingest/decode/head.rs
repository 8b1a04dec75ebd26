//! A record's fixed head, read at `offset_of!` positions.

use crate::byte_fields::ByteFields;

/// The native-endian fields of a record whose size was already checked against its kind's
/// head, so every fixed offset is in bounds. An out-of-range offset would be a bug in the
/// decoder, not bad input; it reads as zero rather than panic.
pub struct Head<'a>(ByteFields<'a>);

impl<'a> Head<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        Self(ByteFields::native(bytes))
    }

    pub fn bytes(&self, at: usize, len: usize) -> &'a [u8] {
        self.0.bytes(at, len).unwrap_or_default()
    }

    pub fn u16(&self, at: usize) -> u16 {
        self.0.u16(at).unwrap_or_default()
    }

    pub fn u32(&self, at: usize) -> u32 {
        self.0.u32(at).unwrap_or_default()
    }

    pub fn i32(&self, at: usize) -> i32 {
        self.0.i32(at).unwrap_or_default()
    }

    pub fn u64(&self, at: usize) -> u64 {
        self.0.u64(at).unwrap_or_default()
    }
}
