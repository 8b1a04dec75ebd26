//! A relative path's absolute form: the directory it starts from, named in the kernel at the
//! time of the call, joined with the path as the caller gave it.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AbsPath {
    pub path: Bytes,
    /// The directory could not be named whole (deleted, or deeper than the probes walk):
    /// `path` is what was named, from the innermost directory the walk reached, and is not
    /// absolute.
    pub partial: bool,
}

/// How much of a directory the probes named.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DirState {
    Whole,
    /// From the root, but through a directory since deleted.
    Deleted,
    /// Not from the root: deeper than the walk, or not reachable from it.
    Partial,
}

impl DirState {
    /// From a record's flags, given the bits for this directory.
    pub fn of(flags: u16, partial: u16, deleted: u16) -> DirState {
        if flags & deleted != 0 {
            DirState::Deleted
        } else if flags & partial != 0 {
            DirState::Partial
        } else {
            DirState::Whole
        }
    }
}

impl AbsPath {
    /// `dir` is the directory as the probes send it (names innermost first, each NUL-ended),
    /// named as `state` says; `given` the caller's path relative to it, empty for the
    /// directory itself.
    pub fn join(dir: &[u8], given: &[u8], state: DirState) -> AbsPath {
        let rooted = state != DirState::Partial;
        let partial = state != DirState::Whole;
        let mut path = Vec::with_capacity(dir.len() + given.len() + 2);
        let names: Vec<&[u8]> = dir
            .split(|&b| b == 0)
            .filter(|name| !name.is_empty())
            .collect();
        for name in names.iter().rev() {
            if !path.is_empty() || rooted {
                path.push(b'/');
            }
            path.extend_from_slice(name);
        }
        if path.is_empty() && rooted {
            path.push(b'/');
        }
        let mut rest = given;
        // `./a` and `.` add nothing; `..` is kept: the kernel followed it, and a symlink in
        // the way would make dropping a name wrong.
        while let Some(after) = rest.strip_prefix(b"./") {
            rest = after.strip_prefix(b"/").unwrap_or(after);
        }
        if rest != b"." && !rest.is_empty() {
            if path.last() != Some(&b'/') && !path.is_empty() {
                path.push(b'/');
            }
            path.extend_from_slice(rest);
        }
        AbsPath {
            path: path.into(),
            partial,
        }
    }

    pub fn own_text(&mut self) {
        self.path = Bytes::copy_from_slice(&self.path);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn joined(dir: &[u8], given: &[u8], partial: bool) -> String {
        let state = if partial {
            DirState::Partial
        } else {
            DirState::Whole
        };
        String::from_utf8(AbsPath::join(dir, given, state).path.to_vec()).unwrap()
    }

    #[test]
    fn names_are_turned_around_and_joined_with_the_given_path() {
        assert_eq!(
            joined(b"www\0srv\0", b"index.html", false),
            "/srv/www/index.html"
        );
        assert_eq!(joined(b"www\0srv\0", b"./a/./b", false), "/srv/www/a/./b");
        assert_eq!(
            joined(b"www\0srv\0", b"../etc/x", false),
            "/srv/www/../etc/x"
        );
        assert_eq!(joined(b"", b"tmp", false), "/tmp");
        assert_eq!(joined(b"", b".", false), "/");
        assert_eq!(joined(b"www\0srv\0", b"", false), "/srv/www");
    }

    #[test]
    fn a_partial_directory_is_not_made_to_look_absolute() {
        assert_eq!(joined(b"c\0b\0", b"f", true), "b/c/f");
        assert_eq!(joined(b"", b"f", true), "f");
    }

    #[test]
    fn a_deleted_directory_keeps_its_root_and_says_it_is_partial() {
        let abs = AbsPath::join(b"d1\0tmp\0", b"f", DirState::Deleted);
        assert_eq!(&abs.path[..], b"/tmp/d1/f");
        assert!(abs.partial);
    }
}
