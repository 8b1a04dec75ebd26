//! What a cgroup v2 path says about a process: its systemd unit, its container, its pod.
//!
//! The path comes from [`super::resolve`] (below the cgroup2 mount, `/` for the root). The
//! names in it follow the conventions of whoever made each cgroup: systemd names a cgroup after
//! its unit (`nginx.service`, `session-3.scope`, `user-1000.slice`); container runtimes put the
//! 64-hex container id in a scope's name under the systemd cgroup driver
//! (`docker-<id>.scope`, `cri-containerd-<id>.scope`, `crio-<id>.scope`, `libpod-<id>.scope`)
//! or make the bare id a directory under the cgroupfs driver (`/docker/<id>`); the kubelet
//! names a pod's cgroup after the pod uid (`kubepods-burstable-pod<uid>.slice`, with `_` for
//! `-`, or `/kubepods/burstable/pod<uid>`). Reading them is pure string work, no I/O.
//!
//! Names are matched strictly (ids of exactly 64 lowercase hex digits, uids in UUID form) so
//! that other cgroups whose names merely look similar are not taken for containers or pods.

use std::fmt;

/// The shortest container id prefix [`id_matches`] accepts, as `docker ps` shows them.
pub const MIN_ID_PREFIX: usize = 12;

/// What a cgroup path names.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CgroupNames {
    /// The innermost systemd unit in the path, e.g. `nginx.service`.
    pub unit: Option<String>,
    /// The innermost container in the path.
    pub container: Option<Container>,
    /// The Kubernetes pod uid, e.g. `1f0a2b3c-4d5e-6f70-8192-a3b4c5d6e7f8`.
    pub pod: Option<String>,
}

/// A container named by a cgroup path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Container {
    /// The runtime whose naming convention the path follows.
    pub runtime: Runtime,
    /// The full container id: 64 lowercase hex digits.
    pub id: String,
}

/// The container runtime that made a cgroup.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Runtime {
    Docker,
    Containerd,
    Crio,
    Podman,
    /// A bare container id directory whose runtime the path does not say, as the kubelet's
    /// cgroupfs driver makes them (`/kubepods/besteffort/pod<uid>/<id>`).
    Unknown,
}

impl Runtime {
    /// The runtime's usual name, as shown and as filters spell it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Docker => "docker",
            Self::Containerd => "containerd",
            Self::Crio => "cri-o",
            Self::Podman => "podman",
            Self::Unknown => "unknown",
        }
    }
}

impl fmt::Display for Runtime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The unit, container and pod that `path` (below the cgroup2 mount) names.
pub fn parse(path: &str) -> CgroupNames {
    let parts: Vec<&str> = path.split('/').filter(|part| !part.is_empty()).collect();
    CgroupNames {
        unit: parts
            .iter()
            .rev()
            .find(|part| is_unit_name(part))
            .map(|part| (*part).to_owned()),
        container: innermost(&parts, container_in),
        pod: innermost(&parts, pod_in),
    }
}

/// Whether `prefix` (from the user, e.g. `--container`) picks out container `id`: a prefix
/// of at least [`MIN_ID_PREFIX`] hex digits, compared without regard to case. A full id is
/// its own prefix; shorter prefixes never match, so a typo cannot select many containers.
pub fn id_matches(prefix: &str, id: &str) -> bool {
    prefix.len() >= MIN_ID_PREFIX
        && prefix.bytes().all(|b| b.is_ascii_hexdigit())
        && id
            .get(..prefix.len())
            .is_some_and(|head| head.eq_ignore_ascii_case(prefix))
}

/// The suffixes of the unit types systemd gives cgroups to. Sockets, mounts and swaps have one
/// while their helper commands run (`mount`, `swapon`, `ExecStartPre=`).
const UNIT_SUFFIXES: [&str; 6] = [".service", ".scope", ".slice", ".socket", ".mount", ".swap"];

/// Whether a path component is a systemd unit name: a known suffix after a non-empty name of
/// the characters systemd allows (`\` for its `\x2d` escapes, `@` for template instances).
fn is_unit_name(name: &str) -> bool {
    let Some(stem) = UNIT_SUFFIXES
        .iter()
        .find_map(|suffix| name.strip_suffix(suffix))
    else {
        return false;
    };
    !stem.is_empty()
        && name.len() <= 255
        && stem
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b":-_.\\@".contains(&b))
}

/// The first answer of `find`, asked of each component from the leaf up with the components
/// above it.
fn innermost<T>(parts: &[&str], find: fn(&str, &[&str]) -> Option<T>) -> Option<T> {
    (0..parts.len())
        .rev()
        .find_map(|at| find(parts[at], &parts[..at]))
}

/// The scope-name prefixes of the systemd cgroup driver (the cgroupfs drivers of cri-o and
/// podman use the same names without `.scope`). A conmon scope (`crio-conmon-<id>.scope`,
/// `libpod-conmon-<id>.scope`) holds the runtime's monitor, not the container, and is not
/// matched because `conmon-<id>` is not an id.
const SCOPE_PREFIXES: [(&str, Runtime); 4] = [
    ("docker-", Runtime::Docker),
    ("cri-containerd-", Runtime::Containerd),
    ("crio-", Runtime::Crio),
    ("libpod-", Runtime::Podman),
];

/// The container one path component names, given the components above it.
fn container_in(name: &str, above: &[&str]) -> Option<Container> {
    if is_container_id(name) {
        return Some(Container {
            runtime: bare_id_runtime(above),
            id: name.to_owned(),
        });
    }
    let stem = name.strip_suffix(".scope").unwrap_or(name);
    SCOPE_PREFIXES.iter().find_map(|&(prefix, runtime)| {
        let id = stem.strip_prefix(prefix)?;
        is_container_id(id).then(|| Container {
            runtime,
            id: id.to_owned(),
        })
    })
}

/// The runtime of a bare id directory: docker's cgroupfs driver puts them in `/docker`,
/// podman's in `/libpod_parent`; the kubelet's cgroupfs driver does not say.
fn bare_id_runtime(above: &[&str]) -> Runtime {
    match above.last() {
        Some(&"docker") => Runtime::Docker,
        _ if above.contains(&"libpod_parent") => Runtime::Podman,
        _ => Runtime::Unknown,
    }
}

/// Exactly 64 lowercase hex digits.
fn is_container_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// The pod uid one path component names, given the components above it: the systemd driver's
/// `kubepods[-<qos>]-pod<uid>.slice` (uid with `_` for `-`; kind nests it as
/// `kubelet-kubepods-…`), or the cgroupfs driver's `pod<uid>` below a `kubepods` directory.
fn pod_in(name: &str, above: &[&str]) -> Option<String> {
    if let Some(stem) = name.strip_suffix(".slice") {
        let (head, uid) = stem.rsplit_once("-pod")?;
        if !head.split('-').any(|word| word == "kubepods") {
            return None;
        }
        return pod_uid(&uid.replace('_', "-"));
    }
    let uid = name.strip_prefix("pod")?;
    if !above.contains(&"kubepods") {
        return None;
    }
    pod_uid(uid)
}

/// `uid` if it is a pod uid: a UUID (8-4-4-4-12 hex digits), or the 32 bare hex digits the
/// kubelet gives static pods.
fn pod_uid(uid: &str) -> Option<String> {
    let bytes = uid.as_bytes();
    let uuid = bytes.len() == 36
        && bytes.iter().enumerate().all(|(at, &b)| match at {
            8 | 13 | 18 | 23 => b == b'-',
            _ => b.is_ascii_hexdigit(),
        });
    let bare = bytes.len() == 32 && bytes.iter().all(u8::is_ascii_hexdigit);
    (uuid || bare).then(|| uid.to_owned())
}
