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

/// Waits for ringside's "tracing" line on stderr; returns the rest of stderr when it exits.
fn stderr_after_start(child: &mut std::process::Child) -> std::thread::JoinHandle<Vec<String>> {
    use std::io::BufRead;
    let stderr = child.stderr.take().expect("stderr");
    let (started, wait) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.starts_with("ringside: tracing") {
                let _ = started.send(());
            }
            lines.push(line);
        }
        lines
    });
    wait.recv_timeout(std::time::Duration::from_secs(60))
        .expect("ringside started");
    reader
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
        let reader = stderr_after_start(&mut child);
        send(&child, signal);
        let status = child.wait().expect("wait");
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
    let ringside = env!("CARGO_BIN_EXE_ringside");
    let hidden = "/sys/kernel/tracing/events/syscalls/sys_enter_openat2";
    let script = format!(
        "mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing; \
         mount -t tmpfs none {hidden} && \
         {ringside} --json --duration 2 --events open --log-file /dev/null > out.ndjson & \
         sleep 1.5; cat /etc/hostname > /dev/null; wait $!"
    );
    let dir = support::scratch_dir();
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .current_dir(dir.path())
        .output()
        .expect("unshare runs");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stderr}");
    let warnings: Vec<_> = stderr.lines().filter(|l| l.contains("warning")).collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(
        warnings[0].contains("syscalls:sys_enter_openat2") && warnings[0].contains("open"),
        "{stderr}"
    );
    let events = std::fs::read_to_string(dir.path().join("out.ndjson")).expect("output");
    assert!(
        events.contains("\"path\":\"/etc/hostname\""),
        "opens stopped with it: {stderr}"
    );
}
