//! A pprof profile (`profile.proto`, gzipped), as `go tool pprof` and Grafana Pyroscope read
//! it: one sample per event, a sample type per event kind (the event's own is 1, the others
//! 0), labels pid, comm, type and errno, and functions with their file and line.
//!
//! The message types are written here with prost's derive, field numbers as in
//! github.com/google/pprof/proto/profile.proto; only the fields ringside fills are declared (a
//! reader skips what it does not know, and defaults what is absent).

use std::collections::HashMap;
use std::io::Write as _;

use prost::Message as _;

use super::frames::{Func, call_chain};
use crate::model::names::error_name;
use crate::model::text::printable;
use crate::model::{Event, EventKind};

#[derive(Clone, PartialEq, prost::Message)]
pub struct Profile {
    #[prost(message, repeated, tag = "1")]
    pub sample_type: Vec<ValueType>,
    #[prost(message, repeated, tag = "2")]
    pub sample: Vec<Sample>,
    #[prost(message, repeated, tag = "4")]
    pub location: Vec<Location>,
    #[prost(message, repeated, tag = "5")]
    pub function: Vec<Function>,
    /// Index 0 is always "".
    #[prost(string, repeated, tag = "6")]
    pub string_table: Vec<String>,
    #[prost(int64, tag = "9")]
    pub time_nanos: i64,
    #[prost(int64, tag = "10")]
    pub duration_nanos: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueType {
    /// Indices into the string table.
    #[prost(int64, tag = "1")]
    pub r#type: i64,
    #[prost(int64, tag = "2")]
    pub unit: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Sample {
    /// Leaf first.
    #[prost(uint64, repeated, tag = "1")]
    pub location_id: Vec<u64>,
    #[prost(int64, repeated, tag = "2")]
    pub value: Vec<i64>,
    #[prost(message, repeated, tag = "3")]
    pub label: Vec<Label>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Label {
    #[prost(int64, tag = "1")]
    pub key: i64,
    #[prost(int64, tag = "2")]
    pub str: i64,
    #[prost(int64, tag = "3")]
    pub num: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Location {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(uint64, tag = "3")]
    pub address: u64,
    /// Innermost first: an inlined function's line, then the function it was inlined into.
    #[prost(message, repeated, tag = "4")]
    pub line: Vec<Line>,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Line {
    #[prost(uint64, tag = "1")]
    pub function_id: u64,
    #[prost(int64, tag = "2")]
    pub line: i64,
}

#[derive(Clone, PartialEq, prost::Message)]
pub struct Function {
    #[prost(uint64, tag = "1")]
    pub id: u64,
    #[prost(int64, tag = "2")]
    pub name: i64,
    #[prost(int64, tag = "3")]
    pub system_name: i64,
    #[prost(int64, tag = "4")]
    pub filename: i64,
}

/// A profile being built from events.
pub struct PprofBuilder {
    profile: Profile,
    strings: HashMap<String, i64>,
    functions: HashMap<(String, Option<String>), u64>,
    /// By address and whether it is a kernel one, with the functions at it, innermost first.
    locations: HashMap<(bool, u64, Vec<u64>), u64>,
    first_ns: Option<u64>,
    last_ns: u64,
}

impl PprofBuilder {
    pub fn new() -> Self {
        let mut builder = Self {
            profile: Profile::default(),
            strings: HashMap::new(),
            functions: HashMap::new(),
            locations: HashMap::new(),
            first_ns: None,
            last_ns: 0,
        };
        builder.string("");
        let count = builder.string("count");
        for kind in EventKind::ALL {
            let r#type = builder.string(kind.name());
            builder.profile.sample_type.push(ValueType {
                r#type,
                unit: count,
            });
        }
        builder
    }

    pub fn add(&mut self, event: &Event) {
        let chain = call_chain(event);
        let mut location_id = Vec::with_capacity(chain.len());
        // A location per frame; inlined functions join the frame they were inlined into.
        let mut index = chain.len();
        while index > 0 {
            let end = index;
            let addr = chain[end - 1].addr;
            let kernel = chain[end - 1].kernel;
            while index > 0 && chain[index - 1].addr == addr && chain[index - 1].kernel == kernel {
                index -= 1;
            }
            location_id.push(self.location(&chain[index..end]));
        }
        let mut value = vec![0; EventKind::ALL.len()];
        value[event.kind().index()] = 1;
        let mut label = vec![
            self.num_label("pid", i64::from(event.pid)),
            self.str_label("comm", &printable(&event.comm)),
            self.str_label("type", event.kind().name()),
        ];
        if let Some(errno) = event.details.ret().and_then(error_name) {
            label.push(self.str_label("errno", &errno));
        }
        self.profile.sample.push(Sample {
            location_id,
            value,
            label,
        });
        let stamp = event
            .time
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX));
        self.first_ns = Some(self.first_ns.map_or(stamp, |first| first.min(stamp)));
        self.last_ns = self.last_ns.max(stamp);
    }

    /// The profile, serialized and gzipped.
    pub fn finish(mut self) -> std::io::Result<Vec<u8>> {
        let first = self.first_ns.unwrap_or(0);
        self.profile.time_nanos = i64::try_from(first).unwrap_or(i64::MAX);
        self.profile.duration_nanos =
            i64::try_from(self.last_ns.saturating_sub(first)).unwrap_or(0);
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        gz.write_all(&self.profile.encode_to_vec())?;
        gz.finish()
    }

    /// A location for one frame: `funcs` outermost first (the function, then what was inlined
    /// into it).
    fn location(&mut self, funcs: &[Func]) -> u64 {
        let ids: Vec<u64> = funcs.iter().rev().map(|f| self.function(f)).collect();
        let (kernel, addr) = (funcs[0].kernel, funcs[0].addr);
        let key = (kernel, addr, ids.clone());
        if let Some(&id) = self.locations.get(&key) {
            return id;
        }
        let id = self.profile.location.len() as u64 + 1;
        let line = ids
            .iter()
            .zip(funcs.iter().rev())
            .map(|(&function_id, func)| Line {
                function_id,
                line: func.line.map_or(0, i64::from),
            })
            .collect();
        self.profile.location.push(Location {
            id,
            address: addr,
            line,
        });
        self.locations.insert(key, id);
        id
    }

    fn function(&mut self, func: &Func) -> u64 {
        let name = if func.kernel {
            format!("{} [kernel]", func.name)
        } else {
            func.name.clone()
        };
        let key = (name, func.file.clone());
        if let Some(&id) = self.functions.get(&key) {
            return id;
        }
        let id = self.profile.function.len() as u64 + 1;
        let name = self.string(&key.0);
        let filename = key.1.as_deref().map_or(0, |file| self.string(file));
        self.profile.function.push(Function {
            id,
            name,
            system_name: name,
            filename,
        });
        self.functions.insert(key, id);
        id
    }

    fn string(&mut self, text: &str) -> i64 {
        if let Some(&index) = self.strings.get(text) {
            return index;
        }
        let index = self.profile.string_table.len() as i64;
        self.profile.string_table.push(text.to_owned());
        self.strings.insert(text.to_owned(), index);
        index
    }

    fn str_label(&mut self, key: &str, value: &str) -> Label {
        Label {
            key: self.string(key),
            str: self.string(value),
            num: 0,
        }
    }

    fn num_label(&mut self, key: &str, num: i64) -> Label {
        Label {
            key: self.string(key),
            str: 0,
            num,
        }
    }
}
