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

#[cfg(test)]
mod tests {
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
