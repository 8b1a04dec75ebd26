//! The kernel's own record of every process's executable mappings, exec, fork and exit.
//!
//! A process may exit before we get to read `/proc/PID/maps` (a `cat` lives about a
//! millisecond). The kernel reports every new executable mapping of every process as it happens
//! through `perf_event_open` side-band records (`PERF_RECORD_MMAP2`, as `perf record` uses), so
//! mappings are known even for processes that are already gone.
//!
//! One `PERF_COUNT_SW_DUMMY` event per online CPU, system-wide, each with its own mmap'd ring.
//! The unsafe surface is small and all in [`ring`]: it opens and maps one ring and copies raw
//! bytes out of it; [`records`] parses those bytes as safe slices.

mod records;
mod ring;
#[cfg(test)]
mod test_records;

use std::path::PathBuf;

use records::parse_records;
use ring::{Ring, open_ring};

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
