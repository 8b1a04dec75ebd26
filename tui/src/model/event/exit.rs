//! A process's exit: its status and how long it lived.

use serde::{Deserialize, Serialize};

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
}
