//! ringside copes with the machine as it finds it.

mod support;

use std::process::Command;

use support::kernel_tests_enabled;

/// tracefs is not mounted at boot on many machines: ringside mounts it. The test runs in a
/// private mount namespace, so the machine's own mounts are untouched.
#[test]
fn tracefs_is_mounted_when_missing() {
    if !kernel_tests_enabled("tracefs_is_mounted_when_missing") {
        return;
    }
    let ringside = env!("CARGO_BIN_EXE_ringside");
    let script = format!(
        "umount /sys/kernel/tracing 2>/dev/null; umount /sys/kernel/debug/tracing 2>/dev/null; \
         if grep -q ' tracefs ' /proc/self/mounts; then echo still-mounted; exit 9; fi; \
         {ringside} --json --duration 1 --events exec --log-file /dev/null > /dev/null && \
         grep -q ' tracefs ' /proc/self/mounts"
    );
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare (util-linux) runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        output.status.success(),
        "status {:?}: {stderr}",
        output.status
    );
    assert!(stderr.contains("ringside: tracing ("), "{stderr}");
}

fn send(child: &std::process::Child, signal: nix::sys::signal::Signal) {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, signal).expect("signal");
}

/// SIGTERM and SIGHUP (an SSH session dropping) end a run like Ctrl-C: probes detached, the
/// summary printed, exit status 0; a recording in progress is closed whole.
#[test]
fn terminate_and_hangup_end_runs_cleanly() {
    if !kernel_tests_enabled("terminate_and_hangup_end_runs_cleanly") {
        return;
    }
    use nix::sys::signal::Signal;
    use std::process::Stdio;
    let ringside = env!("CARGO_BIN_EXE_ringside");
    let dir = support::scratch_dir();
    let file = dir.path().join("signalled.rsrec");
    let cases: Vec<(Signal, Vec<String>)> = vec![
        (
            Signal::SIGTERM,
            vec!["--json".into(), "--events".into(), "exec".into()],
        ),
        (
            Signal::SIGHUP,
            vec!["--json".into(), "--events".into(), "exec".into()],
        ),
        (
            Signal::SIGTERM,
            vec![
                "record".into(),
                "-o".into(),
                support::path_string(&file),
                "--events".into(),
                "exec".into(),
            ],
        ),
    ];
    for (signal, args) in cases {
        let mut child = Command::new(ringside)
            .args(&args)
            .args(["--log-file", "/dev/null"])
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("ringside");
        let reader = support::stderr_once_said(&mut child, "ringside: tracing", 1);
        send(&child, signal);
        let status = support::wait_for_exit(&mut child, &format!("ringside after {signal:?}"));
        let stderr = reader.join().expect("stderr");
        assert!(
            status.success(),
            "{signal:?} {args:?}: {status:?} {stderr:?}"
        );
        assert!(
            stderr
                .iter()
                .any(|l| l.starts_with("ringside: exec delivered=")),
            "{signal:?} {args:?}: no summary: {stderr:?}"
        );
    }
    let replay = Command::new(ringside)
        .args([
            "replay",
            &support::path_string(&file),
            "--json",
            "--log-file",
            "/dev/null",
        ])
        .output()
        .expect("replay");
    let stderr = String::from_utf8_lossy(&replay.stderr);
    assert!(replay.status.success(), "{stderr}");
    assert!(
        !stderr.contains("cut short") && !stderr.contains("warning"),
        "{stderr}"
    );
}

/// A tracepoint this kernel lacks (hidden here under an empty tmpfs, in a private mount
/// namespace): one warning naming it, and the run goes on with the others.
#[test]
fn a_missing_tracepoint_is_named_and_the_rest_still_runs() {
    if !kernel_tests_enabled("a_missing_tracepoint_is_named_and_the_rest_still_runs") {
        return;
    }
    use std::io::BufRead as _;
    use std::process::Stdio;
    let ringside = env!("CARGO_BIN_EXE_ringside");
    let hidden = "/sys/kernel/tracing/events/syscalls/sys_enter_openat2";
    // `unshare` and then `sh` exec ringside: the child is ringside itself, to be signalled.
    let script = format!(
        "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing; \
         mount -t tmpfs none {hidden} && \
         exec {ringside} --json --events open --log-file /dev/null"
    );
    let mut child = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("unshare runs");
    // Everything ringside prints is read, so that a busy machine's opens never block it.
    let stdout = child.stdout.take().expect("stdout");
    let (seen_tx, seen) = std::sync::mpsc::channel();
    let events = std::thread::spawn(move || {
        for line in std::io::BufReader::new(stdout)
            .lines()
            .map_while(Result::ok)
        {
            if serde_json::from_str::<serde_json::Value>(&line)
                .is_ok_and(|event| event["path"] == "/etc/hostname")
            {
                let _ = seen_tx.send(());
            }
        }
    });
    let reader = support::stderr_once_said(&mut child, "ringside: tracing", 1);
    // From the "tracing" line on, nothing is missed: one open, then wait until it comes out.
    let _ = std::fs::read("/etc/hostname");
    let opened = seen.recv_timeout(support::PATIENCE).is_ok();
    // Not `send`: should ringside have died already, its status below says more.
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT);
    let status = support::wait_for_exit(&mut child, "ringside after SIGINT");
    let stderr = reader.join().expect("stderr").join("\n");
    events.join().expect("the stdout reader");
    assert!(status.success(), "status {status:?}: {stderr}");
    let warnings: Vec<_> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("syscalls:sys_enter_openat2") && warnings[0].contains("open"),
        "{stderr}"
    );
    assert!(
        opened,
        "opens stopped with it (no open of /etc/hostname within {} s): {stderr}",
        support::PATIENCE.as_secs()
    );
}
