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
mod tests;
