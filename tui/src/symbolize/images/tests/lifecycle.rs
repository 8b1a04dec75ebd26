//! Exec, fork, exit and pid reuse: which image answers for which time.

use super::*;

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
