use std::path::PathBuf;

use super::*;

const PAGE: u64 = 0x1000;

fn mmap(pid: u32, time_ns: u64, start: u64, len: u64, pgoff: u64, path: &str) -> TaskRecord {
    TaskRecord::Mmap {
        pid,
        tid: pid,
        time_ns,
        start,
        len,
        pgoff,
        dev_major: 8,
        dev_minor: 1,
        inode: 42,
        path: PathBuf::from(path),
    }
}

fn exec(pid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exec {
        pid,
        tid: pid,
        time_ns,
        comm: b"prog".to_vec(),
    }
}

fn fork(child: u32, parent: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Fork {
        pid: child,
        ppid: parent,
        tid: child,
        ptid: parent,
        time_ns,
    }
}

fn thread_fork(pid: u32, tid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Fork {
        pid,
        ppid: pid,
        tid,
        ptid: pid,
        time_ns,
    }
}

fn exit(pid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exit {
        pid,
        ppid: 1,
        tid: pid,
        ptid: 1,
        time_ns,
    }
}

fn thread_exit(pid: u32, tid: u32, time_ns: u64) -> TaskRecord {
    TaskRecord::Exit {
        pid,
        ppid: pid,
        tid,
        ptid: pid,
        time_ns,
    }
}

fn apply_all(images: &mut ProcessImages, records: &[TaskRecord]) {
    for record in records {
        images.apply(record);
    }
}

/// The lookup, as a path string, "unmapped" or "unknown".
fn at(images: &ProcessImages, pid: u32, time_ns: u64, addr: u64) -> String {
    match images.lookup(pid, time_ns, addr) {
        Lookup::Found(mapping) => mapping.path.to_string_lossy().into_owned(),
        Lookup::Unmapped => "unmapped".to_owned(),
        Lookup::UnknownProcess => "unknown".to_owned(),
    }
}

fn found(images: &ProcessImages, pid: u32, time_ns: u64, addr: u64) -> &Mapping {
    match images.lookup(pid, time_ns, addr) {
        Lookup::Found(mapping) => mapping,
        other => panic!("pid {pid} at {time_ns}: {addr:#x} is {other:?}"),
    }
}

/// (start, end, pgoff, path) of every mapping in the current image of `pid`.
fn layout(images: &ProcessImages, pid: u32) -> Vec<(u64, u64, u64, String)> {
    let history = &images.processes[&pid];
    let image = history.images.last().expect("an image");
    image
        .mappings
        .iter()
        .map(|m| {
            (
                m.start,
                m.end,
                m.pgoff,
                m.path.to_string_lossy().into_owned(),
            )
        })
        .collect()
}

#[test]
fn file_offset_is_relative_to_the_mapping_start_plus_pgoff() {
    let mapping = Mapping {
        start: 0x7000_0000,
        end: 0x7001_0000,
        pgoff: 0x2000,
        path: Arc::from(Path::new("/lib/libc.so.6")),
        dev: (8, 1),
        inode: 1,
    };
    assert_eq!(mapping.file_offset(0x7000_0000), 0x2000);
    assert_eq!(mapping.file_offset(0x7000_0123), 0x2123);
}

#[test]
fn lookup_finds_the_containing_mapping_by_binary_search() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, 0x1000, 0, "/bin/a"),
            mmap(10, 6, 0x5000, 0x2000, 0x3000, "/lib/b"),
            mmap(10, 7, 0x3000, 0x1000, 0, "/lib/c"),
        ],
    );
    assert_eq!(at(&images, 10, 9, 0x1000), "/bin/a");
    assert_eq!(at(&images, 10, 9, 0x1fff), "/bin/a");
    assert_eq!(at(&images, 10, 9, 0x2000), "unmapped");
    assert_eq!(at(&images, 10, 9, 0x3800), "/lib/c");
    assert_eq!(at(&images, 10, 9, 0x6fff), "/lib/b");
    assert_eq!(found(&images, 10, 9, 0x6000).file_offset(0x6010), 0x4010);
    assert_eq!(at(&images, 10, 9, 0x7000), "unmapped");
    assert_eq!(at(&images, 10, 9, 0), "unmapped");
    assert_eq!(at(&images, 10, 9, u64::MAX), "unmapped");
    assert_eq!(at(&images, 11, 9, 0x1000), "unknown");
    let mapping = found(&images, 10, 9, 0x1000);
    assert_eq!((mapping.dev, mapping.inode), ((8, 1), 42));
}

#[test]
fn mmap_of_an_unseen_pid_creates_an_image_since_time_zero() {
    let mut images = ProcessImages::new();
    images.apply(&mmap(10, 1_000, 0x1000, PAGE, 0, "/bin/a"));
    // Earlier than the record: the process existed before we saw it.
    assert_eq!(at(&images, 10, 0, 0x1000), "/bin/a");
    assert_eq!(at(&images, 10, 5_000, 0x1000), "/bin/a");
    assert_eq!(images.stats(), (1, 1, 1));
}

#[test]
fn exec_ends_the_old_image_at_its_time_and_later_mmaps_go_to_the_new_one() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/sh"),
            mmap(10, 6, 0x8000, PAGE, 0, "/lib/libc.so.6"),
            exec(10, 100),
            mmap(10, 101, 0x1000, PAGE, 0, "/usr/bin/ls"),
        ],
    );
    // A stack captured at execve entry carries a time just before the exec record.
    assert_eq!(at(&images, 10, 99, 0x1000), "/bin/sh");
    assert_eq!(at(&images, 10, 99, 0x8000), "/lib/libc.so.6");
    // From the exec on, the new program: the old libc is gone.
    assert_eq!(at(&images, 10, 100, 0x1000), "/usr/bin/ls");
    assert_eq!(at(&images, 10, 100, 0x8000), "unmapped");
    assert_eq!(at(&images, 10, 5_000, 0x1000), "/usr/bin/ls");
    assert_eq!(images.stats(), (1, 2, 3));
}

#[test]
fn a_fork_record_read_after_the_child_s_exec_keeps_the_exec() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[mmap(1, 5, 0x1000, PAGE, 0, "/usr/bin/parent")],
    );
    // The child forked at 100, exec'd at 110 and mapped its program at 111; its fork record
    // sat in a ring that was read before the parent wrote it.
    apply_all(
        &mut images,
        &[
            exec(20, 110),
            mmap(20, 111, 0x5000, PAGE, 0, "/usr/bin/child"),
            fork(20, 1, 100),
        ],
    );
    assert_eq!(at(&images, 20, 105, 0x1000), "/usr/bin/parent", "forked");
    assert_eq!(at(&images, 20, 111, 0x5000), "/usr/bin/child", "exec'd");
    assert_eq!(at(&images, 20, 500, 0x5000), "/usr/bin/child");
    assert_eq!(at(&images, 20, 500, 0x1000), "unmapped");
    assert_eq!(at(&images, 20, 99, 0x5000), "unknown");

    // A reused pid: the old process's image ends at the new fork, even when the fork record
    // comes after the new process's exec.
    apply_all(
        &mut images,
        &[
            exit(20, 600),
            exec(20, 710),
            mmap(20, 711, 0x9000, PAGE, 0, "/usr/bin/third"),
            fork(20, 1, 700),
        ],
    );
    assert_eq!(at(&images, 20, 500, 0x5000), "/usr/bin/child");
    assert_eq!(at(&images, 20, 705, 0x1000), "/usr/bin/parent");
    assert_eq!(at(&images, 20, 800, 0x9000), "/usr/bin/third");
}

#[test]
fn exec_of_an_unseen_pid_leaves_earlier_times_unknown() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[exec(10, 100), mmap(10, 101, 0x1000, PAGE, 0, "/bin/a")],
    );
    assert_eq!(at(&images, 10, 99, 0x1000), "unknown");
    assert_eq!(at(&images, 10, 100, 0x1000), "/bin/a");
    assert_eq!(at(&images, 10, 100, 0x9000), "unmapped");
}

#[test]
fn fork_copies_the_parents_current_image_sharing_paths() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/sh"),
            fork(20, 10, 50),
            // After the fork, each side maps on its own.
            mmap(10, 60, 0x4000, PAGE, 0, "/lib/parent-only.so"),
            mmap(20, 61, 0x5000, PAGE, 0, "/lib/child-only.so"),
        ],
    );
    assert_eq!(at(&images, 20, 49, 0x1000), "unknown");
    assert_eq!(at(&images, 20, 50, 0x1000), "/bin/sh");
    assert_eq!(at(&images, 20, 70, 0x4000), "unmapped");
    assert_eq!(at(&images, 20, 70, 0x5000), "/lib/child-only.so");
    assert_eq!(at(&images, 10, 70, 0x4000), "/lib/parent-only.so");
    assert_eq!(at(&images, 10, 70, 0x5000), "unmapped");
    // The inherited mapping shares the parent's path allocation.
    assert!(Arc::ptr_eq(
        &found(&images, 10, 70, 0x1000).path,
        &found(&images, 20, 70, 0x1000).path
    ));
}

#[test]
fn fork_inherits_the_image_current_at_the_fork_time_not_a_later_one() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/old"),
            fork(20, 10, 50),
            exec(10, 60),
            mmap(10, 61, 0x1000, PAGE, 0, "/bin/new"),
        ],
    );
    assert_eq!(at(&images, 20, 70, 0x1000), "/bin/old");
    assert_eq!(at(&images, 10, 70, 0x1000), "/bin/new");
}

#[test]
fn fork_shares_the_mapping_list_until_one_side_maps() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[mmap(10, 5, 0x1000, PAGE, 0, "/bin/sh"), fork(20, 10, 50)],
    );
    let list = |images: &ProcessImages, pid: u32| {
        Arc::clone(
            &images.processes[&pid]
                .images
                .last()
                .expect("image")
                .mappings,
        )
    };
    assert!(Arc::ptr_eq(&list(&images, 10), &list(&images, 20)));
    images.apply(&mmap(20, 60, 0x2000, PAGE, 0, "/lib/x.so"));
    assert!(!Arc::ptr_eq(&list(&images, 10), &list(&images, 20)));
}

#[test]
fn fork_of_an_unknown_parent_starts_an_empty_image() {
    let mut images = ProcessImages::new();
    images.apply(&fork(20, 10, 50));
    assert_eq!(at(&images, 20, 49, 0x1000), "unknown");
    assert_eq!(at(&images, 20, 50, 0x1000), "unmapped");
}

#[test]
fn thread_forks_and_exits_change_nothing() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/app"),
            thread_fork(10, 11, 20),
            thread_exit(10, 11, 30),
        ],
    );
    assert_eq!(images.stats(), (1, 1, 1));
    assert_eq!(at(&images, 10, 1_000, 0x1000), "/bin/app");
    // The thread id is not a process.
    assert_eq!(at(&images, 11, 25, 0x1000), "unknown");
    images.evict_exited(u64::MAX, usize::MAX);
    assert_eq!(at(&images, 10, 1_000, 0x1000), "/bin/app");
}

#[test]
fn lost_records_change_nothing() {
    let mut images = ProcessImages::new();
    images.apply(&mmap(10, 5, 0x1000, PAGE, 0, "/bin/app"));
    images.apply(&TaskRecord::Lost { lost: 7 });
    assert_eq!(images.stats(), (1, 1, 1));
}

#[test]
fn overlapping_mmap_trims_and_splits_old_mappings() {
    let mut images = ProcessImages::new();
    // [0x1000, 0x5000) old, then [0x2000, 0x3000) new in the middle: a split.
    apply_all(
        &mut images,
        &[
            mmap(10, 1, 0x1000, 4 * PAGE, 0x10000, "/old"),
            mmap(10, 2, 0x2000, PAGE, 0, "/mid"),
        ],
    );
    assert_eq!(
        layout(&images, 10),
        [
            (0x1000, 0x2000, 0x10000, "/old".to_owned()),
            (0x2000, 0x3000, 0, "/mid".to_owned()),
            (0x3000, 0x5000, 0x12000, "/old".to_owned()),
        ]
    );
    // The right part keeps its true file offset.
    assert_eq!(found(&images, 10, 3, 0x3010).file_offset(0x3010), 0x12010);

    // Overlap the tail of one and the head of the next: both trimmed.
    images.apply(&mmap(10, 3, 0x1800, PAGE, 0, "/straddle-left"));
    images.apply(&mmap(10, 4, 0x2800, PAGE, 0, "/straddle-right"));
    assert_eq!(
        layout(&images, 10),
        [
            (0x1000, 0x1800, 0x10000, "/old".to_owned()),
            (0x1800, 0x2800, 0, "/straddle-left".to_owned()),
            (0x2800, 0x3800, 0, "/straddle-right".to_owned()),
            (0x3800, 0x5000, 0x12800, "/old".to_owned()),
        ]
    );

    // Covering several mappings entirely replaces them.
    images.apply(&mmap(10, 5, 0x1000, 4 * PAGE, 0, "/all"));
    assert_eq!(
        layout(&images, 10),
        [(0x1000, 0x5000, 0, "/all".to_owned())]
    );

    // Exactly adjacent mappings do not touch each other.
    images.apply(&mmap(10, 6, 0x5000, PAGE, 0, "/after"));
    images.apply(&mmap(10, 7, 0x0000, PAGE, 0, "/before"));
    assert_eq!(
        layout(&images, 10),
        [
            (0x0000, 0x1000, 0, "/before".to_owned()),
            (0x1000, 0x5000, 0, "/all".to_owned()),
            (0x5000, 0x6000, 0, "/after".to_owned()),
        ]
    );
}

#[test]
fn anonymous_executable_mmap_replaces_files_but_resolves_unmapped() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 1, 0x1000, 4 * PAGE, 0, "/bin/app"),
            mmap(10, 2, 0x2000, PAGE, 0, "//anon"),
            mmap(10, 3, 0x9000, PAGE, 0, "[vdso]"),
        ],
    );
    assert_eq!(at(&images, 10, 4, 0x1000), "/bin/app");
    assert_eq!(at(&images, 10, 4, 0x2000), "unmapped");
    assert_eq!(at(&images, 10, 4, 0x3000), "/bin/app");
    assert_eq!(at(&images, 10, 4, 0x9000), "unmapped");
}

#[test]
fn mmap_paths_lose_their_deleted_suffix_and_empty_mmaps_are_ignored() {
    let mut images = ProcessImages::new();
    images.apply(&mmap(10, 1, 0x1000, PAGE, 0, "/opt/app (deleted)"));
    images.apply(&mmap(10, 2, 0x1000, 0, 0, "/ignored"));
    assert_eq!(at(&images, 10, 3, 0x1000), "/opt/app");
    // A mapping at the very top of the address space does not overflow.
    images.apply(&mmap(10, 3, u64::MAX - 0xfff, PAGE, 0, "/top"));
    assert_eq!(at(&images, 10, 4, u64::MAX - 1), "/top");
}

#[test]
fn exited_process_resolves_up_to_its_exit_time_until_evicted() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[mmap(10, 5, 0x1000, PAGE, 0, "/bin/app"), exit(10, 100)],
    );
    assert_eq!(at(&images, 10, 100, 0x1000), "/bin/app");
    assert_eq!(at(&images, 10, 101, 0x1000), "unknown");

    images.evict_exited(100, usize::MAX); // exit time 100 is not before 100
    assert_eq!(at(&images, 10, 100, 0x1000), "/bin/app");
    images.evict_exited(101, usize::MAX);
    assert_eq!(at(&images, 10, 100, 0x1000), "unknown");
    assert_eq!(images.stats(), (0, 0, 0));
    assert!(images.paths.is_empty());
}

#[test]
fn past_the_bound_the_oldest_exits_go_first_even_within_the_grace() {
    let mut images = ProcessImages::new();
    for pid in 10..15 {
        let time = u64::from(pid) * 10;
        apply_all(
            &mut images,
            &[
                mmap(pid, time, 0x1000, PAGE, 0, "/bin/app"),
                exit(pid, time + 1),
            ],
        );
    }
    images.apply(&mmap(99, 1, 0x1000, PAGE, 0, "/bin/running"));
    images.evict_exited(0, 2);
    // The two newest exits (pids 13 and 14) stay, and the running process.
    assert_eq!(images.stats().0, 3);
    assert_eq!(at(&images, 13, 131, 0x1000), "/bin/app");
    assert_eq!(at(&images, 14, 141, 0x1000), "/bin/app");
    assert_eq!(at(&images, 12, 121, 0x1000), "unknown");
    assert_eq!(at(&images, 99, 5, 0x1000), "/bin/running");
}

#[test]
fn eviction_keeps_running_processes_and_forgets_replaced_images() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/sh"),
            exec(10, 100),
            mmap(10, 101, 0x1000, PAGE, 0, "/bin/app"),
        ],
    );
    images.evict_exited(1_000_000, usize::MAX);
    assert_eq!(images.stats(), (1, 1, 1));
    // Every lookup at or after the eviction time answers as before.
    assert_eq!(at(&images, 10, 1_000_000, 0x1000), "/bin/app");
    assert_eq!(at(&images, 10, 99, 0x1000), "unknown");
    let interned: Vec<_> = images.paths.iter().map(|p| p.to_path_buf()).collect();
    assert_eq!(interned, [PathBuf::from("/bin/app")]);
}

#[test]
fn pid_reuse_starts_a_fresh_history() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(1, 0, 0x9000, PAGE, 0, "/sbin/init"),
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/first"),
            exit(10, 100),
            fork(10, 1, 200),
            exec(10, 210),
            mmap(10, 211, 0x2000, PAGE, 0, "/bin/second"),
        ],
    );
    assert_eq!(at(&images, 10, 100, 0x1000), "/bin/first");
    assert_eq!(at(&images, 10, 150, 0x1000), "unknown");
    // Between the fork and the exec, the child runs the parent's program.
    assert_eq!(at(&images, 10, 205, 0x9000), "/sbin/init");
    assert_eq!(at(&images, 10, 205, 0x1000), "unmapped");
    // Never the previous process's mapping.
    assert_eq!(at(&images, 10, 300, 0x1000), "unmapped");
    assert_eq!(at(&images, 10, 300, 0x2000), "/bin/second");

    images.evict_exited(150, usize::MAX);
    assert_eq!(at(&images, 10, 100, 0x1000), "unknown");
    assert_eq!(at(&images, 10, 300, 0x2000), "/bin/second");
    assert_eq!(images.stats(), (2, 3, 3));
}

#[test]
fn pid_reuse_without_the_exit_record_still_starts_fresh() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/first"),
            // The exit was lost.
            fork(10, 1, 200),
            mmap(10, 201, 0x2000, PAGE, 0, "/bin/second"),
        ],
    );
    assert_eq!(at(&images, 10, 199, 0x1000), "/bin/first");
    assert_eq!(at(&images, 10, 201, 0x1000), "unmapped");
    assert_eq!(at(&images, 10, 201, 0x2000), "/bin/second");
}

#[test]
fn mmap_after_exit_without_a_fork_starts_a_new_process() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 5, 0x1000, PAGE, 0, "/bin/first"),
            exit(10, 100),
            // The fork was lost.
            mmap(10, 300, 0x2000, PAGE, 0, "/bin/second"),
        ],
    );
    assert_eq!(at(&images, 10, 100, 0x1000), "/bin/first");
    assert_eq!(at(&images, 10, 100, 0x2000), "unmapped");
    assert_eq!(at(&images, 10, 300, 0x1000), "unmapped");
    assert_eq!(at(&images, 10, 300, 0x2000), "/bin/second");
}

#[test]
fn same_paths_are_interned_across_processes() {
    let mut images = ProcessImages::new();
    apply_all(
        &mut images,
        &[
            mmap(10, 1, 0x1000, PAGE, 0, "/lib/libc.so.6"),
            mmap(20, 2, 0x7000, PAGE, 0, "/lib/libc.so.6"),
        ],
    );
    images.seed(
        30,
        "00001000-00002000 r-xp 00000000 08:01 42 /lib/libc.so.6\n",
    );
    let a = &found(&images, 10, 3, 0x1000).path;
    let b = &found(&images, 20, 3, 0x7000).path;
    let c = &found(&images, 30, 3, 0x1000).path;
    assert!(Arc::ptr_eq(a, b) && Arc::ptr_eq(a, c));
    assert_eq!(images.paths.len(), 1);
}

#[test]
fn seed_adds_an_image_since_time_zero_only_for_unknown_pids() {
    let maps = "\
55d0c0a00000-55d0c0a10000 r--p 00000000 08:01 100 /usr/bin/app
55d0c0a10000-55d0c0a30000 r-xp 00010000 08:01 100 /usr/bin/app
7f0000000000-7f0000020000 r-xp 00028000 08:01 200 /usr/lib/libc.so.6
7ffd00000000-7ffd00002000 r-xp 00000000 00:00 0 [vdso]
";
    let mut images = ProcessImages::new();
    images.seed(10, maps);
    assert_eq!(images.stats(), (1, 1, 2));
    assert_eq!(at(&images, 10, 0, 0x55d0_c0a1_0000), "/usr/bin/app");
    assert_eq!(at(&images, 10, 0, 0x55d0_c0a0_0000), "unmapped");
    assert_eq!(
        found(&images, 10, 0, 0x7f00_0000_0000).file_offset(0x7f00_0000_0010),
        0x28010
    );
    assert_eq!(at(&images, 10, 5, 0x7ffd_0000_0000), "unmapped");

    // Already known: the seed is ignored.
    images.apply(&mmap(20, 5, 0x1000, PAGE, 0, "/bin/seen"));
    images.seed(20, maps);
    images.seed(10, "00001000-00002000 r-xp 00000000 08:01 1 /other\n");
    assert_eq!(images.stats(), (2, 2, 3));
    assert_eq!(at(&images, 20, 5, 0x55d0_c0a1_0000), "unmapped");
    assert_eq!(at(&images, 10, 5, 0x1000), "unmapped");
}

#[test]
fn seed_from_proc_resolves_this_test_binarys_own_code() {
    let mut images = ProcessImages::new();
    images.seed_from_proc();
    let addr = seed_from_proc_resolves_this_test_binarys_own_code as fn() as usize as u64;
    let mapping = found(&images, std::process::id(), 0, addr);
    let exe = std::env::current_exe().expect("current exe");
    assert_eq!(&*mapping.path, exe.as_path());
    assert!(mapping.file_offset(addr) < std::fs::metadata(&exe).expect("exe").len());
}

#[test]
fn ten_thousand_short_lived_processes_leave_nothing_after_eviction() {
    const RUNS: u32 = 10_000;
    let mut images = ProcessImages::new();
    images.seed(
        1,
        "00400000-00500000 r-xp 00000000 08:01 1 /usr/bin/shell\n\
         7f0000000000-7f0000100000 r-xp 00000000 08:01 2 /usr/lib/libc.so.6\n",
    );
    let libs = [
        "/usr/lib/libc.so.6",
        "/usr/lib/ld-linux.so.2",
        "/usr/lib/libm.so.6",
    ];
    let mut time = 1_000;
    for run in 0..RUNS {
        // Pids wrap around, as they do on a busy machine.
        let pid = 1_000 + run % 3_000;
        let program = format!("/usr/bin/tool{}", run % 7);
        images.apply(&fork(pid, 1, time));
        images.apply(&exec(pid, time + 1));
        images.apply(&mmap(pid, time + 2, 0x40_0000, 0x10_0000, 0, &program));
        for (index, lib) in (0u64..).zip(libs) {
            images.apply(&mmap(
                pid,
                time + 3,
                0x7f00_0000_0000 + index * 0x100_0000,
                0x10_0000,
                0,
                lib,
            ));
        }
        // A late event of this process still resolves.
        assert_eq!(at(&images, pid, time + 4, 0x40_0000), program);
        images.apply(&exit(pid, time + 5));
        time += 10;
    }
    let (processes, held_images, mappings) = images.stats();
    assert_eq!(processes, 3_001);
    assert!(held_images >= 2 * RUNS as usize && mappings >= 4 * RUNS as usize);
    // Only a handful of distinct paths, however many processes used them.
    assert_eq!(images.paths.len(), 2 + 7 + 2);

    images.evict_exited(time, usize::MAX);
    assert_eq!(images.stats(), (1, 1, 2));
    let mut interned: Vec<_> = images.paths.iter().map(|p| p.to_path_buf()).collect();
    interned.sort();
    assert_eq!(
        interned,
        [
            PathBuf::from("/usr/bin/shell"),
            PathBuf::from("/usr/lib/libc.so.6")
        ]
    );
    assert!(images.processes.capacity() < 1_000);
    assert_eq!(at(&images, 1, time, 0x40_0000), "/usr/bin/shell");
}
