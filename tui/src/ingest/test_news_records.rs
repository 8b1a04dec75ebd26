//! Test records of the kinds added for "who killed it, who changed it": signals, OOM kills and
//! file changes, written as the probes write them (see [`super::test_records`]).

use ringside_common::{
    ChangeRecord, EventKind, OomKillRecord, PATH_LEN, SignalRecord, Stack, change_dir,
    change_syscall, oom_memcg,
};
use zerocopy::{FromZeros, IntoBytes};

use super::test_records::{TailBuilder, buf, header, stack};

#[derive(Clone, Copy)]
pub struct SignalFields {
    pub head: SignalRecord,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn signal_bytes(r: &SignalFields) -> Vec<u8> {
    let head = SignalRecord {
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .after(head.as_bytes())
}

/// `kill -TERM 4300` from the header's process.
pub fn signal_record() -> SignalFields {
    SignalFields {
        head: SignalRecord {
            header: header(EventKind::Signal.wire(), 0),
            sig: 15,
            code: 0,
            target_pid: 4300,
            group: 1,
            target_comm: buf(b"victim"),
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        kstack: stack(&[0xffff_ffff_8100_0000]),
    }
}

#[derive(Clone, Copy)]
pub struct OomFields {
    pub head: OomKillRecord,
    pub ustack: Stack,
    pub kstack: Stack,
    /// The memory cgroup as the probes send it: names innermost first, each NUL-ended.
    pub memcg: &'static [u8],
}

pub fn oom_bytes(r: &OomFields) -> Vec<u8> {
    let head = OomKillRecord {
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        memcg_len: r.memcg.len() as u32,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .string(r.memcg, head.memcg_len)
        .after(head.as_bytes())
}

/// `hog` (4300) killed in `/test/small` at its limit.
pub fn oom_record() -> OomFields {
    OomFields {
        head: OomKillRecord {
            header: header(EventKind::OomKill.wire(), 0),
            victim_pid: 4300,
            victim_uid: 1000,
            total_vm_kb: 300_000,
            anon_rss_kb: 100_000,
            file_rss_kb: 2_000,
            shmem_rss_kb: 0,
            pgtables_kb: 400,
            oom_score_adj: 0,
            memcg: oom_memcg::NAMED,
            victim_comm: buf(b"hog"),
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        kstack: stack(&[0xffff_ffff_8100_0000]),
        memcg: b"small\0test\0",
    }
}

#[derive(Clone, Copy)]
pub struct ChangeFields {
    pub head: ChangeRecord,
    pub ustack: Stack,
    pub path: [u8; PATH_LEN],
    pub path2: [u8; PATH_LEN],
    pub dir2: &'static [u8],
    pub dir: &'static [u8],
}

pub fn change_bytes(r: &ChangeFields) -> Vec<u8> {
    let head = ChangeRecord {
        ustack: r.ustack.head,
        dir_len: r.dir.len() as u32,
        dir2_len: r.dir2.len() as u32,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .string(&r.path, head.path_len)
        .string(&r.path2, head.path2_len)
        .string(r.dir2, head.dir2_len)
        .string(r.dir, head.dir_len)
        .after(head.as_bytes())
}

/// A change of `kind` in `/srv/www`, by its most general system call, with a relative path.
pub fn change_record(kind: EventKind) -> ChangeFields {
    let syscall = match kind {
        EventKind::Unlink => change_syscall::UNLINKAT,
        EventKind::Rename => change_syscall::RENAMEAT2,
        EventKind::Mkdir => change_syscall::MKDIRAT,
        EventKind::Chmod => change_syscall::FCHMODAT,
        EventKind::Chown => change_syscall::FCHOWNAT,
        EventKind::Truncate => change_syscall::TRUNCATE,
        EventKind::Link => change_syscall::LINKAT,
        _ => change_syscall::SYMLINKAT,
    };
    ChangeFields {
        head: ChangeRecord {
            header: header(kind.wire(), 0),
            syscall,
            latency_ns: 7_000,
            dfd: -100,
            dfd2: -100,
            mode: 0o640,
            uid: 1000,
            gid: u32::MAX,
            length: 4096,
            path_len: 5,
            path2_len: 9,
            dir_names: change_dir::BASE,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        path: buf::<PATH_LEN>(b"a.txt"),
        path2: buf::<PATH_LEN>(b"old/b.txt"),
        dir2: b"",
        dir: b"www\0srv\0",
    }
}
