//! The perf side-band records we use, parsed from the bytes of a ring (safe code on slices).

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;

use perf_event_open_sys::bindings as sys;

use super::TaskRecord;
use crate::byte_fields::ByteFields;

/// Size of the `sample_id` trailer every record carries with `sample_id_all` and
/// `sample_type = TID | TIME`: `u32 pid, u32 tid, u64 time`.
const SAMPLE_ID_LEN: usize = 16;
/// `struct perf_event_header { u32 type; u16 misc; u16 size; }`.
const HEADER_LEN: usize = 8;

/// The bytes of a NUL-terminated (and NUL-padded) string field, without the NULs.
fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Parses one complete record (`rec.len()` equals the size in its header). Returns `None` for
/// record types we do not use, non-executable mappings, renames that are not exec, and records
/// too short for their type.
fn parse_record(rec: &[u8]) -> Option<TaskRecord> {
    let f = ByteFields::native(rec);
    let kind = f.u32(0)?;
    let misc = u32::from(f.u16(4)?);
    if usize::from(f.u16(6)?) != rec.len() {
        return None;
    }
    // sample_id trailer: the last 16 bytes.
    let trailer = rec.len().checked_sub(SAMPLE_ID_LEN)?;
    let sample_time = f.u64(trailer + 8);
    match kind {
        sys::PERF_RECORD_MMAP2 => {
            // u32 pid, tid; u64 addr, len, pgoff; {u32 maj, min; u64 ino, ino_generation} or
            // {u8 build_id_size, u8, u16, u8 build_id[20]}; u32 prot, flags; char filename[].
            const NAME_AT: usize = HEADER_LEN + 64;
            if trailer < NAME_AT || misc & sys::PERF_RECORD_MISC_MMAP_DATA != 0 {
                return None;
            }
            let prot = f.u32(HEADER_LEN + 56)?;
            if prot & libc::PROT_EXEC as u32 == 0 {
                return None;
            }
            let (dev_major, dev_minor, inode) = if misc & sys::PERF_RECORD_MISC_MMAP_BUILD_ID != 0 {
                (0, 0, 0)
            } else {
                (
                    f.u32(HEADER_LEN + 32)?,
                    f.u32(HEADER_LEN + 36)?,
                    f.u64(HEADER_LEN + 40)?,
                )
            };
            Some(TaskRecord::Mmap {
                pid: f.u32(HEADER_LEN)?,
                tid: f.u32(HEADER_LEN + 4)?,
                time_ns: sample_time?,
                start: f.u64(HEADER_LEN + 8)?,
                len: f.u64(HEADER_LEN + 16)?,
                pgoff: f.u64(HEADER_LEN + 24)?,
                dev_major,
                dev_minor,
                inode,
                path: path_of(rec.get(NAME_AT..trailer)?),
            })
        }
        sys::PERF_RECORD_MMAP => {
            // Only sent without mmap2; kept for robustness. No prot, device or inode.
            const NAME_AT: usize = HEADER_LEN + 32;
            if trailer < NAME_AT || misc & sys::PERF_RECORD_MISC_MMAP_DATA != 0 {
                return None;
            }
            Some(TaskRecord::Mmap {
                pid: f.u32(HEADER_LEN)?,
                tid: f.u32(HEADER_LEN + 4)?,
                time_ns: sample_time?,
                start: f.u64(HEADER_LEN + 8)?,
                len: f.u64(HEADER_LEN + 16)?,
                pgoff: f.u64(HEADER_LEN + 24)?,
                dev_major: 0,
                dev_minor: 0,
                inode: 0,
                path: path_of(rec.get(NAME_AT..trailer)?),
            })
        }
        sys::PERF_RECORD_COMM => {
            // u32 pid, tid; char comm[].
            const NAME_AT: usize = HEADER_LEN + 8;
            if trailer < NAME_AT || misc & sys::PERF_RECORD_MISC_COMM_EXEC == 0 {
                return None;
            }
            Some(TaskRecord::Exec {
                pid: f.u32(HEADER_LEN)?,
                tid: f.u32(HEADER_LEN + 4)?,
                time_ns: sample_time?,
                comm: c_string(rec.get(NAME_AT..trailer)?).to_vec(),
            })
        }
        sys::PERF_RECORD_FORK | sys::PERF_RECORD_EXIT => {
            // u32 pid, ppid, tid, ptid; u64 time.
            if trailer < HEADER_LEN + 24 {
                return None;
            }
            let (pid, ppid) = (f.u32(HEADER_LEN)?, f.u32(HEADER_LEN + 4)?);
            let (tid, ptid) = (f.u32(HEADER_LEN + 8)?, f.u32(HEADER_LEN + 12)?);
            let time_ns = f.u64(HEADER_LEN + 16)?;
            Some(if kind == sys::PERF_RECORD_FORK {
                TaskRecord::Fork {
                    pid,
                    ppid,
                    tid,
                    ptid,
                    time_ns,
                }
            } else {
                TaskRecord::Exit {
                    pid,
                    ppid,
                    tid,
                    ptid,
                    time_ns,
                }
            })
        }
        sys::PERF_RECORD_LOST => {
            // u64 id, lost.
            if trailer < HEADER_LEN + 16 {
                return None;
            }
            Some(TaskRecord::Lost {
                lost: f.u64(HEADER_LEN + 8)?,
            })
        }
        _ => None,
    }
}

fn path_of(name: &[u8]) -> PathBuf {
    PathBuf::from(OsStr::from_bytes(c_string(name)))
}

/// Parses back-to-back records. Returns `false` if the stream broke (a header whose size is
/// below 8 or runs past the end of `buf`): everything from there on is dropped, since the next
/// record boundary is unknown.
pub(super) fn parse_records(buf: &[u8], out: &mut Vec<TaskRecord>) -> bool {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let Some(size) = ByteFields::native(rest).u16(6).map(usize::from) else {
            return false;
        };
        if size < HEADER_LEN || size > rest.len() {
            return false;
        }
        if let Some(record) = parse_record(&rest[..size]) {
            out.push(record);
        }
        pos += size;
    }
    true
}

#[cfg(test)]
mod tests;
