//! A process's exit: its status and how long it lived.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exit {
    /// The wait status: `code << 8 | signal`, with 0x80 set when it dumped core.
    pub status: i32,
    pub lifetime_ns: u64,
}

impl Exit {
    pub fn code(&self) -> i32 {
        (self.status >> 8) & 0xff
    }

    /// The signal that killed the process, if one did.
    pub fn signal(&self) -> Option<i32> {
        let signal = self.status & 0x7f;
        (signal != 0).then_some(signal)
    }

    pub fn core_dumped(&self) -> bool {
        self.status & 0x80 != 0
    }

    /// A process that did not exit with 0: its code said so, or a signal ended it.
    pub fn failed(&self) -> bool {
        self.code() != 0 || self.signal().is_some()
    }

    pub fn summary(&self) -> String {
        let lifetime = self.lifetime_ns as f64 / 1e6;
        match self.signal() {
            Some(signal) => format!(
                "killed by {}{} after {lifetime:.1} ms",
                crate::model::names::signal_label(signal),
                if self.core_dumped() {
                    " (core dumped)"
                } else {
                    ""
                }
            ),
            None => format!("code {} after {lifetime:.1} ms", self.code()),
        }
    }
}
