//! A file open: the path as the caller passed it, how, and what came back.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Open {
    pub path: Bytes,
    pub path_truncated: bool,
    /// `path` made absolute, when it was relative.
    pub abs_path: Option<Box<super::AbsPath>>,
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

    pub fn own_text(&mut self) {
        self.path = Bytes::copy_from_slice(&self.path);
        if let Some(abs) = &mut self.abs_path {
            abs.own_text();
        }
    }
}
