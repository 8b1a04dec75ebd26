//! A change to a file: removed, renamed, made, its mode, owner or length set, a link made.
//! Every change kind is this one type; the system call says which kind it is.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::AbsPath;
use crate::model::EventKind;
use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Change {
    pub syscall: ChangeSyscall,
    /// The file changed (a rename's old name, a link's new name), as the caller gave it; for
    /// an fd-based call (`fchmod`, `fchown`, `ftruncate`), the fd's file, named in the kernel.
    pub path: Bytes,
    pub path_truncated: bool,
    /// `path` made absolute, when it was relative.
    pub abs_path: Option<Box<AbsPath>>,
    /// A rename's new name, a link's target (the existing file) or a symlink's target (text,
    /// never resolved); empty for the other kinds.
    pub other: Bytes,
    pub other_abs: Option<Box<AbsPath>>,
    /// The fd of an fd-based call.
    pub fd: Option<i32>,
    /// `unlinkat`, `renameat2`, `linkat`, `fchmodat2` and `fchownat` flags.
    pub flags: u32,
    pub mode: u32,
    /// `u32::MAX` when unchanged.
    pub uid: u32,
    pub gid: u32,
    pub length: i64,
    /// 0, or `-errno`.
    pub ret: i32,
    pub latency_ns: u64,
}

/// The system calls, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ChangeSyscall {
    Unlink,
    Unlinkat,
    Rmdir,
    Rename,
    Renameat,
    Renameat2,
    Mkdir,
    Mkdirat,
    Chmod,
    Fchmod,
    Fchmodat,
    Fchmodat2,
    Chown,
    Fchown,
    Lchown,
    Fchownat,
    Truncate,
    Ftruncate,
    Link,
    Linkat,
    Symlink,
    Symlinkat,
}

impl ChangeSyscall {
    /// In [`ringside_common::change_syscall`]'s order.
    pub const ALL: [ChangeSyscall; 22] = [
        ChangeSyscall::Unlink,
        ChangeSyscall::Unlinkat,
        ChangeSyscall::Rmdir,
        ChangeSyscall::Rename,
        ChangeSyscall::Renameat,
        ChangeSyscall::Renameat2,
        ChangeSyscall::Mkdir,
        ChangeSyscall::Mkdirat,
        ChangeSyscall::Chmod,
        ChangeSyscall::Fchmod,
        ChangeSyscall::Fchmodat,
        ChangeSyscall::Fchmodat2,
        ChangeSyscall::Chown,
        ChangeSyscall::Fchown,
        ChangeSyscall::Lchown,
        ChangeSyscall::Fchownat,
        ChangeSyscall::Truncate,
        ChangeSyscall::Ftruncate,
        ChangeSyscall::Link,
        ChangeSyscall::Linkat,
        ChangeSyscall::Symlink,
        ChangeSyscall::Symlinkat,
    ];

    pub fn from_wire(wire: u32) -> Option<ChangeSyscall> {
        Self::ALL.get(wire as usize).copied()
    }

    pub fn name(self) -> &'static str {
        match self {
            ChangeSyscall::Unlink => "unlink",
            ChangeSyscall::Unlinkat => "unlinkat",
            ChangeSyscall::Rmdir => "rmdir",
            ChangeSyscall::Rename => "rename",
            ChangeSyscall::Renameat => "renameat",
            ChangeSyscall::Renameat2 => "renameat2",
            ChangeSyscall::Mkdir => "mkdir",
            ChangeSyscall::Mkdirat => "mkdirat",
            ChangeSyscall::Chmod => "chmod",
            ChangeSyscall::Fchmod => "fchmod",
            ChangeSyscall::Fchmodat => "fchmodat",
            ChangeSyscall::Fchmodat2 => "fchmodat2",
            ChangeSyscall::Chown => "chown",
            ChangeSyscall::Fchown => "fchown",
            ChangeSyscall::Lchown => "lchown",
            ChangeSyscall::Fchownat => "fchownat",
            ChangeSyscall::Truncate => "truncate",
            ChangeSyscall::Ftruncate => "ftruncate",
            ChangeSyscall::Link => "link",
            ChangeSyscall::Linkat => "linkat",
            ChangeSyscall::Symlink => "symlink",
            ChangeSyscall::Symlinkat => "symlinkat",
        }
    }

    pub fn kind(self) -> EventKind {
        use ChangeSyscall as S;
        match self {
            S::Unlink | S::Unlinkat | S::Rmdir => EventKind::Unlink,
            S::Rename | S::Renameat | S::Renameat2 => EventKind::Rename,
            S::Mkdir | S::Mkdirat => EventKind::Mkdir,
            S::Chmod | S::Fchmod | S::Fchmodat | S::Fchmodat2 => EventKind::Chmod,
            S::Chown | S::Fchown | S::Lchown | S::Fchownat => EventKind::Chown,
            S::Truncate | S::Ftruncate => EventKind::Truncate,
            S::Link | S::Linkat => EventKind::Link,
            S::Symlink | S::Symlinkat => EventKind::Symlink,
        }
    }
}

/// `AT_REMOVEDIR`: `unlinkat` removes a directory.
const AT_REMOVEDIR: u32 = 0x200;

/// `renameat2` flags by name.
const RENAME_FLAGS: [(u32, &str); 3] = [(1, "NOREPLACE"), (2, "EXCHANGE"), (4, "WHITEOUT")];
/// The `AT_*` flags of `linkat`, `fchmodat2` and `fchownat`.
const AT_FLAGS: [(u32, &str); 3] = [
    (0x100, "AT_SYMLINK_NOFOLLOW"),
    (0x400, "AT_SYMLINK_FOLLOW"),
    (0x1000, "AT_EMPTY_PATH"),
];

impl Change {
    pub fn kind(&self) -> EventKind {
        self.syscall.kind()
    }

    /// Whether it removes a directory (`rmdir`, `unlinkat` with `AT_REMOVEDIR`).
    pub fn removes_dir(&self) -> bool {
        self.syscall == ChangeSyscall::Rmdir
            || (self.syscall == ChangeSyscall::Unlinkat && self.flags & AT_REMOVEDIR != 0)
    }

    /// The flags by name: `renameat2`'s, or the `AT_*` ones (AT_REMOVEDIR is `removes_dir`).
    pub fn flag_names(&self) -> Vec<&'static str> {
        let table: &[(u32, &'static str)] = match self.syscall {
            ChangeSyscall::Renameat2 => &RENAME_FLAGS,
            ChangeSyscall::Linkat | ChangeSyscall::Fchmodat2 | ChangeSyscall::Fchownat => &AT_FLAGS,
            _ => &[],
        };
        table
            .iter()
            .filter(|(bit, _)| self.flags & bit != 0)
            .map(|(_, name)| *name)
            .collect()
    }

    /// The mode as `chmod` takes it, in octal: `0755`.
    pub fn mode_text(&self) -> String {
        format!("{:04o}", self.mode & 0o7777)
    }

    /// The path to show: absolute where it was resolved whole, else as given.
    pub fn shown_path(&self) -> &[u8] {
        match &self.abs_path {
            Some(abs) if !abs.partial => &abs.path,
            _ => &self.path,
        }
    }

    fn shown_other(&self) -> &[u8] {
        match &self.other_abs {
            Some(abs) if !abs.partial => &abs.path,
            _ => &self.other,
        }
    }

    pub fn summary(&self) -> String {
        let path = printable(self.shown_path());
        match self.kind() {
            EventKind::Unlink if self.removes_dir() => format!("{path} (directory)"),
            EventKind::Rename | EventKind::Link | EventKind::Symlink => {
                let arrow = if self.kind() == EventKind::Rename {
                    "→"
                } else {
                    "->"
                };
                format!("{path} {arrow} {}", printable(self.shown_other()))
            }
            EventKind::Mkdir | EventKind::Chmod => format!("{path} {}", self.mode_text()),
            EventKind::Chown => format!("{path} {}:{}", id_text(self.uid), id_text(self.gid)),
            EventKind::Truncate => format!("{path} to {} bytes", self.length),
            _ => path.into_owned(),
        }
    }

    pub fn ret(&self) -> Option<i32> {
        Some(self.ret)
    }

    pub fn own_text(&mut self) {
        self.path = Bytes::copy_from_slice(&self.path);
        self.other = Bytes::copy_from_slice(&self.other);
        for abs in [&mut self.abs_path, &mut self.other_abs]
            .into_iter()
            .flatten()
        {
            abs.own_text();
        }
    }
}

/// A uid or gid; `-` for "left as it is" (-1).
pub fn id_text(id: u32) -> String {
    if id == u32::MAX {
        "-".to_owned()
    } else {
        id.to_string()
    }
}
