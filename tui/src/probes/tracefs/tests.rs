use super::fixtures::SCHED_PROCESS_FORK;
use super::*;

#[test]
fn error_messages_are_one_clear_line() {
    let err = FormatError::InvalidNumber {
        line: 5,
        key: "size",
        value: "abc".into(),
    };
    assert_eq!(
        err.to_string(),
        "line 5: `size:` value \"abc\" is not a valid number"
    );
    let err = TracefsError::NotMountable {
        source: io::Error::from_raw_os_error(libc::EPERM),
    };
    assert!(
        err.to_string()
            .contains("run `mount -t tracefs tracefs /sys/kernel/tracing` as root"),
        "{err}"
    );
    let err = TracefsError::MissingTracepoint {
        category: "sched".into(),
        name: "nope".into(),
    };
    assert_eq!(
        err.to_string(),
        "tracepoint sched/nope does not exist on this kernel"
    );
    for err in [
        err.to_string(),
        TracefsError::Io {
            path: "/x/format".into(),
            source: io::Error::from_raw_os_error(libc::EACCES),
        }
        .to_string(),
    ] {
        assert!(!err.contains('\n'), "{err}");
    }
}

fn fake_tracefs(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("tempdir");
    for (rel, text) in files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
        std::fs::write(&path, text).expect("write");
    }
    dir
}

#[test]
fn reads_formats_from_a_tracefs_tree() {
    let dir = fake_tracefs(&[
        ("events/sched/sched_process_fork/format", SCHED_PROCESS_FORK),
        (
            "events/sched/broken/format",
            "name: broken\nID: 1\nformat:\n\tfield:int x;\tsize:4;\n",
        ),
    ]);
    std::fs::create_dir_all(dir.path().join("events/sched/dir_format/format")).expect("mkdir");
    let tracefs = Tracefs::new(dir.path());

    let fork = tracefs.format("sched", "sched_process_fork").expect("fork");
    assert_eq!(fork.require("child_pid").map(|f| f.offset), Ok(20));

    for (category, name) in [
        ("sched", "nope"),
        ("nope", "sched_process_fork"),
        ("..", "sched"),
        ("sched", ""),
        ("sched/..", "x"),
    ] {
        match tracefs.format(category, name) {
            Err(TracefsError::MissingTracepoint {
                category: c,
                name: n,
            }) => {
                assert_eq!((c.as_str(), n.as_str()), (category, name));
            }
            other => panic!("{category}/{name}: {other:?}"),
        }
    }
    match tracefs.format("sched", "broken") {
        Err(TracefsError::Format { path, source }) => {
            assert!(
                path.ends_with("events/sched/broken/format"),
                "{}",
                path.display()
            );
            assert_eq!(
                source,
                FormatError::MissingAttribute {
                    line: 4,
                    key: "offset"
                }
            );
        }
        other => panic!("{other:?}"),
    }
    match tracefs.format("sched", "dir_format") {
        Err(TracefsError::Io { path, .. }) => assert!(path.ends_with("dir_format/format")),
        other => panic!("{other:?}"),
    }
}

#[test]
fn find_root_takes_first_with_events() {
    let a = tempfile::tempdir().expect("tempdir");
    let b = fake_tracefs(&[("events/header_page", "")]);
    let c = fake_tracefs(&[("events/header_page", "")]);
    assert_eq!(find_root(&[a.path()]), None);
    assert_eq!(
        find_root(&[a.path(), b.path(), c.path()]),
        Some(b.path().to_path_buf())
    );
    assert_eq!(
        find_root(&[c.path(), b.path()]),
        Some(c.path().to_path_buf())
    );
}

/// Reads the real tracefs. Needs root (it may mount tracefs); skipped otherwise.
#[test]
fn live_tracefs() {
    if !nix::unistd::geteuid().is_root() {
        eprintln!("live_tracefs: skipped, not root");
        return;
    }
    let root = match ensure_mounted() {
        Ok(root) => root,
        Err(err @ TracefsError::NotMountable { .. }) => {
            eprintln!("live_tracefs: skipped, {err}");
            return;
        }
        Err(err) => panic!("{err}"),
    };
    let tracefs = Tracefs::new(root);
    let openat = tracefs
        .format("syscalls", "sys_enter_openat")
        .expect("sys_enter_openat");
    assert_eq!(openat.name, "sys_enter_openat");
    assert!(openat.require("filename").is_ok());
    assert!(openat.require("flags").is_ok());
    assert!(matches!(
        tracefs.format("syscalls", "sys_enter_no_such_call"),
        Err(TracefsError::MissingTracepoint { .. })
    ));
}
