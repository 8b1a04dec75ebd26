//! The JSON object's fields as OTLP attributes, written straight from the same `Serialize`
//! code the JSON output uses (no `serde_json::Value` in between: building that tree per
//! event cost more than everything else the export does).

use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::common::v1::{AnyValue, ArrayValue, KeyValue, KeyValueList};
use serde::ser::{self, Serialize};

/// Renames a top-level key (reusing its `String` where it can); `None` leaves the entry out.
pub type Rename = fn(String) -> Option<String>;

/// Serializes `value` (a map) into attributes, its top-level keys renamed by `top` and the
/// keys of the maps inside it by `inner`. What does not convert is left out.
pub fn attributes(value: &impl Serialize, top: Rename, inner: fn(&str) -> &str) -> Vec<KeyValue> {
    let Ok(Some(Any::KvlistValue(fields))) = value.serialize(ToAny { inner }) else {
        return Vec::new();
    };
    fields
        .values
        .into_iter()
        .filter_map(|field| {
            Some(KeyValue {
                key: top(field.key)?,
                value: field.value,
                ..KeyValue::default()
            })
        })
        .collect()
}

pub fn key_value(key: String, value: Any) -> KeyValue {
    KeyValue {
        key,
        value: Some(AnyValue { value: Some(value) }),
        ..KeyValue::default()
    }
}

#[derive(Debug)]
pub struct Error(String);

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Error {}

impl ser::Error for Error {
    fn custom<T: std::fmt::Display>(message: T) -> Self {
        Error(message.to_string())
    }
}

fn unsupported<T>(what: &str) -> Result<T, Error> {
    Err(Error(format!("{what} has no OTLP form here")))
}

/// Any value below the top: its OTLP form, `None` for nothing (a unit, a `None`).
#[derive(Clone, Copy)]
struct ToAny {
    inner: fn(&str) -> &str,
}

struct List {
    inner: fn(&str) -> &str,
    values: Vec<AnyValue>,
}

struct Map {
    inner: fn(&str) -> &str,
    pending_key: Option<String>,
    values: Vec<KeyValue>,
}

impl ser::Serializer for ToAny {
    type Ok = Option<Any>;
    type Error = Error;
    type SerializeSeq = List;
    type SerializeTuple = List;
    type SerializeTupleStruct = List;
    type SerializeTupleVariant = ser::Impossible<Option<Any>, Error>;
    type SerializeMap = Map;
    type SerializeStruct = Map;
    type SerializeStructVariant = ser::Impossible<Option<Any>, Error>;

    fn serialize_bool(self, value: bool) -> Result<Option<Any>, Error> {
        Ok(Some(Any::BoolValue(value)))
    }
    fn serialize_i8(self, value: i8) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_i16(self, value: i16) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_i32(self, value: i32) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_i64(self, value: i64) -> Result<Option<Any>, Error> {
        Ok(Some(Any::IntValue(value)))
    }
    fn serialize_u8(self, value: u8) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_u16(self, value: u16) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_u32(self, value: u32) -> Result<Option<Any>, Error> {
        self.serialize_i64(value.into())
    }
    fn serialize_u64(self, value: u64) -> Result<Option<Any>, Error> {
        // OTLP integers are signed: what does not fit goes as its decimal text.
        Ok(Some(match i64::try_from(value) {
            Ok(value) => Any::IntValue(value),
            Err(_) => Any::StringValue(value.to_string()),
        }))
    }
    fn serialize_f32(self, value: f32) -> Result<Option<Any>, Error> {
        self.serialize_f64(value.into())
    }
    fn serialize_f64(self, value: f64) -> Result<Option<Any>, Error> {
        Ok(Some(Any::DoubleValue(value)))
    }
    fn serialize_char(self, value: char) -> Result<Option<Any>, Error> {
        Ok(Some(Any::StringValue(value.to_string())))
    }
    fn serialize_str(self, value: &str) -> Result<Option<Any>, Error> {
        Ok(Some(Any::StringValue(value.to_owned())))
    }
    fn serialize_bytes(self, value: &[u8]) -> Result<Option<Any>, Error> {
        Ok(Some(Any::BytesValue(value.to_vec())))
    }
    fn serialize_none(self) -> Result<Option<Any>, Error> {
        Ok(None)
    }
    fn serialize_some<T: ?Sized + Serialize>(self, value: &T) -> Result<Option<Any>, Error> {
        value.serialize(self)
    }
    fn serialize_unit(self) -> Result<Option<Any>, Error> {
        Ok(None)
    }
    fn serialize_unit_struct(self, _: &'static str) -> Result<Option<Any>, Error> {
        Ok(None)
    }
    fn serialize_unit_variant(
        self,
        _: &'static str,
        _: u32,
        variant: &'static str,
    ) -> Result<Option<Any>, Error> {
        self.serialize_str(variant)
    }
    fn serialize_newtype_struct<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        value: &T,
    ) -> Result<Option<Any>, Error> {
        value.serialize(self)
    }
    fn serialize_newtype_variant<T: ?Sized + Serialize>(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        value: &T,
    ) -> Result<Option<Any>, Error> {
        value.serialize(self)
    }
    fn serialize_seq(self, len: Option<usize>) -> Result<List, Error> {
        Ok(List {
            inner: self.inner,
            values: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_tuple(self, len: usize) -> Result<List, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_struct(self, _: &'static str, len: usize) -> Result<List, Error> {
        self.serialize_seq(Some(len))
    }
    fn serialize_tuple_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeTupleVariant, Error> {
        unsupported("a tuple variant")
    }
    fn serialize_map(self, len: Option<usize>) -> Result<Map, Error> {
        Ok(Map {
            inner: self.inner,
            pending_key: None,
            values: Vec::with_capacity(len.unwrap_or(0)),
        })
    }
    fn serialize_struct(self, _: &'static str, len: usize) -> Result<Map, Error> {
        self.serialize_map(Some(len))
    }
    fn serialize_struct_variant(
        self,
        _: &'static str,
        _: u32,
        _: &'static str,
        _: usize,
    ) -> Result<Self::SerializeStructVariant, Error> {
        unsupported("a struct variant")
    }
}

impl ser::SerializeSeq for List {
    type Ok = Option<Any>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        if let Some(value) = value.serialize(ToAny { inner: self.inner })? {
            self.values.push(AnyValue { value: Some(value) });
        }
        Ok(())
    }

    fn end(self) -> Result<Option<Any>, Error> {
        Ok(Some(Any::ArrayValue(ArrayValue {
            values: self.values,
        })))
    }
}

impl ser::SerializeTuple for List {
    type Ok = Option<Any>;
    type Error = Error;

    fn serialize_element<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Option<Any>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeTupleStruct for List {
    type Ok = Option<Any>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        ser::SerializeSeq::serialize_element(self, value)
    }

    fn end(self) -> Result<Option<Any>, Error> {
        ser::SerializeSeq::end(self)
    }
}

impl ser::SerializeMap for Map {
    type Ok = Option<Any>;
    type Error = Error;

    fn serialize_key<T: ?Sized + Serialize>(&mut self, key: &T) -> Result<(), Error> {
        self.pending_key = match key.serialize(ToAny { inner: self.inner })? {
            // Most keys keep their name: their `String` is kept too.
            Some(Any::StringValue(key)) => Some(match (self.inner)(&key) {
                renamed if renamed.as_ptr() == key.as_ptr() => key,
                renamed => renamed.to_owned(),
            }),
            _ => None,
        };
        Ok(())
    }

    fn serialize_value<T: ?Sized + Serialize>(&mut self, value: &T) -> Result<(), Error> {
        let Some(key) = self.pending_key.take() else {
            return Ok(());
        };
        if let Some(value) = value.serialize(ToAny { inner: self.inner })? {
            self.values.push(key_value(key, value));
        }
        Ok(())
    }

    fn end(self) -> Result<Option<Any>, Error> {
        Ok(Some(Any::KvlistValue(KeyValueList {
            values: self.values,
        })))
    }
}

impl ser::SerializeStruct for Map {
    type Ok = Option<Any>;
    type Error = Error;

    fn serialize_field<T: ?Sized + Serialize>(
        &mut self,
        key: &'static str,
        value: &T,
    ) -> Result<(), Error> {
        ser::SerializeMap::serialize_entry(self, key, value)
    }

    fn end(self) -> Result<Option<Any>, Error> {
        ser::SerializeMap::end(self)
    }
}
