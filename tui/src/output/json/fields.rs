//! The pieces every kind's JSON fields are made of: kernel text (lossless), results with
//! their errno names, and values written through `Display` without a `String` of their own.

use std::borrow::Cow;
use std::fmt;

use bytes::Bytes;
use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::model::names::error_name;

/// `ret`, and `error` with the errno name when it is a failure (`E<n>` for unnamed codes).
pub fn result<M: SerializeMap>(map: &mut M, ret: i32) -> Result<(), M::Error> {
    map.serialize_entry("ret", &ret)?;
    if let Some(name) = error_name(ret) {
        map.serialize_entry("error", &name)?;
    }
    Ok(())
}

/// A value serialized as the text its `Display` writes, without building a `String` first.
pub struct AsText<T>(pub T);

impl<T: fmt::Display> Serialize for AsText<T> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(&self.0)
    }
}

/// Kernel strings are bytes; valid UTF-8 goes through as is (JSON escapes control characters),
/// other bytes become U+FFFD.
fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// `key` as readable text and, only when the bytes are not valid UTF-8, `hex_key` with the
/// exact bytes (lowercase hex): lossless without changing the type of `key`.
pub fn text_entry<M: SerializeMap>(
    map: &mut M,
    key: &'static str,
    hex_key: &'static str,
    bytes: &[u8],
) -> Result<(), M::Error> {
    if let Ok(valid) = std::str::from_utf8(bytes) {
        return map.serialize_entry(key, valid);
    }
    map.serialize_entry(key, &text(bytes))?;
    map.serialize_entry(hex_key, &hex(bytes))
}

/// Lowercase hex, two digits a byte.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

pub struct Hexes<'a>(pub &'a [Bytes]);

impl Serialize for Hexes<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&hex(item))?;
        }
        seq.end()
    }
}

pub struct Texts<'a>(pub &'a [Bytes]);

impl Serialize for Texts<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for item in self.0 {
            seq.serialize_element(&text(item))?;
        }
        seq.end()
    }
}
