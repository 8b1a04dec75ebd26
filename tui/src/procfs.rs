//! Reads of /proc that seed what the probes cannot see: processes that existed before start.

use std::collections::{BTreeSet, HashMap};

/// `(pid, ppid)` of every process now running.
pub fn parent_links() -> Vec<(u32, u32)> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|entry| entry.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            Some((pid, parse_stat_ppid(&stat)?))
        })
        .collect()
}

/// The ppid field of /proc/PID/stat. The command name in parentheses may itself contain spaces
/// and parentheses, so fields are counted after the last `)`.
pub fn parse_stat_ppid(stat: &str) -> Option<u32> {
    let rest = &stat[stat.rfind(')')? + 1..];
    rest.split_whitespace().nth(1)?.parse().ok()
}

/// The roots and all their descendants, given `(pid, ppid)` links.
pub fn descendants(roots: &[u32], links: &[(u32, u32)]) -> BTreeSet<u32> {
    let mut children: HashMap<u32, Vec<u32>> = HashMap::new();
    for &(pid, ppid) in links {
        children.entry(ppid).or_default().push(pid);
    }
    let mut found: BTreeSet<u32> = roots.iter().copied().collect();
    let mut queue: Vec<u32> = roots.to_vec();
    while let Some(pid) = queue.pop() {
        for &child in children.get(&pid).into_iter().flatten() {
            if found.insert(child) {
                queue.push(child);
            }
        }
    }
    found
}

/// ringside's own CPU use, from /proc/self/stat between two readings.
pub struct CpuMeter {
    last_ticks: u64,
    last_at: std::time::Instant,
    ticks_per_second: u64,
}

impl CpuMeter {
    pub fn new() -> Self {
        let ticks_per_second = nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
            .ok()
            .flatten()
            .and_then(|t| u64::try_from(t).ok())
            .unwrap_or(100);
        Self {
            last_ticks: own_cpu_ticks(),
            last_at: std::time::Instant::now(),
            ticks_per_second,
        }
    }

    /// Percent of one core used since the last call.
    pub fn percent(&mut self) -> f64 {
        let ticks = own_cpu_ticks();
        let elapsed = self.last_at.elapsed().as_secs_f64();
        let used = ticks.saturating_sub(self.last_ticks) as f64 / self.ticks_per_second as f64;
        self.last_ticks = ticks;
        self.last_at = std::time::Instant::now();
        if elapsed > 0.0 {
            100.0 * used / elapsed
        } else {
            0.0
        }
    }
}

/// utime + stime of this process, in clock ticks.
fn own_cpu_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    parse_cpu_ticks(&stat).unwrap_or(0)
}

fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_ticks_come_from_utime_and_stime() {
        let stat = "42 (a (b) c) S 1 42 42 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 1 0";
        assert_eq!(super::parse_cpu_ticks(stat), Some(300));
        assert_eq!(super::parse_cpu_ticks("garbage"), None);
    }

    use super::*;

    #[test]
    fn ppid_survives_hostile_command_names() {
        assert_eq!(parse_stat_ppid("42 (bash) S 7 42 42 0"), Some(7));
        assert_eq!(parse_stat_ppid("42 (a) b (c) S 9 1"), Some(9));
        assert_eq!(parse_stat_ppid("42 (no close"), None);
        assert_eq!(parse_stat_ppid(""), None);
    }

    #[test]
    fn descendants_include_grandchildren_but_not_siblings() {
        let links = [(2, 1), (3, 2), (4, 3), (5, 1), (6, 5)];
        assert_eq!(descendants(&[2], &links), BTreeSet::from([2, 3, 4]));
        assert_eq!(descendants(&[9], &links), BTreeSet::from([9]));
    }
}
