//! Perf records built byte by byte, as the kernel writes them, for the parsing and ring tests.

use std::path::PathBuf;

use super::TaskRecord;

pub(super) const PID: u32 = 4242;
pub(super) const TID: u32 = 4243;
pub(super) const T: u64 = 123_456_789_000;

/// Builds a record: header, body, sample_id trailer (pid, tid, time), with the header size
/// set to the real length unless `size` overrides it.
pub(super) fn record(kind: u32, misc: u16, body: &[u8], size: Option<u16>) -> Vec<u8> {
    let mut rec = Vec::new();
    rec.extend_from_slice(&kind.to_ne_bytes());
    rec.extend_from_slice(&misc.to_ne_bytes());
    rec.extend_from_slice(&[0, 0]);
    rec.extend_from_slice(body);
    rec.extend_from_slice(&PID.to_ne_bytes());
    rec.extend_from_slice(&TID.to_ne_bytes());
    rec.extend_from_slice(&T.to_ne_bytes());
    let len = size.unwrap_or(rec.len() as u16);
    rec[6..8].copy_from_slice(&len.to_ne_bytes());
    rec
}

pub(super) fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

pub(super) fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// A NUL-terminated name padded to 8 bytes, as the kernel writes it.
pub(super) fn name(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    while !bytes.len().is_multiple_of(8) {
        bytes.push(0);
    }
    bytes
}

pub(super) fn mmap2_body(prot: u32, path: &str) -> Vec<u8> {
    let mut body = u32s(&[PID, TID]);
    body.extend(u64s(&[0x5555_0000_1000, 0x2000, 0x1000]));
    body.extend(u32s(&[8, 1]));
    body.extend(u64s(&[777, 3]));
    body.extend(u32s(&[prot, libc::MAP_PRIVATE as u32]));
    body.extend(name(path));
    body
}

pub(super) fn mmap2_expected(path: &str) -> TaskRecord {
    TaskRecord::Mmap {
        pid: PID,
        tid: TID,
        time_ns: T,
        start: 0x5555_0000_1000,
        len: 0x2000,
        pgoff: 0x1000,
        dev_major: 8,
        dev_minor: 1,
        inode: 777,
        path: PathBuf::from(path),
    }
}

pub(super) fn task_body() -> Vec<u8> {
    let mut body = u32s(&[PID, 1, TID, 2]);
    body.extend(u64s(&[T + 5]));
    body
}
