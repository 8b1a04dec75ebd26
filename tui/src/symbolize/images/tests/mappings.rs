//! Where an address falls: mappings, how later mappings overlay them, and seeding from /proc.

use super::*;

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
