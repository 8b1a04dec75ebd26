//! An exec: the program a process became and its arguments.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Exec {
    pub filename: Bytes,
    /// The filename did not fit in its buffer.
    pub filename_truncated: bool,
    /// `filename` made absolute, when it was relative (`./run.sh`).
    pub abs_filename: Option<Box<super::AbsPath>>,
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

    pub fn own_text(&mut self) {
        self.filename = Bytes::copy_from_slice(&self.filename);
        if let Some(abs) = &mut self.abs_filename {
            abs.own_text();
        }
        for arg in &mut self.argv {
            *arg = Bytes::copy_from_slice(arg);
        }
    }
}
