//! An exec: the program a process became and its arguments.

use bytes::Bytes;
use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::model::text::printable;
use crate::output::json::fields::{Hexes, Texts, result, text_entry};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    pub filename: Bytes,
    /// The filename did not fit in its buffer.
    pub filename_truncated: bool,
    pub argv: Vec<Bytes>,
    /// More arguments were passed than were kept.
    pub argv_truncated: bool,
    /// Some argument could not be read: `argv` is what could be, possibly nothing, and never
    /// passes for the whole command line.
    pub argv_unreadable: bool,
    pub ret: i32,
}

impl Exec {
    /// The command line, or the filename when there are no arguments.
    pub fn summary(&self) -> String {
        if self.argv.is_empty() {
            return printable(&self.filename).into_owned();
        }
        let args: Vec<_> = self
            .argv
            .iter()
            .map(|arg| printable(arg).into_owned())
            .collect();
        args.join(" ")
    }

    pub fn ret(&self) -> Option<i32> {
        Some(self.ret)
    }

    /// What `path` filters look at: the program's filename.
    pub fn path(&self) -> Option<&[u8]> {
        Some(&self.filename)
    }

    pub fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        text_entry(map, "filename", &self.filename)?;
        if self.filename_truncated {
            map.serialize_entry("filename_truncated", &true)?;
        }
        map.serialize_entry("argv", &Texts(&self.argv))?;
        if self
            .argv
            .iter()
            .any(|arg| std::str::from_utf8(arg).is_err())
        {
            map.serialize_entry("argv_hex", &Hexes(&self.argv))?;
        }
        if self.argv_truncated {
            map.serialize_entry("argv_truncated", &true)?;
        }
        if self.argv_unreadable {
            map.serialize_entry("argv_unreadable", &true)?;
        }
        result(map, self.ret)
    }

    pub fn own_text(&mut self) {
        self.filename = Bytes::copy_from_slice(&self.filename);
        for arg in &mut self.argv {
            *arg = Bytes::copy_from_slice(arg);
        }
    }
}
