use std::path::PathBuf;

use super::super::test_records::*;
use super::*;

#[test]
fn parses_each_record_type() {
    let exec = sys::PERF_RECORD_MISC_COMM_EXEC as u16;
    let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
    let mut comm_body = u32s(&[PID, TID]);
    comm_body.extend(name("true"));
    let mut mmap1_body = u32s(&[PID, TID]);
    mmap1_body.extend(u64s(&[0x1000, 0x2000, 0]));
    mmap1_body.extend(name("/old"));
    let mut build_id_body = mmap2_body(rx, "/bin/bid");
    build_id_body[32..56].fill(0xab);
    let cases: Vec<(&str, Vec<u8>, Option<TaskRecord>)> = vec![
        (
            "mmap2 executable",
            record(
                sys::PERF_RECORD_MMAP2,
                2,
                &mmap2_body(rx, "/usr/bin/true"),
                None,
            ),
            Some(mmap2_expected("/usr/bin/true")),
        ),
        (
            "mmap2 path of exactly 8 bytes with padding",
            record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(rx, "/a/b/cde"), None),
            Some(mmap2_expected("/a/b/cde")),
        ),
        (
            "mmap2 without PROT_EXEC",
            record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(1, "/data"), None),
            None,
        ),
        (
            "mmap2 flagged MMAP_DATA",
            record(
                sys::PERF_RECORD_MMAP2,
                sys::PERF_RECORD_MISC_MMAP_DATA as u16,
                &mmap2_body(rx, "/data"),
                None,
            ),
            None,
        ),
        (
            "mmap2 with build id instead of inode",
            record(
                sys::PERF_RECORD_MMAP2,
                sys::PERF_RECORD_MISC_MMAP_BUILD_ID as u16,
                &build_id_body,
                None,
            ),
            Some(TaskRecord::Mmap {
                pid: PID,
                tid: TID,
                time_ns: T,
                start: 0x5555_0000_1000,
                len: 0x2000,
                pgoff: 0x1000,
                dev_major: 0,
                dev_minor: 0,
                inode: 0,
                path: PathBuf::from("/bin/bid"),
            }),
        ),
        (
            "old-style mmap",
            record(sys::PERF_RECORD_MMAP, 2, &mmap1_body, None),
            Some(TaskRecord::Mmap {
                pid: PID,
                tid: TID,
                time_ns: T,
                start: 0x1000,
                len: 0x2000,
                pgoff: 0,
                dev_major: 0,
                dev_minor: 0,
                inode: 0,
                path: PathBuf::from("/old"),
            }),
        ),
        (
            "comm with exec flag",
            record(sys::PERF_RECORD_COMM, exec, &comm_body, None),
            Some(TaskRecord::Exec {
                pid: PID,
                tid: TID,
                time_ns: T,
                comm: b"true".to_vec(),
            }),
        ),
        (
            "comm rename without exec flag",
            record(sys::PERF_RECORD_COMM, 0, &comm_body, None),
            None,
        ),
        (
            "fork",
            record(sys::PERF_RECORD_FORK, 0, &task_body(), None),
            Some(TaskRecord::Fork {
                pid: PID,
                ppid: 1,
                tid: TID,
                ptid: 2,
                time_ns: T + 5,
            }),
        ),
        (
            "exit",
            record(sys::PERF_RECORD_EXIT, 0, &task_body(), None),
            Some(TaskRecord::Exit {
                pid: PID,
                ppid: 1,
                tid: TID,
                ptid: 2,
                time_ns: T + 5,
            }),
        ),
        (
            "lost",
            record(sys::PERF_RECORD_LOST, 0, &u64s(&[9, 17]), None),
            Some(TaskRecord::Lost { lost: 17 }),
        ),
        (
            "ignored type (throttle)",
            record(sys::PERF_RECORD_THROTTLE, 0, &u64s(&[1, 2, 3]), None),
            None,
        ),
        (
            "fork too short for its type",
            record(sys::PERF_RECORD_FORK, 0, &u32s(&[PID, 1]), None),
            None,
        ),
        (
            "mmap2 too short for its type",
            record(sys::PERF_RECORD_MMAP2, 0, &mmap2_body(rx, "/x")[..40], None),
            None,
        ),
        (
            "lost without sample_id trailer",
            {
                let mut rec = u32s(&[sys::PERF_RECORD_LOST]);
                rec.extend_from_slice(&0u16.to_ne_bytes());
                rec.extend_from_slice(&24u16.to_ne_bytes());
                rec.extend(u64s(&[9, 17]));
                rec
            },
            None,
        ),
        (
            "header only",
            record(0, 0, &[], Some(8))[..8].to_vec(),
            None,
        ),
        ("empty", Vec::new(), None),
    ];
    for (what, bytes, expected) in cases {
        assert_eq!(parse_record(&bytes), expected, "{what}");
        // Every prefix of every record must parse without panicking.
        for cut in 0..bytes.len() {
            let _ = parse_record(&bytes[..cut]);
        }
    }
}

#[test]
fn sample_id_trailer_gives_mmap_and_exec_time() {
    let rx = (libc::PROT_READ | libc::PROT_EXEC) as u32;
    let mut rec = record(sys::PERF_RECORD_MMAP2, 2, &mmap2_body(rx, "/x"), None);
    let at = rec.len() - 8;
    rec[at..].copy_from_slice(&99u64.to_ne_bytes());
    match parse_record(&rec) {
        Some(TaskRecord::Mmap { time_ns, .. }) => assert_eq!(time_ns, 99),
        other => panic!("expected an Mmap, got {other:?}"),
    }
}

#[test]
fn record_streams() {
    let fork = record(sys::PERF_RECORD_FORK, 0, &task_body(), None);
    let exit = record(sys::PERF_RECORD_EXIT, 0, &task_body(), None);
    let lost = record(sys::PERF_RECORD_LOST, 0, &u64s(&[1, 4]), None);
    let mut zero = fork.clone();
    zero[6..8].copy_from_slice(&0u16.to_ne_bytes());
    let mut four = fork.clone();
    four[6..8].copy_from_slice(&4u16.to_ne_bytes());
    let mut huge = fork.clone();
    huge[6..8].copy_from_slice(&u16::MAX.to_ne_bytes());
    let cat = |parts: &[&[u8]]| parts.concat();
    // (what, stream, intact, number of records)
    let cases: Vec<(&str, Vec<u8>, bool, usize)> = vec![
        ("empty", vec![], true, 0),
        ("three records", cat(&[&fork, &lost, &exit]), true, 3),
        (
            "truncated last record",
            cat(&[&fork, &exit[..20]]),
            false,
            1,
        ),
        ("truncated header", cat(&[&fork, &exit[..5]]), false, 1),
        ("size 0", cat(&[&fork, &zero, &exit]), false, 1),
        ("size below the header", cat(&[&four, &exit]), false, 0),
        ("size beyond the buffer", cat(&[&fork, &huge]), false, 1),
        (
            "unknown type skipped",
            cat(&[&record(99, 0, &[0; 8], None), &exit]),
            true,
            1,
        ),
    ];
    for (what, stream, intact, count) in cases {
        let mut out = Vec::new();
        assert_eq!(parse_records(&stream, &mut out), intact, "{what}");
        assert_eq!(out.len(), count, "{what}: {out:?}");
    }
}
