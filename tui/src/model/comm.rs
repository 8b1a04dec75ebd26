//! A command name held inside its event: the kernel's `comm` is at most 16 bytes
//! (TASK_COMM_LEN, NUL included when shorter), so a million retained events keep it in 16 bytes
//! each instead of a pointer to a heap copy.

use std::fmt;
use std::ops::Deref;

use serde::de::{self, SeqAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Up to 16 bytes, NUL-padded; a command name has no NUL of its own.
#[derive(Clone, Copy, Default, PartialEq, Eq, Hash)]
pub struct Comm([u8; 16]);

impl Comm {
    /// The name up to its first NUL, at most 16 bytes: what the kernel would keep.
    pub fn new(name: &[u8]) -> Self {
        let mut bytes = [0; 16];
        let name = name.split(|&b| b == 0).next().unwrap_or_default();
        let len = name.len().min(16);
        bytes[..len].copy_from_slice(&name[..len]);
        Self(bytes)
    }
}

impl Deref for Comm {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        let len = self.0.iter().position(|&b| b == 0).unwrap_or(16);
        &self.0[..len]
    }
}

impl From<&[u8]> for Comm {
    fn from(name: &[u8]) -> Self {
        Self::new(name)
    }
}

impl From<Vec<u8>> for Comm {
    fn from(name: Vec<u8>) -> Self {
        Self::new(&name)
    }
}

impl PartialEq<[u8]> for Comm {
    fn eq(&self, other: &[u8]) -> bool {
        **self == *other
    }
}

impl PartialEq<&[u8]> for Comm {
    fn eq(&self, other: &&[u8]) -> bool {
        **self == **other
    }
}

impl fmt::Debug for Comm {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", bytes::Bytes::copy_from_slice(self))
    }
}

/// As bytes, the way the recordings kept it when it was a `Bytes`.
impl Serialize for Comm {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_bytes(self)
    }
}

impl<'de> Deserialize<'de> for Comm {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_byte_buf(CommVisitor)
    }
}

struct CommVisitor;

impl<'de> Visitor<'de> for CommVisitor {
    type Value = Comm;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a command name as bytes")
    }

    fn visit_bytes<E: de::Error>(self, bytes: &[u8]) -> Result<Comm, E> {
        Ok(Comm::new(bytes))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Comm, E> {
        Ok(Comm::new(text.as_bytes()))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Comm, A::Error> {
        let mut bytes = Vec::with_capacity(16);
        while let Some(byte) = seq.next_element::<u8>()? {
            bytes.push(byte);
        }
        Ok(Comm::new(&bytes))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_cut_where_the_kernel_cuts_it() {
        assert_eq!(&*Comm::new(b"worker"), b"worker");
        assert_eq!(&*Comm::new(b"0123456789abcdefXYZ"), b"0123456789abcdef");
        assert_eq!(&*Comm::new(b"evil\0hidden"), b"evil");
        assert_eq!(&*Comm::new(b""), b"");
    }

    #[test]
    fn recordings_keep_it_as_bytes_were_kept() {
        let name: &[u8] = b"\x1b[2Jevil";
        let old = postcard::to_allocvec(&bytes::Bytes::from_static(name)).unwrap();
        assert_eq!(postcard::to_allocvec(&Comm::new(name)).unwrap(), old);
        let back: Comm = postcard::from_bytes(&old).unwrap();
        assert_eq!(&*back, name);
    }
}
