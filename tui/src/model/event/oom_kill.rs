//! An OOM kill: the victim, its memory, and the memory cgroup whose limit was hit. The event's
//! process is the task whose allocation set the killer off.

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::model::comm::Comm;
use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OomKill {
    pub victim_pid: u32,
    pub victim_comm: Comm,
    pub victim_uid: u32,
    /// The victim's memory, in bytes.
    pub total_vm: u64,
    pub anon_rss: u64,
    pub file_rss: u64,
    pub shmem_rss: u64,
    pub pgtables: u64,
    pub oom_score_adj: i32,
    pub memcg: OomScope,
}

/// Whose limit was hit.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OomScope {
    /// The system ran out.
    Global,
    /// The memory cgroup at its limit, as a path in its hierarchy (`/` at the top).
    Cgroup(Bytes),
    /// The kernel's layout was not known: cannot tell.
    Unknown,
}

impl OomScope {
    pub fn text(&self) -> std::borrow::Cow<'_, str> {
        match self {
            OomScope::Global => "global".into(),
            OomScope::Cgroup(path) => printable(path),
            OomScope::Unknown => "unknown".into(),
        }
    }
}

impl OomKill {
    pub fn summary(&self) -> String {
        format!(
            "killed {} {} ({} MiB resident) · {}",
            self.victim_pid,
            printable(&self.victim_comm),
            (self.anon_rss + self.file_rss + self.shmem_rss) >> 20,
            match &self.memcg {
                OomScope::Global => "out of memory".into(),
                OomScope::Cgroup(_) => format!("memory cgroup {} at its limit", self.memcg.text()),
                OomScope::Unknown => "limit unknown".into(),
            }
        )
    }

    pub fn own_text(&mut self) {
        if let OomScope::Cgroup(path) = &mut self.memcg {
            *path = Bytes::copy_from_slice(path);
        }
    }
}
