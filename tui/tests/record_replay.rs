//! Record a live workload, replay it, and compare with what a live `--json` run saw of the
//! same workload: the same events with the same stacks. Replaying needs no privileges.

mod support;

use std::collections::BTreeSet;
use std::process::{Command, Stdio};

use serde_json::Value;
use support::fixtures::fixtures;
use support::{Ringside, kernel_tests_enabled, nonce, path_string, scratch_dir};

/// What must match between live and replayed: identity, fields and the symbols of the stack.
fn key(event: &Value) -> String {
    let symbols: Vec<&str> = event["ustack"]
        .as_array()
        .map(|frames| frames.iter().filter_map(|f| f["symbol"].as_str()).collect())
        .unwrap_or_default();
    format!(
        "{} {} {} {} {} {:?}",
        event["type"], event["pid"], event["path"], event["filename"], event["ret"], symbols
    )
}

#[test]
fn a_recording_replays_the_same_events_and_stacks_as_live() {
    if !kernel_tests_enabled("a_recording_replays_the_same_events_and_stacks_as_live") {
        return;
    }
    let program = &fixtures().c;
    let dir = scratch_dir();
    let file = dir.path().join(format!("session-{}.rsrec", nonce()));
    let args = ["--events", "exec,open,exit", "--comm", "nested-c"];
    let mut recorder = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .args([
            "record",
            "-o",
            &path_string(&file),
            "--log-file",
            "/dev/null",
        ])
        .args(args)
        .stderr(Stdio::piped())
        .spawn()
        .expect("ringside record");
    // The recorder says when it traces, like the live run: wait for that line.
    let recorder_err = recorder.stderr.take().expect("stderr");
    let (started_tx, started) = std::sync::mpsc::channel();
    let collected = std::thread::spawn(move || {
        let mut lines = Vec::new();
        for line in
            std::io::BufRead::lines(std::io::BufReader::new(recorder_err)).map_while(Result::ok)
        {
            if line.starts_with("ringside: tracing") {
                let _ = started_tx.send(());
            }
            lines.push(line);
        }
        lines
    });
    let live = Ringside::start(&args);
    if started.recv_timeout(support::PATIENCE).is_err() {
        let _ = recorder.kill();
        let _ = recorder.wait();
        panic!(
            "the recorder did not start tracing within {} s: {:?}",
            support::PATIENCE.as_secs(),
            collected.join().unwrap_or_default()
        );
    }
    let mut markers = Vec::new();
    for marker in ["a", "b", "c"] {
        let path = path_string(&dir.path().join(format!("{marker}-{}", nonce())));
        let status = Command::new(program)
            .env_remove("LD_LIBRARY_PATH")
            .args(["open", &path])
            .status()
            .expect("fixture");
        assert!(status.success());
        markers.push(path);
    }
    // The fixtures have exited, so their events are all in both rings, and each run writes out
    // what its ring holds before it exits on SIGINT: nothing to sleep for. The live run is
    // still asked for the marker opens, so that one that misses them fails here, by name.
    for path in &markers {
        live.wait_for("a marker open, live", |e| e["path"] == path.as_str());
    }
    let live = live.stop();
    let pid = nix::unistd::Pid::from_raw(recorder.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).expect("stop the recorder");
    let status = support::wait_for_exit(&mut recorder, "the recorder after SIGINT");
    let recorder_err = collected.join().expect("stderr reader");
    assert!(status.success(), "{recorder_err:?}");
    assert!(
        recorder_err
            .iter()
            .any(|l| l.starts_with("ringside: recorded ")),
        "{recorder_err:?}"
    );
    let mode = std::fs::metadata(&file).expect("recording").permissions();
    assert_eq!(
        std::os::unix::fs::PermissionsExt::mode(&mode) & 0o777,
        0o600
    );

    // Replay as an unprivileged user, from a copy it may read.
    let copy = dir.path().join("readable.rsrec");
    std::fs::copy(&file, &copy).expect("copy");
    std::fs::set_permissions(&copy, std::os::unix::fs::PermissionsExt::from_mode(0o644))
        .expect("chmod");
    std::fs::set_permissions(
        dir.path(),
        std::os::unix::fs::PermissionsExt::from_mode(0o755),
    )
    .expect("chmod");
    let replay = Command::new("setpriv")
        .args([
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
            "--inh-caps=-all",
        ])
        .arg(env!("CARGO_BIN_EXE_ringside"))
        .args([
            "replay",
            &path_string(&copy),
            "--json",
            "--log-file",
            "/dev/null",
        ])
        .output()
        .expect("replay");
    assert!(
        replay.status.success(),
        "{}",
        String::from_utf8_lossy(&replay.stderr)
    );
    let replayed: Vec<Value> = String::from_utf8_lossy(&replay.stdout)
        .lines()
        .map(|line| serde_json::from_str(line).expect("replay writes JSON"))
        .collect();

    let ours = |events: &[Value]| -> BTreeSet<String> {
        events
            .iter()
            .filter(|e| e["comm"] == "nested-c")
            .map(key)
            .collect()
    };
    let (live, replayed) = (ours(&live.events), ours(&replayed));
    assert!(live.len() >= 9, "too few live events to compare: {live:?}");
    assert_eq!(replayed, live, "the replay differs from what was seen live");
    assert!(
        replayed.iter().filter(|k| k.contains("inner_open")).count() == 3,
        "the three marker opens should carry their stacks: {replayed:?}"
    );
}
