//! Kernel tests of cgroups: real cgroups made under the cgroup2 mount (a `*.service` in a test
//! slice, a `docker-<hex>.scope`), processes moved into them, and what ringside says of their
//! events, with and without a cgroup filter in the kernel.

mod support;

use std::io::Write as _;
use std::os::unix::fs::MetadataExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use serde_json::Value;
use support::{
    Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir, wait_for_exit,
};

/// Where cgroup2 is mounted: alone at /sys/fs/cgroup, or beside v1 at /sys/fs/cgroup/unified.
fn cgroup2_mount() -> PathBuf {
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").expect("mountinfo");
    mountinfo
        .lines()
        .filter_map(|line| {
            let (before, after) = line.split_once(" - ")?;
            let mount_point = before.split_whitespace().nth(4)?;
            (after.split_whitespace().next()? == "cgroup2").then(|| PathBuf::from(mount_point))
        })
        .min_by_key(|path| path.as_os_str().len())
        .expect("a cgroup2 mount (the kernel tests need cgroup v2)")
}

/// A cgroup the test made, removed (with what is below it) when dropped.
struct TestCgroup {
    dir: PathBuf,
    /// Its path below the mount, as ringside reports it.
    path: String,
}

impl TestCgroup {
    fn make(mount: &Path, path: &str) -> Self {
        let dir = mount.join(path.trim_start_matches('/'));
        std::fs::create_dir_all(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        Self {
            dir,
            path: path.to_owned(),
        }
    }

    /// The id `bpf_get_current_cgroup_id` gives for a process in it: its inode number.
    fn id(&self) -> u64 {
        std::fs::metadata(&self.dir).expect("stat cgroup").ino()
    }

    fn add(&self, pid: u32) {
        std::fs::write(self.dir.join("cgroup.procs"), pid.to_string())
            .unwrap_or_else(|e| panic!("moving {pid} into {}: {e}", self.path));
    }
}

impl Drop for TestCgroup {
    fn drop(&mut self) {
        // Children first: a cgroup with cgroups below it cannot be removed.
        let mut dirs = vec![self.dir.clone()];
        let mut index = 0;
        while index < dirs.len() {
            if let Ok(entries) = std::fs::read_dir(&dirs[index]) {
                dirs.extend(
                    entries
                        .filter_map(Result::ok)
                        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
                        .map(|e| e.path()),
                );
            }
            index += 1;
        }
        for dir in dirs.iter().rev() {
            let _ = std::fs::remove_dir(dir);
        }
    }
}

/// A shell that waits for a line on stdin, then opens `marker` and exits: it can be moved into
/// a cgroup before it does anything.
fn waiting_opener(marker: &Path) -> Child {
    Command::new("sh")
        .args(["-c", "read go; exec cat \"$0\"", &path_string(marker)])
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .expect("sh")
}

fn go(child: &mut Child) {
    let mut stdin = child.stdin.take().expect("stdin");
    stdin.write_all(b"go\n").expect("go");
    drop(stdin);
    wait_for_exit(child, "the opener");
}

fn open_of(ringside: &Ringside, marker: &Path) -> Value {
    let path = path_string(marker);
    ringside.wait_for(&format!("open of {path}"), |e| {
        is_type(e, "open") && e["path"] == path
    })
}

#[test]
fn events_carry_their_cgroup_unit_and_container() {
    if !kernel_tests_enabled("events_carry_their_cgroup_unit_and_container") {
        return;
    }
    let mount = cgroup2_mount();
    let tag = nonce();
    let container_id = format!("{tag:0>16}").repeat(4);
    let slice = TestCgroup::make(&mount, &format!("/ringside-test-{tag}.slice"));
    let service = TestCgroup::make(
        &mount,
        &format!("{}/ringside-probe-{tag}.service", slice.path),
    );
    let docker = TestCgroup::make(
        &mount,
        &format!("{}/docker-{container_id}.scope", slice.path),
    );
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open", "--stacks", "none"]);

    let marker = dir.path().join("in-service");
    let mut opener = waiting_opener(&marker);
    service.add(opener.id());
    go(&mut opener);
    let open = open_of(&ringside, &marker);
    assert_eq!(field(&open, "cgroup_id"), service.id());
    assert_eq!(field(&open, "cgroup"), &service.path);
    assert_eq!(
        field(&open, "unit"),
        &format!("ringside-probe-{tag}.service")
    );
    assert!(open.get("container").is_none(), "{open}");

    let marker = dir.path().join("in-container");
    let mut opener = waiting_opener(&marker);
    docker.add(opener.id());
    go(&mut opener);
    let open = open_of(&ringside, &marker);
    assert_eq!(field(&open, "cgroup_id"), docker.id());
    assert_eq!(field(&open, "container"), &container_id);
    assert_eq!(field(&open, "container_runtime"), "docker");
    assert_eq!(
        field(&open, "unit"),
        &format!("docker-{container_id}.scope")
    );
    ringside.stop();
    drop((service, docker, slice));
}

#[test]
fn a_unit_filter_is_enforced_in_the_kernel() {
    if !kernel_tests_enabled("a_unit_filter_is_enforced_in_the_kernel") {
        return;
    }
    let mount = cgroup2_mount();
    let tag = nonce();
    let slice = TestCgroup::make(&mount, &format!("/ringside-filter-{tag}.slice"));
    let unit = format!("ringside-filtered-{tag}.service");
    let service = TestCgroup::make(&mount, &format!("{}/{unit}", slice.path));
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open,exec,exit", "--unit", &unit]);

    // Outside the unit first: if the kernel let it through, it would arrive before the other.
    let outside = dir.path().join("outside");
    let mut opener = waiting_opener(&outside);
    go(&mut opener);
    let inside = dir.path().join("inside");
    let mut opener = waiting_opener(&inside);
    service.add(opener.id());
    go(&mut opener);
    let open = open_of(&ringside, &inside);
    assert_eq!(field(&open, "unit"), &unit);
    let finished = ringside.stop();
    let outside = path_string(&outside);
    assert!(
        !finished.events.iter().any(|e| e["path"] == outside),
        "an open from outside the unit arrived"
    );
    let strays: Vec<&Value> = finished
        .events
        .iter()
        .filter(|e| e["cgroup_id"] != service.id())
        .collect();
    assert!(strays.is_empty(), "events from other cgroups: {strays:?}");
    drop((service, slice));
}

#[test]
fn a_cgroup_made_after_start_under_a_filtered_one_is_followed_and_resolved() {
    if !kernel_tests_enabled(
        "a_cgroup_made_after_start_under_a_filtered_one_is_followed_and_resolved",
    ) {
        return;
    }
    let mount = cgroup2_mount();
    let tag = nonce();
    let slice = TestCgroup::make(&mount, &format!("/ringside-late-{tag}.slice"));
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open", "--cgroup", &slice.path]);

    // Made after ringside started: the kernel adds it to the filter as it is made, and
    // userspace resolves its id on first sight.
    let late = TestCgroup::make(&mount, &format!("{}/late-{tag}.service", slice.path));
    let marker = dir.path().join("late");
    let mut opener = waiting_opener(&marker);
    late.add(opener.id());
    go(&mut opener);
    let open = open_of(&ringside, &marker);
    assert_eq!(field(&open, "cgroup_id"), late.id());
    assert_eq!(field(&open, "cgroup"), &late.path);
    assert_eq!(field(&open, "unit"), &format!("late-{tag}.service"));
    ringside.stop();
    drop((late, slice));
}

#[test]
fn a_unit_started_after_ringside_is_found_and_traced() {
    if !kernel_tests_enabled("a_unit_started_after_ringside_is_found_and_traced") {
        return;
    }
    let mount = cgroup2_mount();
    let tag = nonce();
    let slice = TestCgroup::make(&mount, &format!("/ringside-restart-{tag}.slice"));
    let unit = format!("ringside-restarted-{tag}.service");
    let dir = scratch_dir();
    // The unit does not exist yet: a service that starts (or restarts, in a new cgroup beside
    // the old one) after ringside did.
    let ringside = Ringside::start(&["--events", "open", "--unit", &unit]);
    let service = TestCgroup::make(&mount, &format!("{}/{unit}", slice.path));
    // ringside looks for new matching cgroups once a second: open until one is seen.
    let deadline = std::time::Instant::now() + support::PATIENCE;
    let mut attempt = 0;
    let seen = loop {
        attempt += 1;
        let marker = dir.path().join(format!("attempt-{attempt}"));
        let mut opener = waiting_opener(&marker);
        service.add(opener.id());
        go(&mut opener);
        std::thread::sleep(std::time::Duration::from_millis(200));
        let path = path_string(&marker);
        if let Some(open) = ringside
            .matching(|e| is_type(e, "open") && e["path"] == path)
            .pop()
        {
            break open;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no open from the unit started after ringside within {:?}",
            support::PATIENCE
        );
    };
    assert_eq!(field(&seen, "unit"), &unit);
    ringside.stop();
    drop((service, slice));
}
