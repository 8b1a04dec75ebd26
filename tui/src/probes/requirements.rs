//! What ringside needs from the machine before it tries to load anything, checked up front so
//! the user gets one line that names what is missing instead of an EPERM from deep inside.

use anyhow::bail;

const CAP_SYS_ADMIN: u32 = 21;
const CAP_PERFMON: u32 = 38;
const CAP_BPF: u32 = 39;

/// The BPF ring buffer arrived in Linux 5.8.
const MIN_KERNEL: (u32, u32) = (5, 8);

/// Fails with a one-line message naming each missing capability.
pub fn check_privileges() -> anyhow::Result<()> {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let effective = capabilities(&status, "CapEff:");
    let euid = status
        .lines()
        .find_map(|line| line.strip_prefix("Uid:"))
        .and_then(|ids| ids.split_whitespace().nth(1))
        .and_then(|id| id.parse::<u32>().ok());
    let missing = missing_capabilities(effective);
    if missing.is_empty() {
        return Ok(());
    }
    let missing = missing.join(", ");
    if euid != Some(0) {
        bail!(
            "ringside must run as root: it loads eBPF probes, which needs {missing}; \
             try `sudo ringside`"
        );
    }
    bail!(
        "ringside runs as root but without {missing} (dropped by a container or capability \
         bounding set?); it needs CAP_BPF and CAP_PERFMON (or CAP_SYS_ADMIN) to load its probes"
    )
}

/// The capability names that block loading, given the effective set.
fn missing_capabilities(effective: u64) -> Vec<&'static str> {
    let has = |cap: u32| effective & (1 << cap) != 0;
    // CAP_SYS_ADMIN stands in for both on every kernel that has them (bpf_capable()).
    let admin = has(CAP_SYS_ADMIN);
    let mut missing = Vec::new();
    if !admin && !has(CAP_BPF) {
        missing.push("CAP_BPF");
    }
    if !admin && !has(CAP_PERFMON) {
        missing.push("CAP_PERFMON");
    }
    missing
}

fn capabilities(status: &str, key: &str) -> u64 {
    status
        .lines()
        .find_map(|line| line.strip_prefix(key))
        .and_then(|hex| u64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or(0)
}

/// Kernels before 5.11 charge BPF maps to RLIMIT_MEMLOCK; later ones to the memory cgroup.
/// Raising it can fail without CAP_SYS_RESOURCE, which is harmless on those later kernels, so a
/// failure is only logged.
pub fn raise_memlock_limit() {
    use nix::sys::resource::{Resource, setrlimit};
    let unlimited = nix::sys::resource::RLIM_INFINITY;
    if let Err(error) = setrlimit(Resource::RLIMIT_MEMLOCK, unlimited, unlimited) {
        tracing::info!("could not raise RLIMIT_MEMLOCK ({error}); fine on Linux >= 5.11");
    }
}

/// Fails when the kernel is too old for the BPF ring buffer.
pub fn check_kernel() -> anyhow::Result<()> {
    let uname = nix::sys::utsname::uname()?;
    let release = uname.release().to_string_lossy().into_owned();
    if let Some(version) = parse_release(&release)
        && version < MIN_KERNEL
    {
        bail!(
            "Linux {release} has no BPF ring buffer: ringside needs Linux {}.{} or newer",
            MIN_KERNEL.0,
            MIN_KERNEL.1
        );
    }
    Ok(())
}

/// `6.18.44-fc-v657` -> (6, 18).
fn parse_release(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.split(|c: char| !c.is_ascii_digit());
    let major = parts.next()?.parse().ok()?;
    let minor = parts.next()?.parse().ok()?;
    Some((major, minor))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_each_missing_capability() {
        let cases: &[(u64, &[&str])] = &[
            (0, &["CAP_BPF", "CAP_PERFMON"]),
            (1 << CAP_BPF, &["CAP_PERFMON"]),
            (1 << CAP_PERFMON, &["CAP_BPF"]),
            (1 << CAP_BPF | 1 << CAP_PERFMON, &[]),
            (1 << CAP_SYS_ADMIN, &[]),
        ];
        for (effective, expected) in cases {
            assert_eq!(
                missing_capabilities(*effective),
                *expected,
                "CapEff {effective:#x}"
            );
        }
    }

    #[test]
    fn reads_the_effective_set_from_proc_status() {
        let status = "Name:\tx\nCapInh:\t0000000000000000\nCapEff:\t000001ffffffffff\n";
        assert_eq!(capabilities(status, "CapEff:"), 0x1ff_ffff_ffff);
        assert_eq!(capabilities("garbage", "CapEff:"), 0);
    }

    #[test]
    fn parses_kernel_releases() {
        assert_eq!(parse_release("6.18.44-fc-v657"), Some((6, 18)));
        assert_eq!(parse_release("5.4.0-150-generic"), Some((5, 4)));
        assert_eq!(parse_release("weird"), None);
        assert!(parse_release("5.4.0").unwrap() < MIN_KERNEL);
        assert!(parse_release("5.10.1").unwrap() >= MIN_KERNEL);
    }
}
