//! Integers and byte runs read at offsets into a byte slice, never past its end.
//!
//! Perf's side-band records are in the machine's own byte order; a BTF file states its order
//! with its magic number. One reader serves both: the order is chosen when the reader is made,
//! and a field that would run past the end of the slice (or whose offset overflows) reads as
//! `None`, never as a panic. (The probes' ring records are read as their `ringside_common`
//! types, see `ingest::decode`.)

/// The order of an integer's bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ByteOrder {
    Little,
    Big,
}

impl ByteOrder {
    /// The order of the machine ringside runs on, which the kernel's records use.
    pub const NATIVE: Self = if cfg!(target_endian = "big") {
        Self::Big
    } else {
        Self::Little
    };
}

/// A byte slice read as fields at byte offsets.
#[derive(Debug, Clone, Copy)]
pub struct ByteFields<'a> {
    bytes: &'a [u8],
    order: ByteOrder,
}

impl<'a> ByteFields<'a> {
    pub fn new(bytes: &'a [u8], order: ByteOrder) -> Self {
        Self { bytes, order }
    }

    /// Fields in the machine's own byte order, as the kernel writes its records.
    pub fn native(bytes: &'a [u8]) -> Self {
        Self::new(bytes, ByteOrder::NATIVE)
    }

    /// The `len` bytes at `at`.
    pub fn bytes(&self, at: usize, len: usize) -> Option<&'a [u8]> {
        self.bytes.get(at..at.checked_add(len)?)
    }

    /// The `N` bytes at `at`, as an array.
    pub fn array<const N: usize>(&self, at: usize) -> Option<[u8; N]> {
        self.bytes(at, N)?.try_into().ok()
    }

    pub fn u16(&self, at: usize) -> Option<u16> {
        let bytes = self.array(at)?;
        Some(match self.order {
            ByteOrder::Little => u16::from_le_bytes(bytes),
            ByteOrder::Big => u16::from_be_bytes(bytes),
        })
    }

    pub fn u32(&self, at: usize) -> Option<u32> {
        let bytes = self.array(at)?;
        Some(match self.order {
            ByteOrder::Little => u32::from_le_bytes(bytes),
            ByteOrder::Big => u32::from_be_bytes(bytes),
        })
    }

    pub fn u64(&self, at: usize) -> Option<u64> {
        let bytes = self.array(at)?;
        Some(match self.order {
            ByteOrder::Little => u64::from_le_bytes(bytes),
            ByteOrder::Big => u64::from_be_bytes(bytes),
        })
    }
}

#[cfg(test)]
mod tests;
