#![expect(unsafe_code, reason = "perf_event_open and its mmap'd ring buffer")]
//! The kernel's own record of every process's executable mappings, exec, fork and exit.
//!
//! A process may exit before we get to read `/proc/PID/maps` (a `cat` lives about a
//! millisecond). The kernel reports every new executable mapping of every process as it happens
//! through `perf_event_open` side-band records (`PERF_RECORD_MMAP2`, as `perf record` uses), so
//! mappings are known even for processes that are already gone.
//!
//! One `PERF_COUNT_SW_DUMMY` event per online CPU, system-wide, each with its own mmap'd ring.
//! The unsafe surface is small: [`open_ring`] opens and maps one ring, [`copy_from_ring`] copies
//! raw bytes out of it; everything that parses works on safe slices.

use std::ffi::OsStr;
use std::os::fd::{FromRawFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::PathBuf;
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use perf_event_open_sys::bindings as sys;

/// What the kernel reported about a process's address space or life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TaskRecord {
    /// A new executable mapping (PERF_RECORD_MMAP2).
    Mmap {
        pid: u32,
        tid: u32,
        time_ns: u64,
        start: u64,
        len: u64,
        pgoff: u64,
        dev_major: u32,
        dev_minor: u32,
        inode: u64,
        path: PathBuf,
    },
    /// The process replaced its image (PERF_RECORD_COMM with the exec flag).
    Exec {
        pid: u32,
        tid: u32,
        time_ns: u64,
        comm: Vec<u8>,
    },
    /// PERF_RECORD_FORK (threads too: pid != tid, or pid == ppid for a thread).
    Fork {
        pid: u32,
        ppid: u32,
        tid: u32,
        ptid: u32,
        time_ns: u64,
    },
    /// PERF_RECORD_EXIT.
    Exit {
        pid: u32,
        ppid: u32,
        tid: u32,
        ptid: u32,
        time_ns: u64,
    },
    /// The kernel overwrote records we had not read yet (PERF_RECORD_LOST): mappings are missing.
    Lost { lost: u64 },
}

/// Why the watcher could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum PerfError {
    #[error("reading {ONLINE_CPUS} failed: {}", os_message(err))]
    OnlineCpus { err: std::io::Error },
    #[error("cannot parse the online CPU list {0:?} from {ONLINE_CPUS}")]
    CpuList(String),
    #[error("pages_per_cpu must be a power of two, got {0}")]
    Pages(usize),
    #[error(
        "perf_event_open on CPU {cpu} failed: {}{}",
        os_message(err),
        open_hint(err)
    )]
    Open { cpu: u32, err: std::io::Error },
    #[error(
        "mmap of the {bytes}-byte perf ring on CPU {cpu} failed: {}{}",
        os_message(err),
        mmap_hint(err)
    )]
    Mmap {
        cpu: u32,
        bytes: usize,
        err: std::io::Error,
    },
}

const ONLINE_CPUS: &str = "/sys/devices/system/cpu/online";

/// "Permission denied" rather than "Permission denied (os error 13)".
fn os_message(err: &std::io::Error) -> String {
    let text = err.to_string();
    match text.rfind(" (os error ") {
        Some(cut) => text[..cut].to_string(),
        None => text,
    }
}

fn open_hint(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EACCES | libc::EPERM) => {
            " (needs CAP_PERFMON or CAP_SYS_ADMIN, or kernel.perf_event_paranoid <= 0)"
        }
        Some(libc::EINVAL | libc::E2BIG | libc::EOPNOTSUPP) => {
            " (kernel rejected the attributes: mmap2, comm_exec and use_clockid need Linux >= 4.1)"
        }
        Some(libc::EMFILE) => " (too many open files: raise RLIMIT_NOFILE)",
        _ => "",
    }
}

fn mmap_hint(err: &std::io::Error) -> &'static str {
    match err.raw_os_error() {
        Some(libc::EPERM | libc::ENOMEM) => {
            " (over kernel.perf_event_mlock_kb or RLIMIT_MEMLOCK? use fewer pages per CPU)"
        }
        _ => "",
    }
}

/// Parses a kernel CPU list such as `0-1`, `0,2-5` or `3` (a trailing newline is fine).
fn parse_cpu_list(text: &str) -> Option<Vec<u32>> {
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut cpus = Vec::new();
    for part in text.split(',') {
        let part = part.trim();
        let (first, last) = match part.split_once('-') {
            Some((a, b)) => (a.trim().parse::<u32>().ok()?, b.trim().parse::<u32>().ok()?),
            None => {
                let cpu = part.parse::<u32>().ok()?;
                (cpu, cpu)
            }
        };
        if first > last || last - first > 65_535 {
            return None;
        }
        cpus.extend(first..=last);
    }
    cpus.sort_unstable();
    cpus.dedup();
    Some(cpus)
}

fn online_cpus() -> Result<Vec<u32>, PerfError> {
    let text = std::fs::read_to_string(ONLINE_CPUS).map_err(|err| PerfError::OnlineCpus { err })?;
    parse_cpu_list(&text).ok_or_else(|| PerfError::CpuList(text.trim().to_string()))
}

// ---------------------------------------------------------------------------------------------
// Record parsing (safe code on byte slices).

/// Size of the `sample_id` trailer every record carries with `sample_id_all` and
/// `sample_type = TID | TIME`: `u32 pid, u32 tid, u64 time`.
const SAMPLE_ID_LEN: usize = 16;
/// `struct perf_event_header { u32 type; u16 misc; u16 size; }`.
const HEADER_LEN: usize = 8;

/// Reads native-endian integers at fixed offsets, never out of bounds.
struct Fields<'a>(&'a [u8]);

impl Fields<'_> {
    fn u16(&self, at: usize) -> Option<u16> {
        Some(u16::from_ne_bytes(
            self.0.get(at..at.checked_add(2)?)?.try_into().ok()?,
        ))
    }
    fn u32(&self, at: usize) -> Option<u32> {
        Some(u32::from_ne_bytes(
            self.0.get(at..at.checked_add(4)?)?.try_into().ok()?,
        ))
    }
    fn u64(&self, at: usize) -> Option<u64> {
        Some(u64::from_ne_bytes(
            self.0.get(at..at.checked_add(8)?)?.try_into().ok()?,
        ))
    }
}

/// The bytes of a NUL-terminated (and NUL-padded) string field, without the NULs.
fn c_string(bytes: &[u8]) -> &[u8] {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    &bytes[..end]
}

/// Parses one complete record (`rec.len()` equals the size in its header). Returns `None` for
/// record types we do not use, non-executable mappings, renames that are not exec, and records
/// too short for their type.
fn parse_record(rec: &[u8]) -> Option<TaskRecord> {
    let f = Fields(rec);
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
fn parse_records(buf: &[u8], out: &mut Vec<TaskRecord>) -> bool {
    let mut pos = 0;
    while pos < buf.len() {
        let rest = &buf[pos..];
        let Some(size) = Fields(rest).u16(6).map(usize::from) else {
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

/// The byte ranges of the ring's data area holding `[tail, head)`: the second one is non-empty
/// when the data wraps around the end. `None` if more than the ring's size is claimed.
fn ring_segments(
    tail: u64,
    head: u64,
    size: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let avail = usize::try_from(head.wrapping_sub(tail)).ok()?;
    if size == 0 || !size.is_power_of_two() || avail > size {
        return None;
    }
    // size is a power of two, so the mask keeps the offset below it.
    let start = (tail & (size as u64 - 1)) as usize;
    let first = avail.min(size - start);
    Some((start..start + first, 0..avail - first))
}

/// Appends the ring's bytes `[tail, head)` to `out`, reassembling data that wraps around the
/// end. Returns `false` (copying nothing) if `head - tail` exceeds `size`.
///
/// # Safety
/// `data` must point to `size` readable bytes that stay mapped for the call, and nobody may
/// write the bytes of `[tail, head)` during the call (the kernel does not write them until we
/// publish a data_tail past them).
unsafe fn copy_from_ring(
    data: *const u8,
    size: usize,
    tail: u64,
    head: u64,
    out: &mut Vec<u8>,
) -> bool {
    let Some((first, second)) = ring_segments(tail, head, size) else {
        return false;
    };
    for range in [first, second] {
        if range.is_empty() {
            continue;
        }
        // SAFETY: `range` lies within `0..size` (ring_segments), `data` points to `size`
        // readable bytes, and by the caller's contract nobody writes these bytes meanwhile.
        let bytes =
            unsafe { std::slice::from_raw_parts(data.wrapping_add(range.start), range.len()) };
        out.extend_from_slice(bytes);
    }
    true
}

// ---------------------------------------------------------------------------------------------
// The rings.

/// One perf event and its mapping: a metadata page, then `data_size` bytes of ring.
struct Ring {
    cpu: u32,
    /// Closed on drop (after the munmap in `Drop for Ring`).
    _fd: OwnedFd,
    base: NonNull<u8>,
    map_len: usize,
    page_size: usize,
    data_size: usize,
    /// The position we have consumed up to (we are the only writer of data_tail).
    tail: u64,
}

// SAFETY: the mapping is owned by this Ring alone and only accessed through `&mut self` or
// atomics; nothing ties it to the thread that created it.
unsafe impl Send for Ring {}

impl Ring {
    fn control(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: the metadata page (struct perf_event_mmap_page) is mapped read-write for as
        // long as `self` lives; data_head (offset 1024) and data_tail (1032) are 8-byte aligned
        // within the page-aligned mapping; the kernel accesses both only atomically
        // (smp_store_release / READ_ONCE), so treating them as AtomicU64 races with nothing.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().wrapping_add(offset).cast::<u64>()) }
    }

    /// Copies everything the kernel has written since the last call into `scratch` (cleared
    /// first) and hands the space back to the kernel. `false` if the ring state is corrupt, in
    /// which case it is skipped to the current head.
    fn read(&mut self, scratch: &mut Vec<u8>) -> bool {
        scratch.clear();
        let head = self
            .control(std::mem::offset_of!(sys::perf_event_mmap_page, data_head))
            .load(Ordering::Acquire);
        if head == self.tail {
            return true;
        }
        // The data area: `data_size` bytes right after the metadata page
        // (map_len = page_size + data_size).
        let data = self.base.as_ptr().wrapping_add(self.page_size);
        // SAFETY: `data` points to `data_size` readable bytes mapped while `self` lives, and the
        // kernel never writes `[tail, head)` before we store a data_tail beyond it (below).
        let ok = unsafe { copy_from_ring(data, self.data_size, self.tail, head, scratch) };
        // Release: our reads of the data are done before the kernel may overwrite it.
        self.control(std::mem::offset_of!(sys::perf_event_mmap_page, data_tail))
            .store(head, Ordering::Release);
        self.tail = head;
        ok
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly what mmap returned and asked for, and no
        // reference into the mapping outlives `self`. The fd closes afterwards (OwnedFd).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// The perf_event_attr for the side-band-only dummy event.
fn task_attr() -> sys::perf_event_attr {
    let mut attr = sys::perf_event_attr {
        type_: sys::PERF_TYPE_SOFTWARE,
        size: std::mem::size_of::<sys::perf_event_attr>() as u32,
        config: u64::from(sys::PERF_COUNT_SW_DUMMY),
        sample_type: u64::from(sys::PERF_SAMPLE_TID | sys::PERF_SAMPLE_TIME),
        clockid: libc::CLOCK_MONOTONIC,
        ..Default::default()
    };
    attr.set_mmap(1);
    attr.set_mmap2(1);
    attr.set_comm(1);
    attr.set_comm_exec(1);
    attr.set_task(1);
    attr.set_sample_id_all(1);
    attr.set_use_clockid(1);
    attr
}

/// Opens the dummy event on `cpu` for all processes and maps `1 + pages` pages of ring.
fn open_ring(cpu: u32, pages: usize) -> Result<Ring, PerfError> {
    let page_size = page_size();
    let data_size = pages
        .checked_mul(page_size)
        .ok_or(PerfError::Pages(pages))?;
    let map_len = data_size
        .checked_add(page_size)
        .ok_or(PerfError::Pages(pages))?;
    let mut attr = task_attr();
    let cpu_arg = libc::c_int::try_from(cpu).map_err(|_| PerfError::Open {
        cpu,
        err: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: `attr` is a fully initialized perf_event_attr whose size field matches its
    // type; a dummy software event only produces side-band records and changes nothing.
    let fd = unsafe {
        perf_event_open_sys::perf_event_open(
            &mut attr,
            -1,
            cpu_arg,
            -1,
            libc::c_ulong::from(sys::PERF_FLAG_FD_CLOEXEC),
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return Err(PerfError::Open { cpu, err });
    }
    // SAFETY: `fd` was just returned by perf_event_open and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a fresh shared mapping chosen by the kernel (null hint) of a perf fd we own;
    // it does not alias any Rust object.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        let err = std::io::Error::last_os_error();
        return Err(PerfError::Mmap {
            cpu,
            bytes: map_len,
            err,
        });
    }
    let Some(base) = NonNull::new(base.cast::<u8>()) else {
        return Err(PerfError::Mmap {
            cpu,
            bytes: map_len,
            err: std::io::Error::from_raw_os_error(libc::EFAULT),
        });
    };
    Ok(Ring {
        cpu,
        _fd: fd,
        base,
        map_len,
        page_size,
        data_size,
        tail: 0,
    })
}

/// Every executable mapping, exec, fork and exit of every process, from one perf event and
/// mmap'd ring per online CPU. CPUs brought online later are not watched.
pub struct TaskWatcher {
    rings: Vec<Ring>,
    scratch: Vec<u8>,
    lost: u64,
}

impl std::fmt::Debug for TaskWatcher {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskWatcher")
            .field(
                "cpus",
                &self.rings.iter().map(|r| r.cpu).collect::<Vec<_>>(),
            )
            .field("lost", &self.lost)
            .finish()
    }
}

impl TaskWatcher {
    /// One PERF_TYPE_SOFTWARE / PERF_COUNT_SW_DUMMY event per online CPU (pid = -1, all
    /// processes), with mmap, mmap2, comm, comm_exec, task, sample_id_all and sample_type
    /// TID|TIME, timestamps on CLOCK_MONOTONIC (use_clockid, clockid = CLOCK_MONOTONIC) so they
    /// compare with bpf_ktime_get_ns; `pages_per_cpu` data pages (a power of two) per ring.
    pub fn open(pages_per_cpu: usize) -> Result<Self, PerfError> {
        if !pages_per_cpu.is_power_of_two() {
            return Err(PerfError::Pages(pages_per_cpu));
        }
        let rings = online_cpus()?
            .into_iter()
            .map(|cpu| open_ring(cpu, pages_per_cpu))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            rings,
            scratch: Vec::new(),
            lost: 0,
        })
    }

    /// Appends every record available now, without blocking, to `out` (unsorted across CPUs).
    pub fn drain(&mut self, out: &mut Vec<TaskRecord>) {
        for ring in &mut self.rings {
            let intact = ring.read(&mut self.scratch);
            let first = out.len();
            // A corrupt ring or record stream means records we cannot read: report them as
            // lost (at least one) so the caller knows mappings may be missing.
            if !(intact && parse_records(&self.scratch, out)) {
                out.push(TaskRecord::Lost { lost: 1 });
            }
            for record in &out[first..] {
                if let TaskRecord::Lost { lost } = record {
                    self.lost = self.lost.saturating_add(*lost);
                }
            }
        }
    }

    /// Total records lost so far (sum of Lost records seen).
    pub fn lost(&self) -> u64 {
        self.lost
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PID: u32 = 4242;
    const TID: u32 = 4243;
    const T: u64 = 123_456_789_000;

    /// Builds a record: header, body, sample_id trailer (pid, tid, time), with the header size
    /// set to the real length unless `size` overrides it.
    fn record(kind: u32, misc: u16, body: &[u8], size: Option<u16>) -> Vec<u8> {
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

    fn u32s(values: &[u32]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    fn u64s(values: &[u64]) -> Vec<u8> {
        values.iter().flat_map(|v| v.to_ne_bytes()).collect()
    }

    /// A NUL-terminated name padded to 8 bytes, as the kernel writes it.
    fn name(text: &str) -> Vec<u8> {
        let mut bytes = text.as_bytes().to_vec();
        bytes.push(0);
        while !bytes.len().is_multiple_of(8) {
            bytes.push(0);
        }
        bytes
    }

    fn mmap2_body(prot: u32, path: &str) -> Vec<u8> {
        let mut body = u32s(&[PID, TID]);
        body.extend(u64s(&[0x5555_0000_1000, 0x2000, 0x1000]));
        body.extend(u32s(&[8, 1]));
        body.extend(u64s(&[777, 3]));
        body.extend(u32s(&[prot, libc::MAP_PRIVATE as u32]));
        body.extend(name(path));
        body
    }

    fn mmap2_expected(path: &str) -> TaskRecord {
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

    fn task_body() -> Vec<u8> {
        let mut body = u32s(&[PID, 1, TID, 2]);
        body.extend(u64s(&[T + 5]));
        body
    }

    #[test]
    fn parses_each_record_type() {
        let exec = sys::PERF_RECORD_MISC_COMM_EXEC as u16;
        let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
        let mut comm_body = u32s(&[PID, TID]);
        comm_body.extend(name("true"));
        let mut mmap1_body = u32s(&[PID, TID]);
        mmap1_body.extend(u64s(&[0x1000, 0x2000, 0]));
        mmap1_body.extend(name("/old"));
        let mut build_id_body = mmap2_body(rx, "/bin/bid");
        build_id_body[32..56].fill(0xab);
        let cases: Vec<(&str, Vec<u8>, Option<TaskRecord>)> = vec![
            (
                "mmap2 executable",
                record(
                    sys::PERF_RECORD_MMAP2,
                    2,
                    &mmap2_body(rx, "/usr/bin/true"),
                    None,
                ),
                Some(mmap2_expected("/usr/bin/true")),
            ),
            (
                "mmap2 path of exactly 8 bytes with padding",
                record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(rx, "/a/b/cde"), None),
                Some(mmap2_expected("/a/b/cde")),
            ),
            (
                "mmap2 without PROT_EXEC",
                record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(1, "/data"), None),
                None,
            ),
            (
                "mmap2 flagged MMAP_DATA",
                record(
                    sys::PERF_RECORD_MMAP2,
                    sys::PERF_RECORD_MISC_MMAP_DATA as u16,
                    &mmap2_body(rx, "/data"),
                    None,
                ),
                None,
            ),
            (
                "mmap2 with build id instead of inode",
                record(
                    sys::PERF_RECORD_MMAP2,
                    sys::PERF_RECORD_MISC_MMAP_BUILD_ID as u16,
                    &build_id_body,
                    None,
                ),
                Some(TaskRecord::Mmap {
                    pid: PID,
                    tid: TID,
                    time_ns: T,
                    start: 0x5555_0000_1000,
                    len: 0x2000,
                    pgoff: 0x1000,
                    dev_major: 0,
                    dev_minor: 0,
                    inode: 0,
                    path: PathBuf::from("/bin/bid"),
                }),
            ),
            (
                "old-style mmap",
                record(sys::PERF_RECORD_MMAP, 2, &mmap1_body, None),
                Some(TaskRecord::Mmap {
                    pid: PID,
                    tid: TID,
                    time_ns: T,
                    start: 0x1000,
                    len: 0x2000,
                    pgoff: 0,
                    dev_major: 0,
                    dev_minor: 0,
                    inode: 0,
                    path: PathBuf::from("/old"),
                }),
            ),
            (
                "comm with exec flag",
                record(sys::PERF_RECORD_COMM, exec, &comm_body, None),
                Some(TaskRecord::Exec {
                    pid: PID,
                    tid: TID,
                    time_ns: T,
                    comm: b"true".to_vec(),
                }),
            ),
            (
                "comm rename without exec flag",
                record(sys::PERF_RECORD_COMM, 0, &comm_body, None),
                None,
            ),
            (
                "fork",
                record(sys::PERF_RECORD_FORK, 0, &task_body(), None),
                Some(TaskRecord::Fork {
                    pid: PID,
                    ppid: 1,
                    tid: TID,
                    ptid: 2,
                    time_ns: T + 5,
                }),
            ),
            (
                "exit",
                record(sys::PERF_RECORD_EXIT, 0, &task_body(), None),
                Some(TaskRecord::Exit {
                    pid: PID,
                    ppid: 1,
                    tid: TID,
                    ptid: 2,
                    time_ns: T + 5,
                }),
            ),
            (
                "lost",
                record(sys::PERF_RECORD_LOST, 0, &u64s(&[9, 17]), None),
                Some(TaskRecord::Lost { lost: 17 }),
            ),
            (
                "ignored type (throttle)",
                record(sys::PERF_RECORD_THROTTLE, 0, &u64s(&[1, 2, 3]), None),
                None,
            ),
            (
                "fork too short for its type",
                record(sys::PERF_RECORD_FORK, 0, &u32s(&[PID, 1]), None),
                None,
            ),
            (
                "mmap2 too short for its type",
                record(sys::PERF_RECORD_MMAP2, 0, &mmap2_body(rx, "/x")[..40], None),
                None,
            ),
            (
                "lost without sample_id trailer",
                {
                    let mut rec = u32s(&[sys::PERF_RECORD_LOST]);
                    rec.extend_from_slice(&0u16.to_ne_bytes());
                    rec.extend_from_slice(&24u16.to_ne_bytes());
                    rec.extend(u64s(&[9, 17]));
                    rec
                },
                None,
            ),
            (
                "header only",
                record(0, 0, &[], Some(8))[..8].to_vec(),
                None,
            ),
            ("empty", Vec::new(), None),
        ];
        for (what, bytes, expected) in cases {
            assert_eq!(parse_record(&bytes), expected, "{what}");
            // Every prefix of every record must parse without panicking.
            for cut in 0..bytes.len() {
                let _ = parse_record(&bytes[..cut]);
            }
        }
    }

    #[test]
    fn sample_id_trailer_gives_mmap_and_exec_time() {
        let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
        let mut rec = record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(rx, "/x"), None);
        let at = rec.len() - 8;
        rec[at..].copy_from_slice(&99u64.to_ne_bytes());
        match parse_record(&rec) {
            Some(TaskRecord::Mmap { time_ns, .. }) => assert_eq!(time_ns, 99),
            other => panic!("expected an Mmap, got {other:?}"),
        }
    }

    #[test]
    fn record_streams() {
        let fork = record(sys::PERF_RECORD_FORK, 0, &task_body(), None);
        let exit = record(sys::PERF_RECORD_EXIT, 0, &task_body(), None);
        let lost = record(sys::PERF_RECORD_LOST, 0, &u64s(&[1, 4]), None);
        let mut zero = fork.clone();
        zero[6..8].copy_from_slice(&0u16.to_ne_bytes());
        let mut four = fork.clone();
        four[6..8].copy_from_slice(&4u16.to_ne_bytes());
        let mut huge = fork.clone();
        huge[6..8].copy_from_slice(&u16::MAX.to_ne_bytes());
        let cat = |parts: &[&[u8]]| parts.concat();
        // (what, stream, intact, number of records)
        let cases: Vec<(&str, Vec<u8>, bool, usize)> = vec![
            ("empty", vec![], true, 0),
            ("three records", cat(&[&fork, &lost, &exit]), true, 3),
            (
                "truncated last record",
                cat(&[&fork, &exit[..20]]),
                false,
                1,
            ),
            ("truncated header", cat(&[&fork, &exit[..5]]), false, 1),
            ("size 0", cat(&[&fork, &zero, &exit]), false, 1),
            ("size below the header", cat(&[&four, &exit]), false, 0),
            ("size beyond the buffer", cat(&[&fork, &huge]), false, 1),
            (
                "unknown type skipped",
                cat(&[&record(99, 0, &[0; 8], None), &exit]),
                true,
                1,
            ),
        ];
        for (what, stream, intact, count) in cases {
            let mut out = Vec::new();
            assert_eq!(parse_records(&stream, &mut out), intact, "{what}");
            assert_eq!(out.len(), count, "{what}: {out:?}");
        }
    }

    #[test]
    fn wrapped_record_is_reassembled() {
        let fork = record(sys::PERF_RECORD_FORK, 0, &task_body(), None);
        let lost = record(sys::PERF_RECORD_LOST, 0, &u64s(&[1, 4]), None);
        let size = 128;
        // The ring has gone round three times; `lost` (40 bytes) ends 16 bytes before the end
        // of the ring and `fork` (48 bytes) wraps around it.
        let start = 72;
        let tail = 3 * size as u64 + start as u64;
        let stream = [lost.as_slice(), fork.as_slice()].concat();
        assert!(stream.len() <= size && start + lost.len() < size);
        let mut ring = vec![0xeeu8; size];
        for (i, byte) in stream.iter().enumerate() {
            ring[(start + i) % size] = *byte;
        }
        let head = tail + stream.len() as u64;
        let (_, wrapped) = ring_segments(tail, head, size).expect("fits");
        assert_eq!(wrapped, 0..32, "the fork record wraps around the end");
        let mut bytes = Vec::new();
        // SAFETY: `ring` is a live Vec of `size` bytes that nothing else touches.
        let ok = unsafe { copy_from_ring(ring.as_ptr(), size, tail, head, &mut bytes) };
        assert!(ok);
        assert_eq!(bytes, stream);
        let mut out = Vec::new();
        assert!(parse_records(&bytes, &mut out));
        assert_eq!(out[0], TaskRecord::Lost { lost: 4 });
        assert_eq!(
            out[1],
            TaskRecord::Fork {
                pid: PID,
                ppid: 1,
                tid: TID,
                ptid: 2,
                time_ns: T + 5,
            }
        );
        assert_eq!(out.len(), 2);
        // Claiming more than the ring holds is refused.
        let mut none = Vec::new();
        // SAFETY: as above.
        let refused = unsafe { copy_from_ring(ring.as_ptr(), size, tail, tail + 129, &mut none) };
        assert!(!refused && none.is_empty());
    }

    #[test]
    fn ring_segment_arithmetic() {
        assert_eq!(ring_segments(0, 0, 64), Some((0..0, 0..0)));
        assert_eq!(ring_segments(8, 40, 64), Some((8..40, 0..0)));
        assert_eq!(ring_segments(56, 72, 64), Some((56..64, 0..8)));
        assert_eq!(ring_segments(64, 128, 64), Some((0..64, 0..0)));
        assert_eq!(ring_segments(u64::MAX - 7, 8, 64), Some((56..64, 0..8)));
        assert_eq!(ring_segments(0, 65, 64), None);
        assert_eq!(ring_segments(10, 5, 64), None);
        assert_eq!(ring_segments(0, 0, 48), None);
    }

    #[test]
    fn cpu_lists() {
        let cases: &[(&str, Option<&[u32]>)] = &[
            ("0-1\n", Some(&[0, 1])),
            ("0", Some(&[0])),
            ("0,2-5", Some(&[0, 2, 3, 4, 5])),
            ("0-3,8-9,12\n", Some(&[0, 1, 2, 3, 8, 9, 12])),
            ("3,1", Some(&[1, 3])),
            ("", None),
            ("\n", None),
            ("a", None),
            ("1-", None),
            ("-1", None),
            ("3-1", None),
            ("0,,1", None),
            ("0-1-2", None),
            ("0-4294967295", None),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_cpu_list(text).as_deref(), *expected, "{text:?}");
        }
    }

    #[test]
    fn errors_are_one_line() {
        let err = PerfError::Open {
            cpu: 3,
            err: std::io::Error::from_raw_os_error(libc::EACCES),
        };
        let text = err.to_string();
        assert!(
            text.starts_with(
                "perf_event_open on CPU 3 failed: Permission denied (needs CAP_PERFMON"
            ),
            "{text}"
        );
        assert!(!text.contains('\n'));
        assert_eq!(
            PerfError::Pages(3).to_string(),
            "pages_per_cpu must be a power of two, got 3"
        );
        assert!(matches!(TaskWatcher::open(3), Err(PerfError::Pages(3))));
        assert!(matches!(TaskWatcher::open(0), Err(PerfError::Pages(0))));
    }

    fn monotonic_now_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
        let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
        assert_eq!(rc, 0);
        ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
    }

    fn effective_uid_is_root() -> bool {
        std::fs::read_to_string("/proc/self/status")
            .ok()
            .and_then(|status| {
                let line = status.lines().find(|l| l.starts_with("Uid:"))?;
                Some(line.split_whitespace().nth(2)? == "0")
            })
            .unwrap_or(false)
    }

    fn kernel_tests_required() -> bool {
        std::env::var("RINGSIDE_KERNEL_TESTS").is_ok_and(|v| v == "require")
            || std::env::var("CI").is_ok_and(|v| v == "true")
    }

    #[test]
    fn live_sees_a_short_process() {
        if !effective_uid_is_root() && !kernel_tests_required() {
            println!(
                "skipped live_sees_a_short_process: needs root (CAP_PERFMON) for system-wide \
                 perf events; set RINGSIDE_KERNEL_TESTS=require to force it"
            );
            return;
        }
        // A copy of /bin/true under a distinctive name (comm is truncated to 15 bytes).
        let dir = tempfile_dir();
        let exe = dir.join(format!("rstrue{}", std::process::id()));
        std::fs::copy("/bin/true", &exe).expect("copy /bin/true");
        let exe = std::fs::canonicalize(&exe).expect("canonical path");

        let mut watcher =
            TaskWatcher::open(256).unwrap_or_else(|err| panic!("open the task watcher: {err}"));
        let before = monotonic_now_ns();
        let child_pid = run_to_completion(&exe);
        let parent = std::process::id();

        let mut records = Vec::new();
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
        let mine = |records: &Vec<TaskRecord>| -> Vec<TaskRecord> {
            records
                .iter()
                .filter(|r| match r {
                    TaskRecord::Mmap { pid, .. }
                    | TaskRecord::Exec { pid, .. }
                    | TaskRecord::Fork { pid, .. }
                    | TaskRecord::Exit { pid, .. } => *pid == child_pid,
                    TaskRecord::Lost { .. } => false,
                })
                .cloned()
                .collect()
        };
        let complete = |child: &[TaskRecord]| {
            child.iter().any(|r| matches!(r, TaskRecord::Exit { .. }))
                && child.iter().any(|r| matches!(r, TaskRecord::Fork { .. }))
                && child
                    .iter()
                    .any(|r| matches!(r, TaskRecord::Mmap { path, .. } if *path == exe))
        };
        loop {
            watcher.drain(&mut records);
            if complete(&mine(&records)) || std::time::Instant::now() > deadline {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        let _ = std::fs::remove_file(&exe);
        let _ = std::fs::remove_dir(&dir);
        let now = monotonic_now_ns();
        let child = mine(&records);

        let count = |pred: &dyn Fn(&TaskRecord) -> bool| child.iter().filter(|r| pred(r)).count();
        println!(
            "live: {} records from all CPUs, {} for child {child_pid}: {} fork, {} exec, {} mmap, \
             {} exit; lost {}",
            records.len(),
            child.len(),
            count(&|r| matches!(r, TaskRecord::Fork { .. })),
            count(&|r| matches!(r, TaskRecord::Exec { .. })),
            count(&|r| matches!(r, TaskRecord::Mmap { .. })),
            count(&|r| matches!(r, TaskRecord::Exit { .. })),
            watcher.lost()
        );
        for record in &child {
            println!("  {record:?}");
        }

        let fork = child
            .iter()
            .find_map(|r| match r {
                TaskRecord::Fork {
                    ppid, time_ns, tid, ..
                } if *tid == child_pid => Some((*ppid, *time_ns)),
                _ => None,
            })
            .expect("a Fork record for the child");
        assert_eq!(fork.0, parent, "the child's parent is this test process");
        let exec = child
            .iter()
            .find_map(|r| match r {
                TaskRecord::Exec { comm, time_ns, .. } => Some((comm.clone(), *time_ns)),
                _ => None,
            })
            .expect("an Exec record for the child");
        let exe_name = exe.file_name().expect("file name").as_bytes();
        assert_eq!(exec.0, &exe_name[..exe_name.len().min(15)]);
        let mmap_of = |want: &dyn Fn(&std::path::Path) -> bool| {
            child.iter().find_map(|r| match r {
                TaskRecord::Mmap {
                    path,
                    inode,
                    time_ns,
                    len,
                    ..
                } if want(path) => Some((*inode, *time_ns, *len)),
                _ => None,
            })
        };
        let binary = mmap_of(&|p| p == exe).expect("an Mmap of the binary");
        let file_name = |p: &std::path::Path| p.file_name().map(|n| n.as_bytes().to_vec());
        let ld_so = mmap_of(&|p| file_name(p).is_some_and(|n| n.starts_with(b"ld-linux")))
            .expect("an Mmap of ld.so");
        let libc_so = mmap_of(&|p| {
            file_name(p).is_some_and(|n| n.starts_with(b"libc.so") || n.starts_with(b"libc-"))
        })
        .expect("an Mmap of libc");
        for (what, (inode, _, len)) in [("binary", binary), ("ld.so", ld_so), ("libc", libc_so)] {
            assert_ne!(inode, 0, "{what} mapping has an inode");
            assert!(len > 0, "{what} mapping has a length");
        }
        let exit = child
            .iter()
            .find_map(|r| match r {
                TaskRecord::Exit { time_ns, tid, .. } if *tid == child_pid => Some(*time_ns),
                _ => None,
            })
            .expect("an Exit record for the child");

        for (what, t) in [
            ("fork", fork.1),
            ("exec", exec.1),
            ("mmap", binary.1),
            ("exit", exit),
        ] {
            assert!(
                t + 5_000_000_000 >= before && t <= now,
                "{what} time {t} not within CLOCK_MONOTONIC [{before}, {now}]"
            );
        }
        assert!(fork.1 <= exec.1, "fork {} <= exec {}", fork.1, exec.1);
        assert!(exec.1 <= binary.1, "exec {} <= mmap {}", exec.1, binary.1);
        assert!(binary.1 <= exit, "mmap {} <= exit {exit}", binary.1);
    }

    /// A fresh private directory under the temp dir (no tempfile dependency needed).
    fn tempfile_dir() -> PathBuf {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let dir =
            std::env::temp_dir().join(format!("ringside-perf-{}-{nanos}", std::process::id()));
        std::fs::create_dir(&dir).expect("create temp dir");
        dir
    }

    /// Runs `exe` and waits for it; retries while another thread's fork still holds the
    /// just-written file open (ETXTBSY).
    fn run_to_completion(exe: &std::path::Path) -> u32 {
        for _ in 0..50 {
            match std::process::Command::new(exe).spawn() {
                Ok(mut child) => {
                    let pid = child.id();
                    let status = child.wait().expect("wait for the child");
                    assert!(status.success(), "{exe:?} failed: {status}");
                    return pid;
                }
                Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) => {
                    std::thread::sleep(std::time::Duration::from_millis(20));
                }
                Err(err) => panic!("spawn {exe:?}: {err}"),
            }
        }
        panic!("{exe:?} stayed busy (ETXTBSY)");
    }
}
