//! The kinds that are news about processes rather than calls they made: signals and OOM kills.

use ringside_common::{EventKind, OomKillRecord, SignalRecord, oom_memcg};

use super::DecodeError;
use super::head;
use super::kinds::{DIR_MAX, Decoded, c_string};
use crate::model::event::{AbsPath, Details, DirState, OomKill, OomScope, Signal};

pub fn signal(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<SignalRecord>(bytes, EventKind::Signal.name())?;
    let details = Details::Signal(Signal {
        sig: r.sig,
        target_pid: r.target_pid,
        target_comm: c_string(&r.target_comm).into(),
        code: r.code,
        group: r.group != 0,
        result: r.result,
        errno: r.errno,
    });
    Decoded::with_stacks(details, &mut tail, &r.ustack, &r.kstack)
}

pub fn oom_kill(bytes: &[u8]) -> Result<Decoded, DecodeError> {
    let (r, mut tail) = head::read::<OomKillRecord>(bytes, EventKind::OomKill.name())?;
    let ustack = tail.frames(&r.ustack, "user stack")?;
    let kstack = tail.frames(&r.kstack, "kernel stack")?;
    let memcg_dir = tail.take("memory cgroup", r.memcg_len as usize, DIR_MAX)?;
    let memcg = match r.memcg {
        oom_memcg::GLOBAL => OomScope::Global,
        oom_memcg::NAMED => OomScope::Cgroup(AbsPath::join(memcg_dir, b"", DirState::Whole).path),
        _ => OomScope::Unknown,
    };
    const KIB: u64 = 1024;
    let details = Details::OomKill(Box::new(OomKill {
        victim_pid: r.victim_pid,
        victim_comm: c_string(&r.victim_comm).into(),
        victim_uid: r.victim_uid,
        total_vm: r.total_vm_kb.saturating_mul(KIB),
        anon_rss: r.anon_rss_kb.saturating_mul(KIB),
        file_rss: r.file_rss_kb.saturating_mul(KIB),
        shmem_rss: r.shmem_rss_kb.saturating_mul(KIB),
        pgtables: r.pgtables_kb.saturating_mul(KIB),
        oom_score_adj: r.oom_score_adj,
        memcg,
    }));
    Ok(Decoded {
        ustack,
        kstack,
        snapshot: r.ustack.snapshot,
        ..Decoded::new(details)
    })
}
