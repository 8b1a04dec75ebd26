//! Finding the cgroup2 mount, and cgroup ids to paths: in a plain directory tree (the walk),
//! and in the real cgroup2 filesystem when run as root.

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use super::resolve::*;

const UNIFIED: &str = "\
22 28 0:21 / /sys rw,nosuid,nodev,noexec,relatime shared:7 - sysfs sysfs rw
25 22 0:22 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate,memory_recursiveprot
26 22 0:23 / /sys/fs/pstore rw,nosuid,nodev,noexec,relatime shared:10 - pstore pstore rw
28 1 259:2 / / rw,relatime shared:1 - ext4 /dev/nvme0n1p2 rw
";

const HYBRID: &str = "\
31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755
32 31 0:29 / /sys/fs/cgroup/cpu rw,relatime - cgroup cgroup rw,cpu
35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory
40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime shared:5 - cgroup cgroup rw,name=systemd
41 31 0:38 / /sys/fs/cgroup/unified rw,relatime shared:6 - cgroup2 cgroup2 rw
";

#[test]
fn the_unified_hierarchy_is_at_sys_fs_cgroup() {
    assert_eq!(
        cgroup2_mount_in(UNIFIED),
        Some(PathBuf::from("/sys/fs/cgroup"))
    );
}

#[test]
fn hybrid_systems_have_it_at_unified() {
    assert_eq!(
        cgroup2_mount_in(HYBRID),
        Some(PathBuf::from("/sys/fs/cgroup/unified"))
    );
}

#[test]
fn sys_fs_cgroup_is_preferred_wherever_it_is_listed() {
    let text = "\
50 28 0:40 / /run/cg rw - cgroup2 cgroup2 rw
51 28 0:40 / /sys/fs/cgroup/unified rw - cgroup2 cgroup2 rw
52 28 0:40 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
";
    assert_eq!(
        cgroup2_mount_in(text),
        Some(PathBuf::from("/sys/fs/cgroup"))
    );
}

#[test]
fn elsewhere_the_first_mount_of_the_whole_tree_is_taken() {
    let text = "\
50 28 0:40 /system.slice /mnt/part rw - cgroup2 cgroup2 rw
51 28 0:40 / /mnt/my\\040cgroups rw master:3 - cgroup2 none rw
52 28 0:40 / /mnt/later rw - cgroup2 cgroup2 rw
";
    assert_eq!(
        cgroup2_mount_in(text),
        Some(PathBuf::from("/mnt/my cgroups"))
    );
    let only_part = "50 28 0:40 /system.slice /mnt/part rw - cgroup2 cgroup2 rw\n";
    assert_eq!(
        cgroup2_mount_in(only_part),
        Some(PathBuf::from("/mnt/part"))
    );
}

#[test]
fn a_mount_covered_by_a_later_one_does_not_count() {
    let text = "\
25 22 0:22 / /sys/fs/cgroup rw - cgroup2 cgroup2 rw
60 25 0:50 / /sys/fs/cgroup rw - tmpfs tmpfs rw
";
    assert_eq!(cgroup2_mount_in(text), None);
}

#[test]
fn no_cgroup2_or_odd_text_finds_nothing() {
    let v1_only: String = HYBRID
        .lines()
        .filter(|line| !line.contains("cgroup2"))
        .collect();
    for text in [
        v1_only.as_str(),
        "",
        "garbage",
        "1 2 3 4\n",
        "1 2 3 / /x rw cgroup2\n",
        "1 2 3 / /x rw -\n",
    ] {
        assert_eq!(cgroup2_mount_in(text), None, "{text:?}");
    }
}

/// A directory tree made for one test, removed (deepest first) when dropped.
struct Tree {
    root: PathBuf,
    dirs: Vec<PathBuf>,
}

impl Tree {
    fn new(root: PathBuf) -> Self {
        std::fs::create_dir(&root).unwrap();
        Self {
            root,
            dirs: Vec::new(),
        }
    }

    /// Makes `below` (relative to the tree's root) and returns its inode number.
    fn mkdir(&mut self, below: &str) -> u64 {
        let dir = self.root.join(below);
        std::fs::create_dir(&dir).unwrap();
        self.dirs.push(dir.clone());
        ino(&dir)
    }

    fn rmdir_all(&mut self) {
        while let Some(dir) = self.dirs.pop() {
            std::fs::remove_dir(&dir).unwrap();
        }
    }
}

impl Drop for Tree {
    fn drop(&mut self) {
        for dir in self.dirs.iter().rev().chain([&self.root]) {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

fn ino(path: &Path) -> u64 {
    std::fs::metadata(path).unwrap().ino()
}

/// A name no other test (or test run) uses.
fn unique(what: &str) -> String {
    static COUNT: AtomicU32 = AtomicU32::new(0);
    let count = COUNT.fetch_add(1, Ordering::Relaxed);
    format!("ringside-{what}-{}-{count}", std::process::id())
}

#[test]
fn walking_finds_every_directory_below_the_mount() {
    let temp = tempfile::tempdir().unwrap();
    let mount = temp.path().to_path_buf();
    let mut tree = Tree::new(mount.join("a.slice"));
    let b = tree.mkdir("b.service");
    let c = tree.mkdir("b.service/c");
    std::fs::write(mount.join("a.slice/cgroup.procs"), "").unwrap();

    let mut found = walk(&mount);
    assert_eq!(found.first(), Some(&(ino(&mount), "/".to_owned())));
    found.sort_by(|x, y| x.1.cmp(&y.1));
    let want = [
        (ino(&mount), "/".to_owned()),
        (ino(&mount.join("a.slice")), "/a.slice".to_owned()),
        (b, "/a.slice/b.service".to_owned()),
        (c, "/a.slice/b.service/c".to_owned()),
    ];
    assert_eq!(found, want);
    assert_eq!(walk(&mount.join("absent")), []);
}

#[test]
fn walks_stop_at_their_limit() {
    let temp = tempfile::tempdir().unwrap();
    for name in ["a", "b", "c", "a/d", "a/e"] {
        std::fs::create_dir(temp.path().join(name)).unwrap();
    }
    assert_eq!(walk_at_most(temp.path(), 3).len(), 3);
    assert_eq!(walk_at_most(temp.path(), 100).len(), 6);
}

#[test]
fn the_walk_resolves_ids_when_handles_are_not_used() {
    let temp = tempfile::tempdir().unwrap();
    let mount = temp.path().to_path_buf();
    let mut tree = Tree::new(mount.join("x.slice"));
    let inner = tree.mkdir("inner");
    let mut resolver = CgroupResolver::walking_only(mount.clone());
    assert!(!resolver.uses_handles());
    let start = Instant::now();

    assert_eq!(
        resolver.resolve_at(inner, start).as_deref(),
        Some("/x.slice/inner")
    );
    // The walk cached the rest of the tree.
    assert_eq!(
        resolver.resolve_at(ino(&mount), start).as_deref(),
        Some("/")
    );

    // Made after the walk, and asked about too soon for another: unknown for a while.
    let late = tree.mkdir("late");
    let soon = start + Duration::from_millis(100);
    assert_eq!(resolver.resolve_at(late, soon), None);
    let later = soon + Duration::from_secs(2);
    assert_eq!(
        resolver.resolve_at(late, later).as_deref(),
        Some("/x.slice/late")
    );

    // Removed: the cached path is given until it is checked again, then never.
    tree.rmdir_all();
    assert_eq!(
        resolver.resolve_at(inner, later).as_deref(),
        Some("/x.slice/inner")
    );
    let much_later = later + Duration::from_secs(10);
    assert_eq!(resolver.resolve_at(inner, much_later), None);
    assert_eq!(resolver.resolve_at(late, much_later), None);
}

/// Whether this test can use the real cgroup2 filesystem; when CI or `cargo xtask test` runs
/// it (`CI=true` or `RINGSIDE_KERNEL_TESTS` set), not being able to is a failure.
fn cgroup2_for(test: &str) -> Option<PathBuf> {
    let required = std::env::var("CI").is_ok_and(|v| v == "true")
        || std::env::var_os("RINGSIDE_KERNEL_TESTS").is_some();
    let problem = if !nix::unistd::geteuid().is_root() {
        "making cgroups needs root"
    } else if let Some(mount) = cgroup2_mount() {
        return Some(mount);
    } else {
        "no cgroup2 filesystem is mounted"
    };
    assert!(!required, "{test}: must run here but {problem}");
    eprintln!("{test}: skipped: {problem}");
    None
}

#[test]
fn real_cgroup_ids_resolve_to_their_paths_until_removed() {
    let Some(mount) = cgroup2_for("real_cgroup_ids_resolve_to_their_paths_until_removed") else {
        return;
    };
    let name = unique("cgroup");
    let mut tree = Tree::new(mount.join(&name));
    let top = ino(&tree.root);
    let nested = tree.mkdir("nested.scope");
    let path = format!("/{name}");
    let nested_path = format!("/{name}/nested.scope");

    let mut by_handle = CgroupResolver::new(mount.clone());
    eprintln!("open_by_handle_at works here: {}", by_handle.uses_handles());
    let mut by_walk = CgroupResolver::walking_only(mount.clone());
    let start = Instant::now();
    for resolver in [&mut by_handle, &mut by_walk] {
        assert_eq!(
            resolver.resolve_at(top, start).as_deref(),
            Some(path.as_str())
        );
        assert_eq!(
            resolver.resolve_at(nested, start).as_deref(),
            Some(nested_path.as_str())
        );
        assert_eq!(
            resolver.resolve_at(ino(&mount), start).as_deref(),
            Some("/")
        );
    }
    assert!(walk(&mount).contains(&(nested, nested_path)));
    if by_handle.uses_handles() {
        // A cgroup made just now is found at once: no walk could have (one ran just before).
        let late = tree.mkdir("late");
        let soon = start + Duration::from_millis(1);
        let want = format!("/{name}/late");
        assert_eq!(
            by_handle.resolve_at(late, soon).as_deref(),
            Some(want.as_str())
        );
        assert_eq!(by_walk.resolve_at(late, soon), None);
        assert!(by_handle.uses_handles(), "a lookup fell back to walking");
    }

    tree.rmdir_all();
    std::fs::remove_dir(&tree.root).unwrap();
    let much_later = start + Duration::from_secs(10);
    for resolver in [&mut by_handle, &mut by_walk] {
        assert_eq!(resolver.resolve_at(nested, much_later), None);
        assert_eq!(resolver.resolve_at(top, much_later), None);
    }
    // A resolver that never saw them finds them gone at once.
    let mut fresh = CgroupResolver::new(mount);
    assert_eq!(fresh.resolve(nested), None);
    assert_eq!(fresh.resolve(top), None);
}

#[test]
fn ids_of_no_cgroup_resolve_to_none() {
    let Some(mount) = cgroup2_for("ids_of_no_cgroup_resolve_to_none") else {
        return;
    };
    let mut resolver = CgroupResolver::new(mount.clone());
    let file_id = ino(&mount.join("cgroup.procs"));
    for id in [0, u64::MAX, u64::MAX / 3, file_id] {
        assert_eq!(resolver.resolve(id), None, "{id}");
        assert_eq!(resolver.resolve(id), None, "{id} again, from the cache");
    }
}
