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

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt as _;
use std::path::Path;
use std::sync::Arc;

use super::perf_events::TaskRecord;

/// `until` of an image that has not ended yet.
const OPEN: u64 = u64::MAX;

/// One file mapping of a process image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mapping {
    /// First address of the mapping.
    pub start: u64,
    /// One past the last address of the mapping.
    pub end: u64,
    /// File offset, in bytes, of `start`.
    pub pgoff: u64,
    /// The mapped file, without a `" (deleted)"` suffix.
    pub path: Arc<Path>,
    /// Device (major, minor) of the mapped file.
    pub dev: (u32, u32),
    /// Inode of the mapped file.
    pub inode: u64,
}

/// A binary as the kernel named it: the same path with another inode is another binary.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BinaryKey {
    pub path: Arc<Path>,
    pub dev: (u32, u32),
    pub inode: u64,
}

impl Mapping {
    pub fn binary_key(&self) -> BinaryKey {
        BinaryKey {
            path: Arc::clone(&self.path),
            dev: self.dev,
            inode: self.inode,
        }
    }

    /// The file offset of `addr` (addr - start + pgoff).
    pub fn file_offset(&self, addr: u64) -> u64 {
        addr.wrapping_sub(self.start).wrapping_add(self.pgoff)
    }

    fn contains(&self, addr: u64) -> bool {
        self.start <= addr && addr < self.end
    }
}

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

/// The address space of one program run of a process, valid for times `[since, until)`.
#[derive(Debug)]
struct Image {
    since: u64,
    /// Exclusive; [`OPEN`] while the image is current.
    until: u64,
    /// Sorted by `start`, never overlapping. Shared with forked children until one side maps.
    mappings: Arc<Vec<Mapping>>,
}

impl Image {
    fn new(since: u64, mappings: Arc<Vec<Mapping>>) -> Self {
        Image {
            since,
            until: OPEN,
            mappings,
        }
    }

    fn covers(&self, time_ns: u64) -> bool {
        self.since <= time_ns && time_ns < self.until
    }

    fn find(&self, addr: u64) -> Option<&Mapping> {
        let index = self.mappings.partition_point(|m| m.start <= addr);
        let mapping = self.mappings.get(index.checked_sub(1)?)?;
        mapping.contains(addr).then_some(mapping)
    }
}

/// The images of one pid, in time order, never overlapping. Several processes may appear in
/// turn when the pid is reused.
#[derive(Debug, Default)]
struct History {
    images: Vec<Image>,
}

impl History {
    /// Index of the image covering `time_ns`.
    fn covering(&self, time_ns: u64) -> Option<usize> {
        let index = self
            .images
            .partition_point(|image| image.since <= time_ns)
            .checked_sub(1)?;
        self.images[index].covers(time_ns).then_some(index)
    }

    /// Ends the current image (if any) at `since` and starts a new one there.
    fn start_image(&mut self, since: u64, mappings: Arc<Vec<Mapping>>) {
        // Records come in time order; if one does not, keep the history ordered anyway.
        let since = self
            .images
            .last()
            .map_or(since, |last| since.max(last.since));
        if let Some(last) = self.images.last_mut() {
            last.until = last.until.min(since);
            if last.until == last.since {
                self.images.pop();
            }
        }
        self.images.push(Image::new(since, mappings));
    }

    /// The process was forked at `since` with `mappings`. Its fork record can come after its
    /// exec and mmap records: the perf rings are per CPU, and one can be read before the
    /// parent writes the fork into it while another is read after the child already exec'd.
    /// Images already known from after the fork are then this process's own and are kept; the
    /// fork's image covers only the time up to them. An image from before the fork belonged to
    /// an earlier process with this pid and ends at the fork.
    fn start_forked(&mut self, since: u64, mappings: Arc<Vec<Mapping>>) {
        let later = self.images.partition_point(|image| image.since <= since);
        let Some(next) = self.images.get(later) else {
            self.start_image(since, mappings);
            return;
        };
        let until = next.since;
        let mut at = later;
        if let Some(previous) = later.checked_sub(1) {
            let image = &mut self.images[previous];
            image.until = image.until.min(since);
            if image.until <= image.since {
                self.images.remove(previous);
                at = previous;
            }
        }
        self.images.insert(
            at,
            Image {
                since,
                until,
                mappings,
            },
        );
    }

    /// Ends the current image so that it still covers `time_ns`.
    fn exit(&mut self, time_ns: u64) {
        let Some(last) = self.images.last_mut() else {
            return;
        };
        if last.until != OPEN {
            return;
        }
        last.until = time_ns.saturating_add(1).max(last.since);
        if last.until == last.since {
            self.images.pop();
        }
    }

    /// The image a mapping created at `time_ns` belongs to, creating one if the process was not
    /// seen being created.
    fn image_for_mmap(&mut self, time_ns: u64) -> Option<&mut Image> {
        if let Some(index) = self.covering(time_ns) {
            return Some(&mut self.images[index]);
        }
        match self.images.last() {
            // Never seen: the process existed before we started watching.
            None => self.images.push(Image::new(0, Arc::default())),
            // The pid was reused without its fork being seen (lost records): a new process
            // began somewhere after the previous one exited.
            Some(last) if time_ns >= last.until => {
                let since = last.until;
                self.images.push(Image::new(since, Arc::default()));
            }
            // Before the first image we know of: nowhere to put it.
            Some(_) => return None,
        }
        self.images.last_mut()
    }
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

/// Puts `new` (or nothing) at `[start, end)` in a sorted, non-overlapping list, trimming or
/// splitting what was there, as mmap(MAP_FIXED) does.
fn replace_range(mappings: &mut Vec<Mapping>, start: u64, end: u64, new: Option<Mapping>) {
    if start >= end {
        return;
    }
    // The list is sorted by start and does not overlap, so it is sorted by end too.
    let first = mappings.partition_point(|m| m.end <= start);
    let past = mappings.partition_point(|m| m.start < end);
    let (mut left, mut right) = (None, None);
    if first < past {
        let head = &mappings[first];
        if head.start < start {
            left = Some(Mapping {
                end: start,
                ..head.clone()
            });
        }
        let tail = &mappings[past - 1];
        if tail.end > end {
            right = Some(Mapping {
                start: end,
                pgoff: tail.pgoff.saturating_add(end - tail.start),
                ..tail.clone()
            });
        }
    }
    mappings.splice(first..past, left.into_iter().chain(new).chain(right));
}

/// The path of a file mapping, without a `" (deleted)"` suffix; `None` for names that are not
/// files ("//anon", "[vdso]", "[heap]", ...).
fn file_path(path: &Path) -> Option<&Path> {
    let bytes = path.as_os_str().as_bytes();
    if !bytes.starts_with(b"/") || bytes.starts_with(b"//") {
        return None;
    }
    let bytes = bytes.strip_suffix(b" (deleted)").unwrap_or(bytes);
    Some(Path::new(OsStr::from_bytes(bytes)))
}

/// The executable file mappings of a /proc/PID/maps text: only lines with 'x' perms and a path
/// starting with '/'; a `" (deleted)"` suffix is stripped. Malformed lines are skipped.
pub fn parse_proc_maps(text: &str) -> Vec<Mapping> {
    // Consecutive segments of one file share one path.
    let mut paths: HashMap<&Path, Arc<Path>> = HashMap::new();
    text.lines()
        .filter_map(parse_maps_line)
        .map(|line| Mapping {
            start: line.start,
            end: line.end,
            pgoff: line.pgoff,
            path: Arc::clone(
                paths
                    .entry(line.path)
                    .or_insert_with(|| Arc::from(line.path)),
            ),
            dev: line.dev,
            inode: line.inode,
        })
        .collect()
}

/// One executable file line of /proc/PID/maps.
struct MapsLine<'a> {
    start: u64,
    end: u64,
    pgoff: u64,
    path: &'a Path,
    dev: (u32, u32),
    inode: u64,
}

/// `address perms offset dev inode pathname`, e.g.
/// `7f1c2a000000-7f1c2a022000 r-xp 00028000 08:01 1234567    /usr/lib/libc.so.6`.
fn parse_maps_line(line: &str) -> Option<MapsLine<'_>> {
    let mut rest = line;
    let range = next_field(&mut rest)?;
    let perms = next_field(&mut rest)?;
    let offset = next_field(&mut rest)?;
    let dev = next_field(&mut rest)?;
    let inode = next_field(&mut rest)?;
    // The path is the rest of the line: it may contain spaces.
    let path = rest.trim_start_matches([' ', '\t']);

    if perms.len() < 3 || perms.as_bytes()[2] != b'x' {
        return None;
    }
    let path = file_path(Path::new(path))?;
    let (start, end) = range.split_once('-')?;
    let start = u64::from_str_radix(start, 16).ok()?;
    let end = u64::from_str_radix(end, 16).ok()?;
    if start >= end {
        return None;
    }
    let (major, minor) = dev.split_once(':')?;
    Some(MapsLine {
        start,
        end,
        pgoff: u64::from_str_radix(offset, 16).ok()?,
        path,
        dev: (
            u32::from_str_radix(major, 16).ok()?,
            u32::from_str_radix(minor, 16).ok()?,
        ),
        inode: inode.parse().ok()?,
    })
}

/// The next space-separated field of `rest`, advancing past it.
fn next_field<'a>(rest: &mut &'a str) -> Option<&'a str> {
    let trimmed = rest.trim_start_matches([' ', '\t']);
    let len = trimmed.find([' ', '\t']).unwrap_or(trimmed.len());
    if len == 0 {
        return None;
    }
    let (field, after) = trimmed.split_at(len);
    *rest = after;
    Some(field)
}

#[cfg(test)]
mod tests;
