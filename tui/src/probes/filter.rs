//! The part of a filter the kernel enforces: a pid set (optionally following the process tree)
//! and a command-name set, written into the probes' maps.

use anyhow::Context as _;
use aya::Ebpf;
use std::net::IpAddr;

use aya::maps::lpm_trie::{Key, LpmTrie};
use aya::maps::{Array, HashMap, MapData};
use ringside_common::{COMM_LEN, FILTER_ADDR, FILTER_CGROUP, FILTER_COMM, FILTER_PID, FILTER_TREE};

use crate::filter::cgroup::CgroupMatch;

use crate::procfs;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct KernelFilter {
    pub pids: Vec<u32>,
    /// Descendants of `pids` (now and later) are traced too.
    pub tree: bool,
    pub comms: Vec<String>,
    /// TCP events need an end in one of these prefixes (network, prefix length).
    pub nets: Vec<(IpAddr, u8)>,
    /// Only processes in a cgroup one of these matches, or below one, are traced.
    pub cgroups: Vec<CgroupMatch>,
}

impl KernelFilter {
    /// Both filters must hold; the kernel keeps one restriction per dimension. Keeping either
    /// side's is sound (each traces a superset of what both allow); userspace applies the rest.
    pub fn narrow_by(&mut self, other: KernelFilter) {
        if self.pids.is_empty() {
            self.pids = other.pids;
            self.tree = other.tree;
        }
        if self.comms.is_empty() {
            self.comms = other.comms;
        }
        if self.nets.is_empty() {
            self.nets = other.nets;
        }
        if self.cgroups.is_empty() {
            self.cgroups = other.cgroups;
        }
    }

    fn mode(&self) -> u32 {
        let mut mode = 0;
        if !self.pids.is_empty() {
            mode |= FILTER_PID;
            if self.tree {
                mode |= FILTER_TREE;
            }
        }
        if !self.comms.is_empty() {
            mode |= FILTER_COMM;
        }
        if !self.nets.is_empty() {
            mode |= FILTER_ADDR;
        }
        if !self.cgroups.is_empty() {
            mode |= FILTER_CGROUP;
        }
        mode
    }
}

/// The kernel's `comm` for a name: at most 15 bytes and a NUL, as the kernel truncates.
pub fn comm_key(name: &str) -> [u8; COMM_LEN] {
    let mut key = [0; COMM_LEN];
    let bytes = name.as_bytes();
    let len = bytes.len().min(COMM_LEN - 1);
    key[..len].copy_from_slice(&bytes[..len]);
    key
}

/// Writes the sets, then the mode, so the probes never see a mode without its set.
pub fn apply(ebpf: &mut Ebpf, filter: &KernelFilter) -> anyhow::Result<()> {
    let mut pids: HashMap<&mut MapData, u32, u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_PIDS")
            .context("probe map FILTER_PIDS")?,
    )?;
    let roots = filter.pids.clone();
    let mut traced = roots.clone();
    if filter.tree {
        traced.extend(procfs::descendants(&roots, &procfs::parent_links()));
    }
    for pid in traced {
        pids.insert(pid, 1, 0)
            .context("adding a pid to the kernel filter")?;
    }
    let mut comms: HashMap<&mut MapData, [u8; COMM_LEN], u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_COMMS")
            .context("probe map FILTER_COMMS")?,
    )?;
    for name in &filter.comms {
        comms
            .insert(comm_key(name), 1, 0)
            .context("adding a command name to the kernel filter")?;
    }
    write_nets(ebpf, &filter.nets)?;
    if !filter.cgroups.is_empty() && add_matching_cgroups(ebpf, &filter.cgroups)? == 0 {
        tracing::warn!("no cgroup matches the cgroup filter yet: nothing is traced until one does");
    }
    let mut mode: Array<&mut MapData, u32> = Array::try_from(
        ebpf.map_mut("FILTER_MODE")
            .context("probe map FILTER_MODE")?,
    )?;
    mode.set(0, filter.mode(), 0)
        .context("setting the kernel filter mode")?;
    Ok(())
}

/// Adds to the cgroup set the ids of the cgroups the conditions match and of every cgroup
/// below them (the probes add cgroups made below them later); returns how many match.
pub fn add_matching_cgroups(ebpf: &mut Ebpf, conditions: &[CgroupMatch]) -> anyhow::Result<usize> {
    let mount = crate::cgroups::resolve::cgroup2_mount().context(
        "a cgroup filter needs the cgroup2 filesystem, and none is mounted \
         (mount -t cgroup2 none /sys/fs/cgroup/unified)",
    )?;
    let ids = crate::cgroups::matching_ids(&mount, |info| {
        conditions.iter().any(|condition| condition.matches(info))
    });
    let mut set: HashMap<&mut MapData, u64, u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_CGROUPS")
            .context("probe map FILTER_CGROUPS")?,
    )?;
    for &id in &ids {
        if set.get(&id, 0).is_err() {
            set.insert(id, 1, 0)
                .context("adding a cgroup to the kernel filter (more than 16,384 match?)")?;
        }
    }
    Ok(ids.len())
}

/// Fills the prefix tries. An IPv4 prefix also goes in as its IPv4-mapped IPv6 form, which is
/// how a dual-stack socket sees an IPv4 peer.
fn write_nets(ebpf: &mut Ebpf, nets: &[(IpAddr, u8)]) -> anyhow::Result<()> {
    let mut v4: LpmTrie<&mut MapData, [u8; 4], u8> = LpmTrie::try_from(
        ebpf.map_mut("FILTER_NETS_V4")
            .context("probe map FILTER_NETS_V4")?,
    )?;
    for (net, prefix) in nets {
        if let IpAddr::V4(net) = net {
            v4.insert(&Key::new(u32::from(*prefix), net.octets()), 1, 0)
                .context("adding an address prefix to the kernel filter")?;
        }
    }
    let mut v6: LpmTrie<&mut MapData, [u8; 16], u8> = LpmTrie::try_from(
        ebpf.map_mut("FILTER_NETS_V6")
            .context("probe map FILTER_NETS_V6")?,
    )?;
    for (net, prefix) in nets {
        let (octets, prefix) = match net {
            IpAddr::V6(net) => (net.octets(), u32::from(*prefix)),
            IpAddr::V4(net) => (net.to_ipv6_mapped().octets(), 96 + u32::from(*prefix)),
        };
        v6.insert(&Key::new(prefix, octets), 1, 0)
            .context("adding an address prefix to the kernel filter")?;
    }
    Ok(())
}

/// Empties the prefix tries.
fn clear_nets(ebpf: &mut Ebpf) -> anyhow::Result<()> {
    let mut v4: LpmTrie<&mut MapData, [u8; 4], u8> = LpmTrie::try_from(
        ebpf.map_mut("FILTER_NETS_V4")
            .context("probe map FILTER_NETS_V4")?,
    )?;
    let stale: Vec<Key<[u8; 4]>> = v4.keys().filter_map(Result::ok).collect();
    for key in stale {
        let _ = v4.remove(&key);
    }
    let mut v6: LpmTrie<&mut MapData, [u8; 16], u8> = LpmTrie::try_from(
        ebpf.map_mut("FILTER_NETS_V6")
            .context("probe map FILTER_NETS_V6")?,
    )?;
    let stale: Vec<Key<[u8; 16]>> = v6.keys().filter_map(Result::ok).collect();
    for key in stale {
        let _ = v6.remove(&key);
    }
    Ok(())
}

/// Replaces the kernel filter while the probes run: the mode goes to "all" first, so the probes
/// never apply a half-written set; in between they trace a little more, never less.
pub fn replace(ebpf: &mut Ebpf, filter: &KernelFilter) -> anyhow::Result<()> {
    let mut mode: Array<&mut MapData, u32> = Array::try_from(
        ebpf.map_mut("FILTER_MODE")
            .context("probe map FILTER_MODE")?,
    )?;
    mode.set(0, 0, 0)
        .context("clearing the kernel filter mode")?;
    let mut pids: HashMap<&mut MapData, u32, u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_PIDS")
            .context("probe map FILTER_PIDS")?,
    )?;
    let stale: Vec<u32> = pids.keys().filter_map(Result::ok).collect();
    for pid in stale {
        let _ = pids.remove(&pid);
    }
    let mut comms: HashMap<&mut MapData, [u8; COMM_LEN], u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_COMMS")
            .context("probe map FILTER_COMMS")?,
    )?;
    let stale: Vec<[u8; COMM_LEN]> = comms.keys().filter_map(Result::ok).collect();
    for comm in stale {
        let _ = comms.remove(&comm);
    }
    clear_nets(ebpf)?;
    let mut cgroups: HashMap<&mut MapData, u64, u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_CGROUPS")
            .context("probe map FILTER_CGROUPS")?,
    )?;
    let stale: Vec<u64> = cgroups.keys().filter_map(Result::ok).collect();
    for id in stale {
        let _ = cgroups.remove(&id);
    }
    apply(ebpf, filter)
}

impl From<crate::filter::KernelPart> for KernelFilter {
    /// The kernel has one pid set with one "follow children" switch: tree roots and plain pids
    /// share it, which may trace a few more processes than asked, never fewer.
    fn from(part: crate::filter::KernelPart) -> Self {
        let roots = part.tree_roots.unwrap_or_default();
        let mut pids: Vec<u32> = part.pids.unwrap_or_default().into_iter().collect();
        pids.extend(roots.iter().copied());
        pids.sort_unstable();
        pids.dedup();
        KernelFilter {
            pids,
            tree: !roots.is_empty(),
            comms: part.comms.unwrap_or_default().into_iter().collect(),
            nets: part.nets.unwrap_or_default().into_iter().collect(),
            cgroups: part.cgroups.unwrap_or_default(),
        }
    }
}

/// Children born between the first /proc scan and the probes attaching are found here; later
/// ones are added by the kernel as they fork.
pub fn add_late_descendants(ebpf: &mut Ebpf, filter: &KernelFilter) -> anyhow::Result<()> {
    if !filter.tree || filter.pids.is_empty() {
        return Ok(());
    }
    let mut pids: HashMap<&mut MapData, u32, u8> = HashMap::try_from(
        ebpf.map_mut("FILTER_PIDS")
            .context("probe map FILTER_PIDS")?,
    )?;
    for pid in procfs::descendants(&filter.pids, &procfs::parent_links()) {
        pids.insert(pid, 1, 0)
            .context("adding a pid to the kernel filter")?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comm_keys_truncate_like_the_kernel() {
        assert_eq!(&comm_key("bash")[..5], b"bash\0");
        let long = comm_key("a-very-long-command-name");
        assert_eq!(&long[..15], b"a-very-long-com");
        assert_eq!(long[15], 0);
    }

    #[test]
    fn mode_reflects_what_is_set() {
        let none = KernelFilter::default();
        assert_eq!(none.mode(), 0);
        let tree = KernelFilter {
            pids: vec![1],
            tree: true,
            ..KernelFilter::default()
        };
        assert_eq!(tree.mode(), FILTER_PID | FILTER_TREE);
        // --tree without a pid has nothing to follow.
        let tree_only = KernelFilter {
            tree: true,
            comms: vec!["x".into()],
            ..KernelFilter::default()
        };
        assert_eq!(tree_only.mode(), FILTER_COMM);
        let nets = KernelFilter {
            nets: vec![("10.0.0.0".parse().unwrap(), 8)],
            ..KernelFilter::default()
        };
        assert_eq!(nets.mode(), FILTER_ADDR);
    }
}
