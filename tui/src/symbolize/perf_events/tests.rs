use std::os::unix::ffi::OsStrExt;

use super::*;

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

#[expect(
    unsafe_code,
    reason = "clock_gettime: the records' times are on CLOCK_MONOTONIC"
)]
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
