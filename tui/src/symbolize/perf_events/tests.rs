use super::*;

const PID: u32 = 4242;
const TID: u32 = 4243;
const T: u64 = 123_456_789_000;

/// Builds a record: header, body, sample_id trailer (pid, tid, time), with the header size
/// set to the real length unless `size` overrides it.
fn record(kind: u32, misc: u16, body: &[u8], size: Option<u16>) -> Vec<u8> {
    let mut rec = Vec::new();
    rec.extend_from_slice(&kind.to_ne_bytes());
    rec.extend_from_slice(&misc.to_ne_bytes());
    rec.extend_from_slice(&[0, 0]);
    rec.extend_from_slice(body);
    rec.extend_from_slice(&PID.to_ne_bytes());
    rec.extend_from_slice(&TID.to_ne_bytes());
    rec.extend_from_slice(&T.to_ne_bytes());
    let len = size.unwrap_or(rec.len() as u16);
    rec[6..8].copy_from_slice(&len.to_ne_bytes());
    rec
}

fn u32s(values: &[u32]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

fn u64s(values: &[u64]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_ne_bytes()).collect()
}

/// A NUL-terminated name padded to 8 bytes, as the kernel writes it.
fn name(text: &str) -> Vec<u8> {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0);
    while !bytes.len().is_multiple_of(8) {
        bytes.push(0);
    }
    bytes
}

fn mmap2_body(prot: u32, path: &str) -> Vec<u8> {
    let mut body = u32s(&[PID, TID]);
    body.extend(u64s(&[0x5555_0000_1000, 0x2000, 0x1000]));
    body.extend(u32s(&[8, 1]));
    body.extend(u64s(&[777, 3]));
    body.extend(u32s(&[prot, libc::MAP_PRIVATE as u32]));
    body.extend(name(path));
    body
}

fn mmap2_expected(path: &str) -> TaskRecord {
    TaskRecord::Mmap {
        pid: PID,
        tid: TID,
        time_ns: T,
        start: 0x5555_0000_1000,
        len: 0x2000,
        pgoff: 0x1000,
        dev_major: 8,
        dev_minor: 1,
        inode: 777,
        path: PathBuf::from(path),
    }
}

fn task_body() -> Vec<u8> {
    let mut body = u32s(&[PID, 1, TID, 2]);
    body.extend(u64s(&[T + 5]));
    body
}

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

#[test]
fn wrapped_record_is_reassembled() {
    let fork = record(sys::PERF_RECORD_FORK, 0, &task_body(), None);
    let lost = record(sys::PERF_RECORD_LOST, 0, &u64s(&[1, 4]), None);
    let size = 128;
    // The ring has gone round three times; `lost` (40 bytes) ends 16 bytes before the end
    // of the ring and `fork` (48 bytes) wraps around it.
    let start = 72;
    let tail = 3 * size as u64 + start as u64;
    let stream = [lost.as_slice(), fork.as_slice()].concat();
    assert!(stream.len() <= size && start + lost.len() < size);
    let mut ring = vec![0xeeu8; size];
    for (i, byte) in stream.iter().enumerate() {
        ring[(start + i) % size] = *byte;
    }
    let head = tail + stream.len() as u64;
    let (_, wrapped) = ring_segments(tail, head, size).expect("fits");
    assert_eq!(wrapped, 0..32, "the fork record wraps around the end");
    let mut bytes = Vec::new();
    // SAFETY: `ring` is a live Vec of `size` bytes that nothing else touches.
    let ok = unsafe { copy_from_ring(ring.as_ptr(), size, tail, head, &mut bytes) };
    assert!(ok);
    assert_eq!(bytes, stream);
    let mut out = Vec::new();
    assert!(parse_records(&bytes, &mut out));
    assert_eq!(out[0], TaskRecord::Lost { lost: 4 });
    assert_eq!(
        out[1],
        TaskRecord::Fork {
            pid: PID,
            ppid: 1,
            tid: TID,
            ptid: 2,
            time_ns: T + 5,
        }
    );
    assert_eq!(out.len(), 2);
    // Claiming more than the ring holds is refused.
    let mut none = Vec::new();
    // SAFETY: as above.
    let refused = unsafe { copy_from_ring(ring.as_ptr(), size, tail, tail + 129, &mut none) };
    assert!(!refused && none.is_empty());
}

#[test]
fn ring_segment_arithmetic() {
    assert_eq!(ring_segments(0, 0, 64), Some((0..0, 0..0)));
    assert_eq!(ring_segments(8, 40, 64), Some((8..40, 0..0)));
    assert_eq!(ring_segments(56, 72, 64), Some((56..64, 0..8)));
    assert_eq!(ring_segments(64, 128, 64), Some((0..64, 0..0)));
    assert_eq!(ring_segments(u64::MAX - 7, 8, 64), Some((56..64, 0..8)));
    assert_eq!(ring_segments(0, 65, 64), None);
    assert_eq!(ring_segments(10, 5, 64), None);
    assert_eq!(ring_segments(0, 0, 48), None);
}

#[test]
fn cpu_lists() {
    let cases: &[(&str, Option<&[u32]>)] = &[
        ("0-1\n", Some(&[0, 1])),
        ("0", Some(&[0])),
        ("0,2-5", Some(&[0, 2, 3, 4, 5])),
        ("0-3,8-9,12\n", Some(&[0, 1, 2, 3, 8, 9, 12])),
        ("3,1", Some(&[1, 3])),
        ("", None),
        ("\n", None),
        ("a", None),
        ("1-", None),
        ("-1", None),
        ("3-1", None),
        ("0,,1", None),
        ("0-1-2", None),
        ("0-4294967295", None),
    ];
    for (text, expected) in cases {
        assert_eq!(parse_cpu_list(text).as_deref(), *expected, "{text:?}");
    }
}

#[test]
fn errors_are_one_line() {
    let err = PerfError::Open {
        cpu: 3,
        err: std::io::Error::from_raw_os_error(libc::EACCES),
    };
    let text = err.to_string();
    assert!(
        text.starts_with("perf_event_open on CPU 3 failed: Permission denied (needs CAP_PERFMON"),
        "{text}"
    );
    assert!(!text.contains('\n'));
    assert_eq!(
        PerfError::Pages(3).to_string(),
        "pages_per_cpu must be a power of two, got 3"
    );
    assert!(matches!(TaskWatcher::open(3), Err(PerfError::Pages(3))));
    assert!(matches!(TaskWatcher::open(0), Err(PerfError::Pages(0))));
}

fn monotonic_now_ns() -> u64 {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: `ts` is a valid, writable timespec for the duration of the call.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_MONOTONIC, &mut ts) };
    assert_eq!(rc, 0);
    ts.tv_sec as u64 * 1_000_000_000 + ts.tv_nsec as u64
}

fn effective_uid_is_root() -> bool {
    std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            let line = status.lines().find(|l| l.starts_with("Uid:"))?;
            Some(line.split_whitespace().nth(2)? == "0")
        })
        .unwrap_or(false)
}

fn kernel_tests_required() -> bool {
    std::env::var("RINGSIDE_KERNEL_TESTS").is_ok_and(|v| v == "require")
        || std::env::var("CI").is_ok_and(|v| v == "true")
}

#[test]
fn live_sees_a_short_process() {
    if !effective_uid_is_root() && !kernel_tests_required() {
        println!(
            "skipped live_sees_a_short_process: needs root (CAP_PERFMON) for system-wide \
             perf events; set RINGSIDE_KERNEL_TESTS=require to force it"
        );
        return;
    }
    // A copy of /bin/true under a distinctive name (comm is truncated to 15 bytes).
    let dir = tempfile_dir();
    let exe = dir.join(format!("rstrue{}", std::process::id()));
    std::fs::copy("/bin/true", &exe).expect("copy /bin/true");
    let exe = std::fs::canonicalize(&exe).expect("canonical path");

    let mut watcher =
        TaskWatcher::open(256).unwrap_or_else(|err| panic!("open the task watcher: {err}"));
    let before = monotonic_now_ns();
    let child_pid = run_to_completion(&exe);
    let parent = std::process::id();

    let mut records = Vec::new();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(2);
    let mine = |records: &Vec<TaskRecord>| -> Vec<TaskRecord> {
        records
            .iter()
            .filter(|r| match r {
                TaskRecord::Mmap { pid, .. }
                | TaskRecord::Exec { pid, .. }
                | TaskRecord::Fork { pid, .. }
                | TaskRecord::Exit { pid, .. } => *pid == child_pid,
                TaskRecord::Lost { .. } => false,
            })
            .cloned()
            .collect()
    };
    let complete = |child: &[TaskRecord]| {
        child.iter().any(|r| matches!(r, TaskRecord::Exit { .. }))
            && child.iter().any(|r| matches!(r, TaskRecord::Fork { .. }))
            && child
                .iter()
                .any(|r| matches!(r, TaskRecord::Mmap { path, .. } if *path == exe))
    };
    loop {
        watcher.drain(&mut records);
        if complete(&mine(&records)) || std::time::Instant::now() > deadline {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    let _ = std::fs::remove_file(&exe);
    let _ = std::fs::remove_dir(&dir);
    let now = monotonic_now_ns();
    let child = mine(&records);

    let count = |pred: &dyn Fn(&TaskRecord) -> bool| child.iter().filter(|r| pred(r)).count();
    println!(
        "live: {} records from all CPUs, {} for child {child_pid}: {} fork, {} exec, {} mmap, \
         {} exit; lost {}",
        records.len(),
        child.len(),
        count(&|r| matches!(r, TaskRecord::Fork { .. })),
        count(&|r| matches!(r, TaskRecord::Exec { .. })),
        count(&|r| matches!(r, TaskRecord::Mmap { .. })),
        count(&|r| matches!(r, TaskRecord::Exit { .. })),
        watcher.lost()
    );
    for record in &child {
        println!("  {record:?}");
    }

    let fork = child
        .iter()
        .find_map(|r| match r {
            TaskRecord::Fork {
                ppid, time_ns, tid, ..
            } if *tid == child_pid => Some((*ppid, *time_ns)),
            _ => None,
        })
        .expect("a Fork record for the child");
    assert_eq!(fork.0, parent, "the child's parent is this test process");
    let exec = child
        .iter()
        .find_map(|r| match r {
            TaskRecord::Exec { comm, time_ns, .. } => Some((comm.clone(), *time_ns)),
            _ => None,
        })
        .expect("an Exec record for the child");
    let exe_name = exe.file_name().expect("file name").as_bytes();
    assert_eq!(exec.0, &exe_name[..exe_name.len().min(15)]);
    let mmap_of = |want: &dyn Fn(&std::path::Path) -> bool| {
        child.iter().find_map(|r| match r {
            TaskRecord::Mmap {
                path,
                inode,
                time_ns,
                len,
                ..
            } if want(path) => Some((*inode, *time_ns, *len)),
            _ => None,
        })
    };
    let binary = mmap_of(&|p| p == exe).expect("an Mmap of the binary");
    let file_name = |p: &std::path::Path| p.file_name().map(|n| n.as_bytes().to_vec());
    let ld_so = mmap_of(&|p| file_name(p).is_some_and(|n| n.starts_with(b"ld-linux")))
        .expect("an Mmap of ld.so");
    let libc_so = mmap_of(&|p| {
        file_name(p).is_some_and(|n| n.starts_with(b"libc.so") || n.starts_with(b"libc-"))
    })
    .expect("an Mmap of libc");
    for (what, (inode, _, len)) in [("binary", binary), ("ld.so", ld_so), ("libc", libc_so)] {
        assert_ne!(inode, 0, "{what} mapping has an inode");
        assert!(len > 0, "{what} mapping has a length");
    }
    let exit = child
        .iter()
        .find_map(|r| match r {
            TaskRecord::Exit { time_ns, tid, .. } if *tid == child_pid => Some(*time_ns),
            _ => None,
        })
        .expect("an Exit record for the child");

    for (what, t) in [
        ("fork", fork.1),
        ("exec", exec.1),
        ("mmap", binary.1),
        ("exit", exit),
    ] {
        assert!(
            t + 5_000_000_000 >= before && t <= now,
            "{what} time {t} not within CLOCK_MONOTONIC [{before}, {now}]"
        );
    }
    assert!(fork.1 <= exec.1, "fork {} <= exec {}", fork.1, exec.1);
    assert!(exec.1 <= binary.1, "exec {} <= mmap {}", exec.1, binary.1);
    assert!(binary.1 <= exit, "mmap {} <= exit {exit}", binary.1);
}

/// A fresh private directory under the temp dir (no tempfile dependency needed).
fn tempfile_dir() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("ringside-perf-{}-{nanos}", std::process::id()));
    std::fs::create_dir(&dir).expect("create temp dir");
    dir
}

/// Runs `exe` and waits for it; retries while another thread's fork still holds the
/// just-written file open (ETXTBSY).
fn run_to_completion(exe: &std::path::Path) -> u32 {
    for _ in 0..50 {
        match std::process::Command::new(exe).spawn() {
            Ok(mut child) => {
                let pid = child.id();
                let status = child.wait().expect("wait for the child");
                assert!(status.success(), "{exe:?} failed: {status}");
                return pid;
            }
            Err(err) if err.raw_os_error() == Some(libc::ETXTBSY) => {
                std::thread::sleep(std::time::Duration::from_millis(20));
            }
            Err(err) => panic!("spawn {exe:?}: {err}"),
        }
    }
    panic!("{exe:?} stayed busy (ETXTBSY)");
}
