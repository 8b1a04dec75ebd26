//! The symbolization thread. blazesym's Symbolizer is !Send and its work is blocking, so it
//! lives on its own thread with the process-image table and the perf watcher that feeds it;
//! callers send jobs and get answers on oneshot channels, never waiting on it themselves.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc::{Receiver, RecvTimeoutError, Sender};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use tokio::sync::oneshot;

use super::debuginfod::Debuginfod;
use super::images::{Lookup, ProcessImages};
use super::perf_events::{TaskRecord, TaskWatcher};
use super::resolver::{Resolver, Walk};
use super::unwind::StackUnwinder;
use crate::ingest::Batch;
use crate::model::frame::{Frame, StackEnd, Stacks};
use crate::model::user_stack::UserCopy;

/// One event's stacks to resolve.
#[derive(Clone, Debug)]
pub struct StackRequest {
    pub pid: u32,
    /// When the stacks were taken (CLOCK_MONOTONIC ns): picks the process image.
    pub time_ns: u64,
    /// The frame-pointer walk the kernel did.
    pub user: Vec<u64>,
    pub kernel: Vec<u64>,
    /// Registers and stack memory to unwind with unwind tables, when they were copied.
    pub user_copy: UserCopy,
}

impl StackRequest {
    /// What to ask for a batch's stacks, taking its user stack copies: which events asked (their
    /// index in the batch) and their requests, in that order. The TUI and the headless pipeline
    /// both ask this way.
    pub fn for_batch(batch: &mut Batch) -> (Vec<usize>, Vec<StackRequest>) {
        let copies = batch.take_user_copies();
        batch
            .events
            .iter()
            .zip(copies)
            .enumerate()
            .filter_map(|(index, (event, copy))| Some((index, Self::for_event(event, copy)?)))
            .unzip()
    }

    /// What to ask for an event's stacks, given its user stack copy; `None` when it carries
    /// none.
    fn for_event(event: &crate::model::Event, user_copy: UserCopy) -> Option<Self> {
        // A lost copy is asked about too, so that the symbolizer counts it.
        let has_copy = user_copy != UserCopy::NotTaken;
        (has_copy || !event.ustack.is_empty() || !event.kstack.is_empty()).then(|| StackRequest {
            pid: event.pid,
            time_ns: event.stack_mono_ns,
            user: event.ustack.to_vec(),
            kernel: event.kstack.to_vec(),
            user_copy,
        })
    }
}

/// Keeps the copies of `requests` that fit, in order, with `queued` bytes already waiting and
/// at most `max` in all; the others become `Lost`. Returns the bytes kept.
fn admit(requests: &mut [StackRequest], queued: usize, max: usize) -> usize {
    let mut kept = 0;
    for request in requests {
        let UserCopy::Taken(copy) = &request.user_copy else {
            continue;
        };
        let size = copy.bytes.len();
        if queued + kept + size > max {
            request.user_copy = UserCopy::Lost;
        } else {
            kept += size;
        }
    }
    kept
}

struct Job {
    requests: Vec<StackRequest>,
    reply: oneshot::Sender<Vec<Stacks>>,
    /// Bytes of user stack copies the requests hold, released once they are unwound.
    copy_bytes: usize,
}

/// Mapping records waiting in the kernel are read at least this often, so that its perf rings
/// do not overflow while no stacks are asked for.
const POLL: Duration = Duration::from_millis(50);
/// How long an exited process's mappings stay: events still in the ring buffer need them.
pub const EXIT_GRACE: Duration = Duration::from_secs(30);
/// Images of exited (or exec'd) processes kept within the grace, at most: a storm of
/// short-lived processes keeps its most recent ones. About 0.5 KiB each.
pub const EXITED_IMAGES_MAX: usize = 16_384;
/// The longest start-up waits for the symbolizer to be ready.
const WARM_UP_LIMIT: Duration = Duration::from_secs(10);
/// Data pages per CPU for mapping records (a power of two): 1 MiB per CPU.
const PERF_PAGES: usize = 256;
/// User stack copies waiting for the symbolizer, in bytes, at most. Under a flood the queue
/// grows faster than it is served; past this, new copies are shed (counted as lost, their
/// stacks fall back to frame pointers) so that memory stays bounded.
pub const COPY_BYTES_QUEUED_MAX: usize = 64 << 20;

/// What the symbolizer has done and holds, for summaries, the status bar and the bench.
#[derive(Debug, Default)]
pub struct SymbolizerStats {
    pub stacks: AtomicUsize,
    pub frames: AtomicUsize,
    pub unresolved_frames: AtomicUsize,
    /// Mapping records the kernel overwrote before they were read: stacks of the processes
    /// concerned may not resolve.
    pub mapping_records_lost: AtomicUsize,
    pub processes: AtomicUsize,
    pub mappings: AtomicUsize,
    pub cached_frames: AtomicUsize,
    /// User binaries whose symbols are loaded (each holding a descriptor or two).
    pub symbol_binaries: AtomicUsize,
    /// The sizes of their files (binaries and debug files) together.
    pub symbol_file_bytes: AtomicUsize,
    /// User stack copies asked for that never reached the unwinder (not sent, not paired, or
    /// shed): those stacks fell back to frame pointers and say so.
    pub stack_copies_lost: AtomicUsize,
    /// User stacks unwound from a copy, and how many of them reached the program's entry.
    pub stacks_unwound: AtomicUsize,
    pub stacks_unwound_complete: AtomicUsize,
    /// Frames those unwinds found and the time they took, for the cost per frame.
    pub frames_unwound: AtomicUsize,
    pub unwind_ns: AtomicUsize,
}

/// The caller's side: cheap to clone.
#[derive(Clone)]
pub struct SymbolizerHandle {
    jobs: Sender<Job>,
    backlog: Arc<AtomicUsize>,
    /// Bytes of user stack copies in queued jobs.
    copy_bytes: Arc<AtomicUsize>,
    stats: Arc<SymbolizerStats>,
}

impl SymbolizerHandle {
    /// Starts watching every process's mappings, then the thread. Needs CAP_PERFMON.
    pub fn start() -> anyhow::Result<Self> {
        let watcher =
            TaskWatcher::open(PERF_PAGES).context("watching process mappings for symbolization")?;
        let (jobs, receiver) = std::sync::mpsc::channel();
        let backlog = Arc::new(AtomicUsize::new(0));
        let worker_backlog = Arc::clone(&backlog);
        let copy_bytes = Arc::new(AtomicUsize::new(0));
        let worker_copy_bytes = Arc::clone(&copy_bytes);
        let stats = Arc::new(SymbolizerStats::default());
        let worker_stats = Arc::clone(&stats);
        let (ready_tx, ready) = std::sync::mpsc::channel();
        std::thread::Builder::new()
            .name("symbolizer".into())
            .spawn(move || {
                let worker = Worker::new(watcher, worker_backlog, worker_copy_bytes, worker_stats);
                let _ = ready_tx.send(());
                worker.run(&receiver);
            })
            .context("starting the symbolization thread")?;
        // Seeding from /proc and loading kallsyms take a moment; the first events should not
        // wait for them (or time out on them), so tracing starts once they are done.
        if ready.recv_timeout(WARM_UP_LIMIT).is_err() {
            tracing::warn!("the symbolizer is still warming up; first stacks may be bare");
        }
        Ok(Self {
            jobs,
            backlog,
            copy_bytes,
            stats,
        })
    }

    /// Resolves the stacks of a batch of events; the answer has one `Stacks` per request, in
    /// order. Dropping the receiver abandons the answer, not the work already queued.
    pub fn resolve(&self, mut requests: Vec<StackRequest>) -> oneshot::Receiver<Vec<Stacks>> {
        let (reply, answer) = oneshot::channel();
        self.backlog.fetch_add(requests.len(), Ordering::Relaxed);
        let bytes = self.admit_copies(&mut requests);
        if let Err(rejected) = self.jobs.send(Job {
            requests,
            reply,
            copy_bytes: bytes,
        }) {
            // The thread is gone: the receiver sees the sender dropped.
            self.backlog
                .fetch_sub(rejected.0.requests.len(), Ordering::Relaxed);
            self.copy_bytes.fetch_sub(bytes, Ordering::Relaxed);
        }
        answer
    }

    /// Keeps the copies that fit in the queue's budget and sheds the rest; returns the bytes
    /// kept, now counted as queued.
    fn admit_copies(&self, requests: &mut [StackRequest]) -> usize {
        let queued = self.copy_bytes.load(Ordering::Relaxed);
        let kept = admit(requests, queued, COPY_BYTES_QUEUED_MAX);
        self.copy_bytes.fetch_add(kept, Ordering::Relaxed);
        kept
    }

    /// Events whose stacks are waiting to be symbolized.
    pub fn backlog(&self) -> usize {
        self.backlog.load(Ordering::Relaxed)
    }

    pub fn stats(&self) -> &SymbolizerStats {
        &self.stats
    }
}

struct Worker {
    watcher: TaskWatcher,
    images: ProcessImages,
    resolver: Resolver,
    unwinder: StackUnwinder,
    debug_dirs: Vec<std::path::PathBuf>,
    /// Fetches debug files of stripped binaries when `DEBUGINFOD_URLS` is set.
    debuginfod: Option<Debuginfod>,
    records: Vec<TaskRecord>,
    backlog: Arc<AtomicUsize>,
    copy_bytes: Arc<AtomicUsize>,
    stats: Arc<SymbolizerStats>,
    last_eviction: Instant,
}

impl Worker {
    fn new(
        watcher: TaskWatcher,
        backlog: Arc<AtomicUsize>,
        copy_bytes: Arc<AtomicUsize>,
        stats: Arc<SymbolizerStats>,
    ) -> Self {
        let mut images = ProcessImages::new();
        // After the watcher opened, so that no process falls between the two.
        images.seed_from_proc();
        let debug_dirs = super::debug_dirs();
        let mut resolver = Resolver::new(&debug_dirs);
        resolver.warm_up();
        Self {
            watcher,
            images,
            resolver,
            unwinder: StackUnwinder::new(debug_dirs.clone()),
            debug_dirs,
            debuginfod: Debuginfod::from_env(),
            records: Vec::new(),
            backlog,
            copy_bytes,
            stats,
            last_eviction: Instant::now(),
        }
    }

    fn run(mut self, jobs: &Receiver<Job>) {
        loop {
            let job = match jobs.recv_timeout(POLL) {
                Ok(job) => Some(job),
                Err(RecvTimeoutError::Timeout) => None,
                Err(RecvTimeoutError::Disconnected) => {
                    self.publish_sizes();
                    return;
                }
            };
            // Mappings made before an event are in the perf rings by the time the event is
            // read from the BPF ring buffer: take them before resolving.
            self.take_task_records();
            self.use_fetched_debug_files();
            if let Some(job) = job {
                self.answer(job);
            }
            self.evict();
        }
    }

    fn take_task_records(&mut self) {
        self.watcher.drain(&mut self.records);
        self.records.sort_by_key(record_time);
        for record in self.records.drain(..) {
            self.images.apply(&record);
        }
    }

    fn answer(&mut self, job: Job) {
        let stacks: Vec<Stacks> = job
            .requests
            .iter()
            .map(|request| {
                let (user, user_end) = self.user_stack(request);
                Stacks {
                    user,
                    kernel: self.resolver.kernel_frames(&request.kernel),
                    user_end,
                }
            })
            .collect();
        self.backlog.fetch_sub(stacks.len(), Ordering::Relaxed);
        self.copy_bytes.fetch_sub(job.copy_bytes, Ordering::Relaxed);
        self.count(&stacks);
        let _ = job.reply.send(stacks);
    }

    /// The user stack: unwound from the copy when there is one, else the kernel's frame-pointer
    /// walk; and why it ends where it does.
    fn user_stack(&mut self, request: &StackRequest) -> (Vec<Frame>, Option<StackEnd>) {
        let (pid, time_ns) = (request.pid, request.time_ns);
        let fallback_end = match &request.user_copy {
            UserCopy::Taken(copy) => {
                let started = Instant::now();
                let unwound = self.unwinder.unwind(&self.images, pid, time_ns, copy);
                self.count_unwind(&unwound, started.elapsed());
                if !unwound.addrs.is_empty() {
                    self.want_debug_files(pid, time_ns, &unwound.addrs);
                    let mut frames = self.resolver.user_frames(
                        &self.images,
                        pid,
                        time_ns,
                        &unwound.addrs,
                        Walk::Unwound,
                    );
                    for (frame, found_by) in frames.iter_mut().zip(unwound.found_by) {
                        frame.found_by = Some(found_by);
                    }
                    return (frames, Some(unwound.end));
                }
                unwound.end
            }
            UserCopy::NotTaken => StackEnd::FramePointersOnly,
            UserCopy::Lost => {
                self.stats.stack_copies_lost.fetch_add(1, Ordering::Relaxed);
                StackEnd::CopyLost
            }
        };
        if request.user.is_empty() {
            return (Vec::new(), None);
        }
        let frames = self.resolver.user_frames(
            &self.images,
            pid,
            time_ns,
            &request.user,
            Walk::FramePointers,
        );
        (frames, Some(fallback_end))
    }

    fn count_unwind(&self, unwound: &super::unwind::Unwound, took: Duration) {
        let stats = &self.stats;
        stats.stacks_unwound.fetch_add(1, Ordering::Relaxed);
        if unwound.end == StackEnd::Complete {
            stats
                .stacks_unwound_complete
                .fetch_add(1, Ordering::Relaxed);
        }
        stats
            .frames_unwound
            .fetch_add(unwound.addrs.len(), Ordering::Relaxed);
        let nanos = usize::try_from(took.as_nanos()).unwrap_or(usize::MAX);
        stats.unwind_ns.fetch_add(nanos, Ordering::Relaxed);
    }

    /// Asks debuginfod for the debug files of the stripped binaries these frames are in.
    fn want_debug_files(&mut self, pid: u32, time_ns: u64, addrs: &[u64]) {
        let Some(debuginfod) = self.debuginfod.as_mut() else {
            return;
        };
        for &addr in addrs {
            let Lookup::Found(mapping) = self.images.lookup(pid, time_ns, addr) else {
                continue;
            };
            let Some(tables) = self.unwinder.tables(mapping) else {
                continue;
            };
            if let Some(build_id) = tables.build_id.as_deref()
                && !tables.has_own_symbols
            {
                debuginfod.request(build_id, &self.debug_dirs);
            }
        }
    }

    /// Debug files that arrived from debuginfod take effect for the stacks resolved from now.
    fn use_fetched_debug_files(&mut self) {
        if self
            .debuginfod
            .as_ref()
            .is_some_and(Debuginfod::any_arrived)
        {
            tracing::info!("debug files arrived: user symbols are looked up afresh");
            self.resolver.forget_user_symbols(&self.debug_dirs);
            self.unwinder.forget_tables();
        }
    }

    fn count(&self, stacks: &[Stacks]) {
        let frames = stacks.iter().flat_map(|s| s.user.iter().chain(&s.kernel));
        let (total, unresolved) = frames.fold((0, 0), |(total, unresolved), frame| {
            (
                total + 1,
                unresolved + usize::from(frame.unresolved.is_some()),
            )
        });
        let stats = &self.stats;
        stats.stacks.fetch_add(stacks.len(), Ordering::Relaxed);
        stats.frames.fetch_add(total, Ordering::Relaxed);
        stats
            .unresolved_frames
            .fetch_add(unresolved, Ordering::Relaxed);
    }

    /// Publishes what the tables hold; cheap enough to do once a second.
    fn publish_sizes(&self) {
        let (processes, _, mappings) = self.images.stats();
        let stats = &self.stats;
        stats.processes.store(processes, Ordering::Relaxed);
        stats.mappings.store(mappings, Ordering::Relaxed);
        stats
            .cached_frames
            .store(self.resolver.cached_frames(), Ordering::Relaxed);
        let (binaries, bytes) = self.resolver.symbol_files();
        stats.symbol_binaries.store(binaries, Ordering::Relaxed);
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX);
        stats.symbol_file_bytes.store(bytes, Ordering::Relaxed);
        let lost = usize::try_from(self.watcher.lost()).unwrap_or(usize::MAX);
        stats.mapping_records_lost.store(lost, Ordering::Relaxed);
    }

    fn evict(&mut self) {
        if self.last_eviction.elapsed() < Duration::from_secs(1) {
            return;
        }
        self.last_eviction = Instant::now();
        self.publish_sizes();
        let grace = u64::try_from(EXIT_GRACE.as_nanos()).unwrap_or(u64::MAX);
        self.images.evict_exited(
            crate::clock::mono_now_ns().saturating_sub(grace),
            EXITED_IMAGES_MAX,
        );
    }
}

fn record_time(record: &TaskRecord) -> u64 {
    match record {
        TaskRecord::Mmap { time_ns, .. }
        | TaskRecord::Exec { time_ns, .. }
        | TaskRecord::Fork { time_ns, .. }
        | TaskRecord::Exit { time_ns, .. } => *time_ns,
        TaskRecord::Lost { .. } => 0,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::user_stack::UserStackCopy;

    fn request(copy_bytes: Option<usize>) -> StackRequest {
        StackRequest {
            pid: 1,
            time_ns: 1,
            user: vec![0x1000],
            kernel: Vec::new(),
            user_copy: copy_bytes.map_or(UserCopy::NotTaken, |len| {
                UserCopy::Taken(UserStackCopy {
                    ip: 0x1000,
                    sp: 0x7000,
                    bp: 0,
                    bytes: bytes::Bytes::from(vec![0; len]),
                    top_reached: false,
                })
            }),
        }
    }

    #[test]
    fn copies_past_the_queue_budget_are_shed_and_the_rest_kept() {
        let mut requests = vec![
            request(Some(400)),
            request(None),
            request(Some(400)),
            request(Some(100)),
        ];
        // 300 bytes already queued, 1000 allowed: the second 400 does not fit, the 100 does.
        assert_eq!(admit(&mut requests, 300, 1000), 500);
        assert!(matches!(requests[0].user_copy, UserCopy::Taken(_)));
        assert_eq!(requests[1].user_copy, UserCopy::NotTaken);
        assert_eq!(requests[2].user_copy, UserCopy::Lost);
        assert!(matches!(requests[3].user_copy, UserCopy::Taken(_)));
    }

    #[test]
    fn a_batch_asks_for_the_events_with_stacks_or_a_copy_and_gives_up_its_copies() {
        let event = |ustack: Vec<u64>| crate::model::Event {
            ustack: ustack.into(),
            ..crate::model::sample::event(crate::model::event::Details::Exit(
                crate::model::event::Exit {
                    status: 0,
                    lifetime_ns: 0,
                },
            ))
        };
        let mut batch = Batch {
            events: vec![
                event(vec![]),
                event(vec![0x1000]),
                event(vec![]),
                event(vec![]),
            ],
            // Shorter than the events: the last one has no copy at all.
            user_copies: vec![UserCopy::NotTaken, UserCopy::NotTaken, UserCopy::Lost],
            ..Batch::default()
        };
        let (asked, requests) = StackRequest::for_batch(&mut batch);
        assert_eq!(asked, [1, 2]);
        assert_eq!(requests[0].user, [0x1000]);
        assert_eq!(requests[1].user_copy, UserCopy::Lost);
        assert!(batch.user_copies.is_empty());
    }
}
