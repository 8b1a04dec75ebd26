//! Changes to files: one record layout for every kind of the Changes group.

use ringside_common::{
    ChangeRecord, FLAG_DIR2_DELETED, FLAG_DIR2_PARTIAL, FLAG_PATH_TRUNCATED, FLAG_PATH2_TRUNCATED,
    PATH_LEN, change_dir,
};

use super::DecodeError;
use super::head;
use super::kinds::{DIR_MAX, Decoded, abs_path, dir_state};
use crate::ingest::text_arena::TextArena;
use crate::model::event::{AbsPath, Change, ChangeSyscall, Details, DirState, EventKind};

pub fn change(bytes: &[u8], kind: EventKind, text: &mut TextArena) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<ChangeRecord>(bytes, kind.name())?;
    let syscall = ChangeSyscall::from_wire(r.syscall)
        .filter(|syscall| syscall.kind() == kind)
        .ok_or(DecodeError::UnknownKind(r.header.kind))?;
    let flags = r.header.flags;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let path = tail.take("path", r.path_len as usize, PATH_LEN)?;
    let path2 = tail.take("second path", r.path2_len as usize, PATH_LEN)?;
    let dir2 = tail.take("second directory", r.dir2_len as usize, DIR_MAX)?;
    let dir = tail.take("directory", r.dir_len as usize, DIR_MAX)?;
    let state = dir_state(flags);
    let fd_call = r.dir_names == change_dir::FILE;
    // An fd-based call names its file through the fd: that path is the one shown.
    let (path, abs) = if fd_call {
        let named = AbsPath::join(dir, b"", state);
        let abs = named.partial.then(|| Box::new(named.clone()));
        (text.copy(&named.path), abs)
    } else if r.dir_names == change_dir::BASE {
        (text.copy(path), abs_path(dir, path, state))
    } else {
        (text.copy(path), None)
    };
    // The second path starts from the first's directory when both name the same dirfd.
    let other_abs = if kind == EventKind::Symlink {
        None
    } else if r.dfd2 == r.dfd {
        abs_path(dir, path2, state).filter(|_| r.dir_names == change_dir::BASE)
    } else {
        let state2 = DirState::of(flags, FLAG_DIR2_PARTIAL, FLAG_DIR2_DELETED);
        abs_path(dir2, path2, state2)
    };
    let mut change = Change {
        syscall,
        path,
        // A link's path is its second argument (see the swap below).
        path_truncated: flags
            & if kind == EventKind::Link {
                FLAG_PATH2_TRUNCATED
            } else {
                FLAG_PATH_TRUNCATED
            }
            != 0,
        abs_path: abs,
        other: text.copy(path2),
        other_abs,
        fd: fd_call.then_some(r.dfd),
        flags: r.flags,
        mode: r.mode,
        uid: r.uid,
        gid: r.gid,
        length: r.length,
        ret: r.ret,
        latency_ns: r.latency_ns,
    };
    // `link(old, new)` makes `new`: that is the path changed, and `old` its target.
    if kind == EventKind::Link {
        std::mem::swap(&mut change.path, &mut change.other);
        std::mem::swap(&mut change.abs_path, &mut change.other_abs);
    }
    Ok(Decoded {
        ustack,
        snapshot: r.ustack.snapshot,
        ..Decoded::new(Details::Change(Box::new(change)))
    })
}
