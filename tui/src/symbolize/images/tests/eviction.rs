//! What exited processes keep, for how long, and what eviction leaves behind.

use super::*;

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
