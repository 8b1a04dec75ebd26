//! Which file was mapped where, in which process, at which time.
//!
//! User stack addresses are captured in the kernel and symbolized later, often after the process
//! has exec'd or exited. [`ProcessImages`] replays the kernel's task and mapping records
//! ([`TaskRecord`]) into a history of *images* per pid, so that "in process PID at time T, which
//! file mapping contained address A?" can still be answered:
//!
//! - an image covers the times `[since, until)`; an exec at `t` ends the current image at `t` and
//!   starts a new, empty one at `t`, so a stack captured at execve entry (before the exec record's
//!   time) still resolves in the old program;
//! - a fork at `t` gives the child an image since `t` that shares the parent's mappings;
//! - an exit at `t` keeps the image resolvable for times `<= t` until
//!   [`ProcessImages::evict_exited`] drops it;
//! - a fork that reuses a pid starts a fresh history; the previous process's images only answer
//!   for times before the fork.
//!
//! Mapping lists are shared between a parent and its forked children (copy on write), and paths
//! are interned, so many short-lived processes running the same binaries cost little.

mod history;
mod mapping;
mod proc_maps;

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use history::{History, Image, OPEN};
pub use mapping::{BinaryKey, Mapping};
use mapping::{file_path, replace_range};
pub use proc_maps::parse_proc_maps;

use super::perf_events::TaskRecord;

/// The answer of [`ProcessImages::lookup`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Lookup<'a> {
    /// The file mapping that contained the address.
    Found(&'a Mapping),
    /// The process is known but nothing was mapped there.
    Unmapped,
    /// No image of this process covers that time (never seen, or evicted).
    UnknownProcess,
}

/// Mapping history of every process: see the module documentation.
#[derive(Debug, Default)]
pub struct ProcessImages {
    processes: HashMap<u32, History>,
    /// Interned paths; an entry whose strong count is 1 is referenced by no mapping.
    paths: HashSet<Arc<Path>>,
}

impl ProcessImages {
    /// An empty table: nothing is known about any process.
    pub fn new() -> Self {
        Self::default()
    }

    /// Applies one record (records must be applied in time order; the caller sorts a drained
    /// batch by time).
    pub fn apply(&mut self, record: &TaskRecord) {
        match record {
            TaskRecord::Mmap {
                pid,
                time_ns,
                start,
                len,
                pgoff,
                dev_major,
                dev_minor,
                inode,
                path,
                ..
            } => {
                if *len == 0 {
                    return;
                }
                let end = start.saturating_add(*len);
                // Anonymous executable memory (JIT code, "//anon") and "[vdso]"-like names are
                // not files: they still replace what was mapped there, but resolve as unmapped.
                let mapping = file_path(path).map(|path| Mapping {
                    start: *start,
                    end,
                    pgoff: *pgoff,
                    path: self.intern(path),
                    dev: (*dev_major, *dev_minor),
                    inode: *inode,
                });
                let history = self.processes.entry(*pid).or_default();
                if let Some(image) = history.image_for_mmap(*time_ns) {
                    replace_range(Arc::make_mut(&mut image.mappings), *start, end, mapping);
                }
            }
            TaskRecord::Exec { pid, time_ns, .. } => {
                self.processes
                    .entry(*pid)
                    .or_default()
                    .start_image(*time_ns, Arc::default());
            }
            TaskRecord::Fork {
                pid,
                ppid,
                tid,
                time_ns,
                ..
            } => {
                if pid != tid || pid == ppid {
                    return; // a new thread shares its process's image
                }
                let inherited = self
                    .processes
                    .get(ppid)
                    .and_then(|parent| {
                        let index = parent.covering(*time_ns)?;
                        Some(Arc::clone(&parent.images[index].mappings))
                    })
                    .unwrap_or_default();
                self.processes
                    .entry(*pid)
                    .or_default()
                    .start_forked(*time_ns, inherited);
            }
            TaskRecord::Exit {
                pid, tid, time_ns, ..
            } => {
                if pid != tid {
                    return; // a thread exit: the process goes on
                }
                if let Some(history) = self.processes.get_mut(pid) {
                    history.exit(*time_ns);
                    if history.images.is_empty() {
                        self.processes.remove(pid);
                    }
                }
            }
            TaskRecord::Lost { .. } => {}
        }
    }

    /// Adds the executable file mappings of a running process from a /proc/PID/maps text, as an
    /// image valid since time 0 (it existed before we started watching). No-op if the pid
    /// already has an image.
    pub fn seed(&mut self, pid: u32, maps_text: &str) {
        if self.processes.contains_key(&pid) {
            return;
        }
        let mut mappings = Vec::new();
        for mut mapping in parse_proc_maps(maps_text) {
            mapping.path = self.intern(&mapping.path);
            let (start, end) = (mapping.start, mapping.end);
            replace_range(&mut mappings, start, end, Some(mapping));
        }
        let history = self.processes.entry(pid).or_default();
        history.images.push(Image::new(0, Arc::new(mappings)));
    }

    /// Seeds every process now in /proc (reads /proc/*/maps; unreadable ones are skipped).
    pub fn seed_from_proc(&mut self) {
        let Ok(entries) = std::fs::read_dir("/proc") else {
            return;
        };
        let pids =
            entries.filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok());
        for pid in pids {
            let Ok(text) = std::fs::read_to_string(format!("/proc/{pid}/maps")) else {
                continue;
            };
            // Kernel threads have an empty map and no user stacks to symbolize.
            if !text.is_empty() {
                self.seed(pid, &text);
            }
        }
    }

    /// Every executable file mapping of process `pid` at `time_ns`, sorted by address. The list
    /// is shared: the same `Arc` means the same address space.
    pub fn mappings_at(&self, pid: u32, time_ns: u64) -> Option<&Arc<Vec<Mapping>>> {
        let history = self.processes.get(&pid)?;
        let index = history.covering(time_ns)?;
        Some(&history.images[index].mappings)
    }

    /// The mapping that contained `addr` in process `pid` at `time_ns`.
    pub fn lookup(&self, pid: u32, time_ns: u64, addr: u64) -> Lookup<'_> {
        let Some(history) = self.processes.get(&pid) else {
            return Lookup::UnknownProcess;
        };
        let Some(index) = history.covering(time_ns) else {
            return Lookup::UnknownProcess;
        };
        match history.images[index].find(addr) {
            Some(mapping) => Lookup::Found(mapping),
            None => Lookup::Unmapped,
        }
    }

    /// Forgets images of processes that exited before `before_ns` (call periodically with
    /// now - grace). Images replaced by an exec before `before_ns` are forgotten as well: in
    /// both cases only lookups at times before `before_ns` lose their answer.
    ///
    /// At most `ended_max` ended images are kept whatever their age: past that, the oldest
    /// endings go first (a storm of short-lived processes must not hold 30 s of them).
    pub fn evict_exited(&mut self, before_ns: u64, ended_max: usize) {
        let mut endings: Vec<u64> = self
            .processes
            .values()
            .flat_map(|history| &history.images)
            .map(|image| image.until)
            .filter(|&until| until != OPEN && until > before_ns)
            .collect();
        let before_ns = if endings.len() > ended_max {
            let excess = endings.len() - ended_max;
            // The newest ending among the ones to drop: everything up to it goes.
            let (_, &mut cut, _) = endings.select_nth_unstable(excess - 1);
            before_ns.max(cut.saturating_add(1))
        } else {
            before_ns
        };
        self.processes.retain(|_, history| {
            history
                .images
                .retain(|image| image.until == OPEN || image.until > before_ns);
            !history.images.is_empty()
        });
        self.paths.retain(|path| Arc::strong_count(path) > 1);
        shrink_if_sparse(&mut self.processes);
        if self.paths.capacity() > 64 && self.paths.len() * 4 < self.paths.capacity() {
            self.paths.shrink_to_fit();
        }
    }

    /// For memory reporting: (processes, images, mappings) held. A mapping list shared by
    /// several images counts once per image.
    pub fn stats(&self) -> (usize, usize, usize) {
        let images = self.processes.values().map(|h| h.images.len()).sum();
        let mappings = self
            .processes
            .values()
            .flat_map(|h| &h.images)
            .map(|image| image.mappings.len())
            .sum();
        (self.processes.len(), images, mappings)
    }

    fn intern(&mut self, path: &Path) -> Arc<Path> {
        if let Some(interned) = self.paths.get(path) {
            return Arc::clone(interned);
        }
        let interned: Arc<Path> = Arc::from(path);
        self.paths.insert(Arc::clone(&interned));
        interned
    }
}

fn shrink_if_sparse<K: Eq + std::hash::Hash, V>(map: &mut HashMap<K, V>) {
    if map.capacity() > 64 && map.len() * 4 < map.capacity() {
        map.shrink_to_fit();
    }
}

#[cfg(test)]
mod tests;
