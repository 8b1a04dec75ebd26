//! A fork: the new process's pid.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fork {
    pub child_pid: u32,
    pub clone_flags: u64,
}

impl Fork {
    pub fn summary(&self) -> String {
        format!("child {}", self.child_pid)
    }
}
