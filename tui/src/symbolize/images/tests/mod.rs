//! Replaying task records into process images, and the lookups that follow.

mod eviction;
mod lifecycle;
mod mappings;

use std::path::PathBuf;

use super::*;

const PAGE: u64 = 0x1000;

fn mmap(pid: u32, time_ns: u64, start: u64, len: u64, pgoff: u64, path: &str) -> TaskRecord {
    TaskRecord::Mmap {
        pid,
        tid: pid,
        time_ns,
        start,
        len,
        pgoff,
        dev_major: 8,
        dev_minor: 1,
        inode: 42,
        path: PathBuf::from(path),
    }
}

fn exec(pid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exec {
        pid,
        tid: pid,
        time_ns,
        comm: b"prog".to_vec(),
    }
}

fn fork(child: u32, parent: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Fork {
        pid: child,
        ppid: parent,
        tid: child,
        ptid: parent,
        time_ns,
    }
}

fn thread_fork(pid: u32, tid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Fork {
        pid,
        ppid: pid,
        tid,
        ptid: pid,
        time_ns,
    }
}

fn exit(pid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exit {
        pid,
        ppid: 1,
        tid: pid,
        ptid: 1,
        time_ns,
    }
}

fn thread_exit(pid: u32, tid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exit {
        pid,
        ppid: pid,
        tid,
        ptid: pid,
        time_ns,
    }
}

fn apply_all(images: &mut ProcessImages, records: &[TaskRecord]) {
    for record in records {
        images.apply(record);
    }
}

/// The lookup, as a path string, "unmapped" or "unknown".
fn at(images: &ProcessImages, pid: u32, time_ns: u64, addr: u64) -> String {
    match images.lookup(pid, time_ns, addr) {
        Lookup::Found(mapping) => mapping.path.to_string_lossy().into_owned(),
        Lookup::Unmapped => "unmapped".to_owned(),
        Lookup::UnknownProcess => "unknown".to_owned(),
    }
}

fn found(images: &ProcessImages, pid: u32, time_ns: u64, addr: u64) -> &Mapping {
    match images.lookup(pid, time_ns, addr) {
        Lookup::Found(mapping) => mapping,
        other => panic!("pid {pid} at {time_ns}: {addr:#x} is {other:?}"),
    }
}

/// (start, end, pgoff, path) of every mapping in the current image of `pid`.
fn layout(images: &ProcessImages, pid: u32) -> Vec<(u64, u64, u64, String)> {
    let history = &images.processes[&pid];
    let image = history.images.last().expect("an image");
    image
        .mappings
        .iter()
        .map(|m| {
            (
                m.start,
                m.end,
                m.pgoff,
                m.path.to_string_lossy().into_owned(),
            )
        })
        .collect()
}
