//! A record's fixed head: the `ringside_common` struct itself, copied out of the ring's bytes.

use std::mem::size_of;

use zerocopy::FromBytes;

use super::DecodeError;
use super::tail::Tail;

/// The head `T` a record starts with, and the sections after it. The ring's bytes need not be
/// aligned for `T`: the head is copied out. A record shorter than `T` is an error naming `kind`.
pub fn read<'a, T: FromBytes>(
    bytes: &'a [u8],
    kind: &'static str,
) -> Result<(T, Tail<'a>), DecodeError> {
    T::read_from_prefix(bytes)
        .map(|(head, tail)| (head, Tail::new(tail)))
        .map_err(|_| DecodeError::ShorterThanHead {
            kind,
            len: bytes.len(),
            head: size_of::<T>(),
        })
}
