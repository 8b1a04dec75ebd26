//! Which machine an event came from. Watching one machine, every event is [`HostId::LOCAL`]
//! and nothing says so; watching several (`--host`), each host's label is interned once and
//! events carry its two-byte id.

use std::sync::{Arc, LazyLock, RwLock};

/// A host by its place in the run's labels; `LOCAL` (0) when ringside watches only itself.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct HostId(u16);

/// Labels come from the command line and recordings: far fewer than this. Past it, every
/// new label shares the last id rather than growing the table without bound.
const MAX_HOSTS: usize = 4096;

static LABELS: LazyLock<RwLock<Vec<Arc<str>>>> = LazyLock::new(|| RwLock::new(Vec::new()));

impl HostId {
    pub const LOCAL: HostId = HostId(0);

    /// The id of `label`, the same for the same label all run long.
    pub fn intern(label: &str) -> HostId {
        let id = |index: usize| HostId(u16::try_from(index + 1).unwrap_or(u16::MAX));
        if let Ok(labels) = LABELS.read()
            && let Some(index) = labels.iter().position(|known| &**known == label)
        {
            return id(index);
        }
        let Ok(mut labels) = LABELS.write() else {
            return HostId::LOCAL;
        };
        if let Some(index) = labels.iter().position(|known| &**known == label) {
            return id(index);
        }
        if labels.len() >= MAX_HOSTS {
            return id(labels.len() - 1);
        }
        labels.push(Arc::from(label));
        id(labels.len() - 1)
    }

    pub fn is_local(self) -> bool {
        self == HostId::LOCAL
    }

    /// The label, or `None` for the local machine of a single-host run.
    pub fn label(self) -> Option<Arc<str>> {
        let index = usize::from(self.0).checked_sub(1)?;
        LABELS.read().ok()?.get(index).cloned()
    }
}
