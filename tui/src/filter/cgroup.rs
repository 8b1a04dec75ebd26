//! Conditions on an event's cgroup: `cgroup` (its path), `unit` and `container`. The kernel
//! enforces them too: the probes turn them into the ids of the cgroups they match, with their
//! descendants.

use super::text::TextPattern;
use crate::cgroups::CgroupInfo;
use crate::cgroups::path::id_matches;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CgroupField {
    Path,
    Unit,
    Container,
}

/// One condition on a cgroup, as typed (`unit=nginx.service`, `cgroup~/system.slice/*`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CgroupMatch {
    field: CgroupField,
    pattern: TextPattern,
}

impl CgroupMatch {
    pub(super) fn new(field: CgroupField, pattern: TextPattern) -> Self {
        Self { field, pattern }
    }

    /// `--cgroup PATH`, `--unit NAME`, `--container ID`: an exact value (an id's prefix of 12
    /// or more hex digits for a container).
    pub fn exact(field: CgroupField, value: &str) -> Self {
        Self::new(field, TextPattern::Exact(value.to_owned()))
    }

    /// Whether a cgroup with these names matches; a cgroup without the field does not.
    pub fn matches(&self, info: &CgroupInfo) -> bool {
        let value = match self.field {
            CgroupField::Path => info.path.as_deref(),
            CgroupField::Unit => info.unit.as_deref(),
            CgroupField::Container => info.container.as_deref(),
        };
        let Some(value) = value else {
            return false;
        };
        match (&self.pattern, self.field) {
            (TextPattern::Exact(prefix), CgroupField::Container) => id_matches(prefix, value),
            (pattern, _) => pattern.matches(value.as_bytes()),
        }
    }
}
