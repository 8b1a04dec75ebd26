//! A file open: the path as the caller passed it, how, and what came back.

use bytes::Bytes;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::model::names::OpenFlags;
use crate::model::text::printable;
use crate::output::json::fields::{result, text_entry};
use crate::short_text::ShortText;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Open {
    pub path: Bytes,
    pub path_truncated: bool,
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    /// The fd, or `-errno`.
    pub ret: i32,
    pub latency_ns: u64,
    pub syscall: OpenSyscall,
}

/// Which system call opened a file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum OpenSyscall {
    Openat,
    Openat2,
    Open,
}

impl OpenSyscall {
    pub fn name(self) -> &'static str {
        match self {
            OpenSyscall::Openat => "openat",
            OpenSyscall::Openat2 => "openat2",
            OpenSyscall::Open => "open",
        }
    }
}

impl Open {
    pub fn summary(&self) -> String {
        printable(&self.path).into_owned()
    }

    pub fn ret(&self) -> Option<i32> {
        Some(self.ret)
    }

    pub fn path(&self) -> Option<&[u8]> {
        Some(&self.path)
    }

    pub fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        text_entry(map, "path", &self.path)?;
        if self.path_truncated {
            map.serialize_entry("path_truncated", &true)?;
        }
        OpenFlags::with_text(self.flags, |flags| map.serialize_entry("flags", flags))?;
        let mut mode = ShortText::<12>::new();
        mode.push_number(u64::from(self.mode), 8, 4);
        map.serialize_entry("mode", mode.as_str())?;
        map.serialize_entry("dfd", &self.dfd)?;
        map.serialize_entry("syscall", self.syscall.name())?;
        result(map, self.ret)?;
        map.serialize_entry("latency_ns", &self.latency_ns)
    }

    pub fn own_text(&mut self) {
        self.path = Bytes::copy_from_slice(&self.path);
    }
}
