//! The text of decoded events (comm, paths, argv) without an allocation per event: strings
//! are copied into a large shared buffer and each event holds a counted view of its part.
//!
//! At hundreds of thousands of events a second, two small allocations per event were a tenth
//! of ringside's CPU. A buffer is freed when the last event that points into it is dropped,
//! so a consumer that keeps events for long copies their text out ([`Event::own_text`]).
//!
//! [`Event::own_text`]: crate::model::Event::own_text

use bytes::{Bytes, BytesMut};

/// The size of each shared buffer: hundreds of typical events' text.
const CHUNK_BYTES: usize = 64 * 1024;

#[derive(Debug, Default)]
pub struct TextArena {
    /// The unused end of the current buffer.
    free: BytesMut,
}

impl TextArena {
    /// `bytes`, copied into the current buffer (a new one when it is full).
    pub fn copy(&mut self, bytes: &[u8]) -> Bytes {
        if bytes.is_empty() {
            return Bytes::new();
        }
        if self.free.capacity() < bytes.len() {
            self.free = BytesMut::with_capacity(CHUNK_BYTES.max(bytes.len()));
        }
        self.free.extend_from_slice(bytes);
        self.free.split().freeze()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn copies_keep_their_own_bytes_across_buffers() {
        let mut arena = TextArena::default();
        let texts: Vec<Vec<u8>> = (0..3000u32)
            .map(|i| format!("/proc/{i}/status").into_bytes())
            .collect();
        let copies: Vec<Bytes> = texts.iter().map(|text| arena.copy(text)).collect();
        for (text, copy) in texts.iter().zip(&copies) {
            assert_eq!(&copy[..], &text[..]);
        }
        let long = vec![b'x'; CHUNK_BYTES * 2];
        assert_eq!(arena.copy(&long).len(), long.len());
        assert!(arena.copy(b"").is_empty());
    }
}
