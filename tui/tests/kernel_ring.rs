//! Kernel tests of what the ring buffer carries: records sized to their content, read in
//! batches rather than one wakeup each, and a reader that sleeps while nothing comes.

mod support;

use support::{Ringside, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

/// The head of an open record (`ringside_common::OpenRecord`): a header, the open's fields and
/// a stack head. Its tail holds the path.
const OPEN_HEAD_BYTES: u64 = 96;
/// The ring rounds every record up to 8 bytes.
const RING_ALIGN: u64 = 8;

/// `key=N` of the summary's `ringside: ring records=N bytes=B drains=D sleeps=S woken=W`.
fn ring_read(stderr: &[String], key: &str) -> u64 {
    let line = stderr
        .iter()
        .find(|l| l.starts_with("ringside: ring "))
        .unwrap_or_else(|| panic!("no `ringside: ring` line in the summary: {stderr:?}"));
    line.split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no {key}= in {line:?}"))
}

#[test]
fn an_open_without_stacks_takes_its_head_and_its_path_and_opens_are_read_in_batches() {
    if !kernel_tests_enabled(
        "an_open_without_stacks_takes_its_head_and_its_path_and_opens_are_read_in_batches",
    ) {
        return;
    }
    const OPENS: usize = 2_000;
    let dir = scratch_dir();
    let file = dir.path().join(format!("short-{}", nonce()));
    std::fs::write(&file, b"x").expect("write the file to open");
    let path = path_string(&file);
    let pid = std::process::id().to_string();

    let ringside = Ringside::start(&["--events", "open", "--stacks", "none", "--pid", &pid]);
    for _ in 0..OPENS {
        drop(std::fs::File::open(&file).expect("open"));
    }
    let seen = ringside.wait_for_count(OPENS, |e| is_type(e, "open") && e["path"] == path);
    assert_eq!(seen, OPENS);
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);

    let [records, bytes, drains] =
        ["records", "bytes", "drains"].map(|key| ring_read(&finished.stderr, key));
    let opens = finished
        .events
        .iter()
        .filter(|e| is_type(e, "open"))
        .count() as u64;
    assert_eq!(records, opens, "without stacks, one record per event");
    // Header plus path, rounded as the ring rounds: at most twice that (the bound for
    // size classes). The fixed-size record this replaced took 5,208 bytes.
    let per_open = bytes as f64 / records as f64;
    let content = (OPEN_HEAD_BYTES + path.len() as u64).next_multiple_of(RING_ALIGN);
    assert!(
        per_open <= 2.0 * content as f64,
        "{per_open:.0} bytes per open of a {}-byte path (head and path: {content})",
        path.len()
    );
    assert!(
        per_open >= OPEN_HEAD_BYTES as f64,
        "{per_open:.0} bytes per open"
    );
    // Records are committed without a wakeup and read on a timer or past the mark: a loop of
    // opens is read a batch at a time, not one wakeup per record.
    assert!(
        drains * 4 <= records,
        "{records} records read in {drains} drains: not batched"
    );
}

/// With nothing to read for a while, the reader stops draining on its `--max-delay` timer and
/// sleeps; the probes see it asleep and the next record wakes it.
#[test]
fn an_idle_reader_sleeps_and_the_next_event_wakes_it() {
    if !kernel_tests_enabled("an_idle_reader_sleeps_and_the_next_event_wakes_it") {
        return;
    }
    use std::io::Write as _;
    use std::process::{Command, Stdio};
    let dir = scratch_dir();
    let file = dir.path().join(format!("wake-{}", nonce()));
    std::fs::write(&file, b"x").expect("write the file to open");
    let path = path_string(&file);
    // A shell that waits for a line, then becomes a `cat` of the file (same pid): the only
    // process traced, so the ring stays empty until the line is sent.
    let mut shell = Command::new("sh")
        .args(["-c", "read line; exec cat \"$0\" > /dev/null", &path])
        .stdin(Stdio::piped())
        .spawn()
        .expect("sh");
    let pid = shell.id().to_string();
    let ringside = Ringside::start(&["--events", "open", "--stacks", "none", "--pid", &pid]);
    // Far longer than the reader's 100 ms of empty drains, even on a loaded machine.
    std::thread::sleep(std::time::Duration::from_secs(3));
    let mut stdin = shell.stdin.take().expect("the shell's stdin");
    writeln!(stdin, "go").expect("wake the shell");
    ringside.wait_for("the open after the quiet", |e| {
        is_type(e, "open") && e["path"] == path
    });
    let _ = shell.wait();
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    let [sleeps, woken] = ["sleeps", "woken"].map(|key| ring_read(&finished.stderr, key));
    assert!(sleeps >= 1, "the reader never slept: {:?}", finished.stderr);
    assert!(
        woken >= 1,
        "no record woke the sleeping reader: {:?}",
        finished.stderr
    );
}
