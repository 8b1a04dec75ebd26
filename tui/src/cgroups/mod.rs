//! Which service or container an event belongs to: the cgroup v2 id every record carries,
//! resolved to its path below the cgroup2 mount and to the systemd unit, container and pod the
//! path names. Resolved once per id and shared by every event of that cgroup.

pub mod path;
#[cfg(test)]
mod path_tests;
pub mod resolve;
#[cfg(test)]
mod resolve_tests;

use std::collections::HashMap;
use std::sync::Arc;

use serde::ser::SerializeMap;
use serde::{Deserialize, Serialize};

use resolve::CgroupResolver;

/// What an event's cgroup id names.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CgroupInfo {
    /// The path below the cgroup2 mount (`/system.slice/nginx.service`); `None` when the cgroup
    /// was gone before ringside could look it up.
    pub path: Option<Box<str>>,
    /// The systemd unit the path names (`nginx.service`, `session-3.scope`).
    pub unit: Option<Box<str>>,
    /// The container id the path names (64 hex digits).
    pub container: Option<Box<str>>,
    /// Which runtime made it: `docker`, `containerd`, `cri-o`, `podman`, or `unknown`.
    pub runtime: Option<Box<str>>,
    /// The Kubernetes pod uid a `kubepods` path names.
    pub pod: Option<Box<str>>,
    /// What the TUI shows and groups by: `docker:0123456789ab` for a container, else the unit.
    pub label: Option<std::sync::Arc<str>>,
}

impl CgroupInfo {
    /// The names a path gives.
    pub fn of_path(path: &str) -> Self {
        let names = path::parse(path);
        let label = match &names.container {
            Some(container) => {
                let short = container.id.get(..12).unwrap_or(&container.id);
                Some(format!("{}:{short}", container.runtime.name()).into())
            }
            None => names.unit.as_deref().map(Into::into),
        };
        Self {
            path: Some(path.into()),
            unit: names.unit.map(Into::into),
            container: names.container.as_ref().map(|c| c.id.as_str().into()),
            runtime: names.container.map(|c| c.runtime.name().into()),
            pod: names.pod.map(Into::into),
            label,
        }
    }

    /// `cgroup` (or `cgroup_unknown`), then `unit`, `container`, `container_runtime` and `pod`
    /// where known; after `cgroup_id`.
    pub fn json_fields<M: SerializeMap>(&self, map: &mut M) -> Result<(), M::Error> {
        match &self.path {
            Some(path) => map.serialize_entry("cgroup", path)?,
            None => map.serialize_entry("cgroup_unknown", &true)?,
        }
        for (key, value) in [
            ("unit", &self.unit),
            ("container", &self.container),
            ("container_runtime", &self.runtime),
            ("pod", &self.pod),
        ] {
            if let Some(value) = value {
                map.serialize_entry(key, value)?;
            }
        }
        Ok(())
    }
}

/// Entries kept at most: a cgroup per id seen, few on any machine; the bound only stops a
/// pathological churn of cgroups from growing memory for the whole run.
const CACHE_MAX: usize = 16_384;

/// Resolves ids to what they name, once each.
pub struct Cgroups {
    resolver: Option<CgroupResolver>,
    known: HashMap<u64, Arc<CgroupInfo>>,
    /// Shared by the events of every cgroup that could not be resolved.
    unknown: Arc<CgroupInfo>,
}

impl Cgroups {
    /// Finds the cgroup2 mount; without one, every id stays unresolved (and says so).
    pub fn new() -> Self {
        let resolver = resolve::cgroup2_mount().map(CgroupResolver::new);
        if resolver.is_none() {
            tracing::warn!("no cgroup2 mount found: events carry cgroup ids without paths");
        }
        Self {
            resolver,
            known: HashMap::new(),
            unknown: Arc::new(CgroupInfo::default()),
        }
    }

    /// What `id` names; `None` for 0 (unknown). A cgroup that is gone is remembered as such
    /// only briefly, by the resolver, so that an id seen again later is tried again.
    pub fn info(&mut self, id: u64) -> Option<Arc<CgroupInfo>> {
        if id == 0 {
            return None;
        }
        if let Some(info) = self.known.get(&id) {
            return Some(Arc::clone(info));
        }
        let path = self.resolver.as_mut().and_then(|r| r.resolve(id));
        let Some(path) = path else {
            // Gone (or no mount): the event keeps its id and says the path is unknown.
            return Some(Arc::clone(&self.unknown));
        };
        let info = Arc::new(CgroupInfo::of_path(&path));
        if self.known.len() >= CACHE_MAX {
            self.known.clear();
        }
        self.known.insert(id, Arc::clone(&info));
        Some(info)
    }
}

/// The ids of the cgroups under `mount` whose names pass `wanted`, and of every cgroup below
/// one of them.
pub fn matching_ids(mount: &std::path::Path, wanted: impl Fn(&CgroupInfo) -> bool) -> Vec<u64> {
    let all = resolve::walk(mount);
    let matched: Vec<&str> = all
        .iter()
        .filter(|(_, path)| wanted(&CgroupInfo::of_path(path)))
        .map(|(_, path)| path.as_str())
        .collect();
    all.iter()
        .filter(|(_, path)| matched.iter().any(|top| is_within(path, top)))
        .map(|(id, _)| *id)
        .collect()
}

/// Whether `path` is `top` or below it (`/a/b` is within `/a`, `/ab` is not).
fn is_within(path: &str, top: &str) -> bool {
    if top == "/" {
        return true;
    }
    path.strip_prefix(top)
        .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}
