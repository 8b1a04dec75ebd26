//! A process's exit: its status and how long it lived.

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use crate::model::names::signal_name;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    /// The wait status: `code << 8 | signal`.
    pub status: i32,
    pub lifetime_ns: u64,
}

impl Exit {
    pub fn code(&self) -> i32 {
        (self.status >> 8) & 0xff
    }

    pub fn summary(&self) -> String {
        format!(
            "code {} after {:.1} ms",
            self.code(),
            self.lifetime_ns as f64 / 1e6
        )
    }

    pub fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        map.serialize_entry("exit_code", &self.code())?;
        let signal = self.status & 0x7f;
        if signal != 0 {
            map.serialize_entry("signal", signal_name(signal).unwrap_or("?"))?;
        }
        if self.status & 0x80 != 0 {
            map.serialize_entry("core_dumped", &true)?;
        }
        map.serialize_entry("lifetime_ns", &self.lifetime_ns)
    }
}
