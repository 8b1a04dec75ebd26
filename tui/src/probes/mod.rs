//! Loads, configures and attaches the eBPF probes, and owns them while they run.

pub mod attachments;
pub mod btf;
pub mod filter;
mod offsets;
pub mod requirements;
pub mod tracefs;

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{Context as _, anyhow};
use attachments::Hook;
use aya::maps::{Array, MapData, PerCpuArray, RingBuf};
use aya::programs::{Program, RawTracePoint, TracePoint};
use aya::{Ebpf, EbpfLoader};
use ringside_common::{ProbeConfig, event_bit};

pub use filter::KernelFilter;

use crate::model::EventKind;

/// The probes, compiled by build.rs from `probes-ebpf`.
static PROBES_OBJECT: &[u8] =
    aya::include_bytes_aligned!(concat!(env!("OUT_DIR"), "/ringside-probes"));

pub struct ProbeOptions {
    /// Bytes; a power of two and a multiple of the page size.
    pub ring_size: u32,
    pub events: BTreeSet<EventKind>,
    /// `CAPTURE_*` bits.
    pub capture: u32,
    /// Bytes of user stack copied per event for unwinding; 0 for none.
    pub stack_bytes: u32,
    pub filter: KernelFilter,
    /// The longest an event waits in the ring before it is read (`--max-delay`).
    pub max_delay: std::time::Duration,
}

/// Loaded and attached probes. Dropping this detaches them.
pub struct Probes {
    ebpf: Ebpf,
    loaded: BTreeSet<&'static str>,
    /// Tracepoints attached.
    pub attached: usize,
    /// Tracepoints this kernel lacks, as `category:name`, with the kinds they would have served.
    pub missing: Vec<(String, Vec<EventKind>)>,
    /// Why kernel struct offsets are unknown, when they are (no BTF).
    pub btf_problem: Option<String>,
    /// The cgroup conditions of the kernel filter, to look for new cgroups they match.
    cgroup_filter: Vec<crate::filter::cgroup::CgroupMatch>,
}

/// Unread bytes at which the probes wake ringside: an eighth of the ring, so that a burst is
/// read in batches long before the ring is half full (where stack copies give way to events).
fn wakeup_bytes(ring_size: u32) -> u32 {
    ring_size / 8
}

/// What must hold before anything is loaded: privileges and a kernel with the BPF ring buffer.
/// Each failure is one line naming what is missing.
pub fn preflight() -> anyhow::Result<()> {
    requirements::check_privileges()?;
    requirements::check_kernel()
}

pub fn load(options: &ProbeOptions) -> anyhow::Result<Probes> {
    preflight()?;
    requirements::raise_memlock_limit();
    let root = tracefs::ensure_mounted()?;
    let tracefs = tracefs::Tracefs::new(root);
    let layout = offsets::tracepoint_layout(&tracefs)?;
    let (kernel, btf_problem) = offsets::kernel_offsets(btf::KernelBtf::load());
    if let Some(problem) = &btf_problem {
        tracing::warn!("kernel struct offsets unavailable: {problem}");
    }
    let config = ProbeConfig {
        self_pid: std::process::id(),
        capture: options.capture,
        events: options
            .events
            .iter()
            .fold(0, |bits, kind| bits | event_bit(kind.wire())),
        stack_bytes: options.stack_bytes,
        wakeup_bytes: wakeup_bytes(options.ring_size),
        tp: layout.offsets,
        kernel,
    };
    let mut ebpf = EbpfLoader::new()
        .override_global("CONFIG", &config, true)
        .map_max_entries("EVENTS", options.ring_size)
        .map_max_entries("USER_STACK_SCRATCH", possible_cpus())
        .load(PROBES_OBJECT)
        .map_err(|error| {
            tracing::error!("loading the eBPF probes: {error:?}");
            anyhow!(
                "loading the eBPF probes into the kernel: {}",
                first_line(&error)
            )
        })?;
    filter::apply(&mut ebpf, &options.filter)?;

    let mut probes = Probes {
        ebpf,
        loaded: BTreeSet::new(),
        attached: 0,
        missing: Vec::new(),
        btf_problem,
        cgroup_filter: options.filter.cgroups.clone(),
    };
    // Without it, records with a relative path go out marked partial: worth a warning, not
    // a refusal to trace.
    if let Err(error) = probes.install_walk() {
        tracing::warn!("absolute paths unavailable: {error:#}");
    }
    let tree = options.filter.tree && !options.filter.pids.is_empty();
    for attachment in attachments::needed(&options.events, tree) {
        let name = format!("{}:{}", attachment.category, attachment.tracepoint);
        match attachment.hook {
            Hook::Tracepoint => {
                if layout
                    .missing
                    .contains(&(attachment.category, attachment.tracepoint))
                {
                    tracing::warn!("tracepoint {name} is absent on this kernel");
                    probes.missing.push((name, attachment.serves.to_vec()));
                    continue;
                }
                probes.attach(
                    attachment.program,
                    attachment.category,
                    attachment.tracepoint,
                )?;
            }
            Hook::Raw => {
                if let Err(error) = probes.attach_raw(attachment.program, attachment.tracepoint) {
                    tracing::warn!("raw tracepoint {name} could not be attached: {error:#}");
                    probes.missing.push((name, attachment.serves.to_vec()));
                }
            }
        }
    }
    filter::add_late_descendants(&mut probes.ebpf, &options.filter)?;
    Ok(probes)
}

impl Probes {
    /// Loads `walk_dir`, which finishes the records whose path is relative (it names their
    /// directory), and puts it where the probes tail-call it. Before any probe is attached:
    /// a record sent meanwhile would go without its directory.
    fn install_walk(&mut self) -> anyhow::Result<()> {
        const PROGRAM: &str = "walk_dir";
        self.loaded.insert(PROGRAM);
        let prog: &mut TracePoint = self.program(PROGRAM)?;
        prog.load().map_err(|error| rejected(PROGRAM, &error))?;
        let fd = prog
            .fd()
            .context("the walk_dir program has no fd")?
            .try_clone()
            .context("duplicating walk_dir's fd")?;
        let map = self
            .ebpf
            .map_mut("WALKS")
            .ok_or_else(|| anyhow!("the probes object has no WALKS map"))?;
        let mut walks = aya::maps::ProgramArray::try_from(map)?;
        walks.set(0, &fd, 0).context("installing walk_dir")?;
        Ok(())
    }

    fn attach(
        &mut self,
        program: &'static str,
        category: &str,
        tracepoint: &str,
    ) -> anyhow::Result<()> {
        let first = self.loaded.insert(program);
        let prog: &mut TracePoint = self.program(program)?;
        if first {
            prog.load().map_err(|error| rejected(program, &error))?;
        }
        prog.attach(category, tracepoint).with_context(|| {
            format!("attaching {program} to tracepoint {category}:{tracepoint}")
        })?;
        self.attached += 1;
        Ok(())
    }

    fn attach_raw(&mut self, program: &'static str, tracepoint: &str) -> anyhow::Result<()> {
        let first = self.loaded.insert(program);
        let prog: &mut RawTracePoint = self.program(program)?;
        if first {
            prog.load().map_err(|error| rejected(program, &error))?;
        }
        prog.attach(tracepoint)
            .with_context(|| format!("attaching {program} to raw tracepoint {tracepoint}"))?;
        self.attached += 1;
        Ok(())
    }

    /// The probes object's program `name`, as the type it is attached as.
    fn program<'a, P>(&'a mut self, name: &str) -> anyhow::Result<&'a mut P>
    where
        &'a mut P: TryFrom<&'a mut Program, Error = aya::programs::ProgramError>,
    {
        let program = self
            .ebpf
            .program_mut(name)
            .with_context(|| format!("the probes object has no program {name}"))?;
        Ok(program.try_into()?)
    }

    /// The ring buffer the probes write to; can be taken once.
    pub fn take_events(&mut self) -> anyhow::Result<RingBuf<MapData>> {
        let map = self
            .ebpf
            .take_map("EVENTS")
            .context("the ring buffer was already taken")?;
        Ok(RingBuf::try_from(map)?)
    }

    /// The flag that tells the probes the reader sleeps until the next record
    /// ([`crate::ingest`]); can be taken once.
    pub fn take_reader_flag(&mut self) -> anyhow::Result<Array<MapData, u32>> {
        let map = self
            .ebpf
            .take_map("READER_ASLEEP")
            .context("the reader's sleep flag was already taken")?;
        Ok(Array::try_from(map)?)
    }

    /// Records the kernel could not deliver, per kind, summed over CPUs.
    pub fn drops(&self) -> anyhow::Result<BTreeMap<EventKind, u64>> {
        let map = self.ebpf.map("DROPS").context("probe map DROPS")?;
        let drops: PerCpuArray<&MapData, u64> = PerCpuArray::try_from(map)?;
        EventKind::ALL
            .into_iter()
            .map(|kind| {
                let per_cpu = drops.get(&u32::from(kind.wire()), 0)?;
                Ok((kind, per_cpu.iter().sum()))
            })
            .collect()
    }

    /// Narrows (or widens) what the probes report, while they run.
    pub fn set_filter(&mut self, filter: &KernelFilter) -> anyhow::Result<()> {
        self.cgroup_filter = filter.cgroups.clone();
        filter::replace(&mut self.ebpf, filter)?;
        filter::add_late_descendants(&mut self.ebpf, filter)
    }

    /// Adds to the cgroup filter the cgroups made since it was set that its conditions match
    /// but that are not below a traced one (a service restarted gets a new cgroup beside the
    /// old); the probes follow those below a traced one by themselves. Called once a second.
    pub fn refresh_cgroup_filter(&mut self) {
        if self.cgroup_filter.is_empty() {
            return;
        }
        if let Err(error) = filter::add_matching_cgroups(&mut self.ebpf, &self.cgroup_filter) {
            tracing::warn!("refreshing the cgroup filter: {error:#}");
        }
    }

    /// Stops every probe; maps stay readable so the last records and drop counts can be read.
    ///
    /// Each detach waits for an RCU grace period; detaching every program from its own thread
    /// lets those waits overlap instead of adding up (about 1.4 s one after another).
    pub fn detach(&mut self) {
        let loaded = std::mem::take(&mut self.loaded);
        std::thread::scope(|scope| {
            for (name, program) in self.ebpf.programs_mut() {
                if !loaded.contains(name) {
                    continue;
                }
                scope.spawn(move || {
                    let unloaded = match program {
                        Program::TracePoint(program) => program.unload(),
                        Program::RawTracePoint(program) => program.unload(),
                        _ => Ok(()),
                    };
                    if let Err(error) = unloaded {
                        tracing::warn!("detaching {name}: {error}");
                    }
                });
            }
        });
    }
}

/// A program the verifier refused: its whole log goes to the log file, one line to the user.
fn rejected(program: &str, error: &aya::programs::ProgramError) -> anyhow::Error {
    tracing::error!("the kernel rejected probe {program}: {error:?}");
    anyhow!(
        "the kernel rejected probe {program}: {} (verifier log in the log file)",
        first_line(error)
    )
}

/// aya's load errors carry the whole verifier log; the terminal gets one line of it.
fn first_line(error: &dyn std::fmt::Display) -> String {
    let text = error.to_string();
    let line = text.lines().next().unwrap_or_default();
    line.trim_end_matches(". Verifier output: 0: R1=ctx() R10=fp0")
        .to_owned()
}

/// The number of possible CPUs: one user-stack scratch value each (CPU numbers index it).
fn possible_cpus() -> u32 {
    aya::util::nr_cpus()
        .ok()
        .and_then(|n| u32::try_from(n).ok())
        .unwrap_or(1024)
        .max(1)
}
