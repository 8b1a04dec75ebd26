//! The recording format end to end: round trips, file safety, cut-short and damaged files.

use std::collections::BTreeMap;
use std::fs;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::os::unix::fs::{PermissionsExt, symlink};
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::format::{FORMAT_VERSION, MAGIC, MAX_FRAME_LEN, PREAMBLE_LEN};
use super::*;
use crate::model::event::*;
use crate::model::frame::{Fold, FoundBy, Frame, InlinedFrame, StackEnd, Stacks, Unresolved};
use crate::model::{Event, sample};

/// xorshift64*: deterministic randomness without a dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform enough in `0..n`.
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

fn header() -> Header {
    Header {
        ringside_version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: "db-7".to_string(),
        kernel: "6.12.0-1-amd64".to_string(),
        started: sample::time(),
        filter: "comm == \"postgres\" && type != open".to_string(),
        stacks: true,
    }
}

fn arc(text: &str) -> Option<Arc<str>> {
    Some(Arc::from(text))
}

/// A user and a kernel stack like the symbolizer makes, different for each `seed`.
fn stacks(seed: u64) -> Stacks {
    let user = (0..12)
        .map(|depth| match depth {
            5 => Frame::unresolved(0x7f00_0000_0000 + seed * 64, Unresolved::NoSymbols),
            _ => Frame {
                addr: 0x5555_0000_1000 + seed * 0x100 + depth * 8,
                symbol: Some(Arc::from(format!(
                    "app::server::handler_{depth}::h{seed:016x}"
                ))),
                offset: Some(depth * 4),
                module: arc("/usr/local/bin/app"),
                file: arc("/build/app/src/server.rs"),
                line: Some(100 + depth as u32),
                column: Some(9),
                inlined: if depth == 2 {
                    vec![InlinedFrame {
                        symbol: Arc::from("core::ptr::drop_in_place"),
                        file: arc("/rustc/library/core/src/ptr/mod.rs"),
                        line: Some(523),
                        column: None,
                    }]
                } else {
                    vec![]
                },
                unresolved: None,
                folded: None,
                found_by: Some(if depth == 0 {
                    FoundBy::Registers
                } else {
                    FoundBy::UnwindTable
                }),
            },
        })
        .collect();
    let kernel = [
        "do_sys_openat2",
        "__x64_sys_openat",
        "x64_sys_call",
        "do_syscall_64",
        "entry_SYSCALL_64_after_hwframe",
    ]
    .iter()
    .enumerate()
    .map(|(depth, name)| Frame {
        addr: 0xffff_ffff_8100_0000 + seed * 16 + depth as u64 * 0x40,
        symbol: arc(name),
        offset: Some(0x1d),
        folded: Fold::of_kernel_symbol(name),
        ..Frame::default()
    })
    .collect();
    Stacks {
        user,
        kernel,
        user_end: Some(if seed.is_multiple_of(2) {
            StackEnd::Complete
        } else {
            StackEnd::WindowExhausted
        }),
    }
}

fn details(i: u64) -> Details {
    let addrs = SockAddrs {
        local: Some((IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)), 40_000 + i as u16)),
        remote: Some((IpAddr::V6(Ipv6Addr::LOCALHOST), 5432)),
    };
    let sock = SockInfo {
        addrs: addrs.clone(),
        ret: if i.is_multiple_of(3) { -111 } else { 0 },
        fd: 7,
        latency_ns: 1_000 + i,
        socket: Socket::tcp(false),
    };
    match i % 7 {
        0 => Details::Exec(Exec {
            abs_filename: None,
            filename: b"/usr/bin/psql".to_vec().into(),
            filename_truncated: false,
            argv: vec![
                b"psql".to_vec().into(),
                format!("-c select {i}").into_bytes().into(),
            ],
            argv_truncated: i.is_multiple_of(2),
            argv_unreadable: i.is_multiple_of(3),
            ret: 0,
        }),
        1 => Details::Open(Open {
            abs_path: None,
            path: format!("/var/lib/postgresql/base/{i}").into_bytes().into(),
            path_truncated: false,
            dfd: -100,
            flags: 0o2_000_002,
            mode: 0o644,
            ret: if i.is_multiple_of(5) { -2 } else { 3 },
            latency_ns: 2_500,
            syscall: OpenSyscall::Openat2,
        }),
        2 => Details::Connect(sock),
        3 => Details::Accept(SockInfo {
            addrs: SockAddrs {
                local: None,
                remote: addrs.remote,
            },
            ..sock
        }),
        4 => Details::TcpClose(TcpClose {
            addrs,
            duration_ns: 9_000_000 + i,
            tx_bytes: Some(4096 * i),
            rx_bytes: None,
        }),
        5 => Details::Exit(Exit {
            status: 0x0100,
            lifetime_ns: 123_456_789,
        }),
        _ => Details::Fork(Fork {
            child_pid: 5000 + i as u32,
            clone_flags: 0x1200011,
        }),
    }
}

/// Event `i`: every kind in turn, most with stacks, some of them shared.
fn event(i: u64) -> Event {
    let mut event = sample::event(details(i));
    event.time += Duration::from_micros(i * 37);
    event.mono_ns += i * 37_000;
    event.stack_mono_ns = event.mono_ns;
    event.pid = 4000 + (i % 5) as u32;
    event.tid = event.pid + (i % 2) as u32;
    if i % 4 != 3 {
        let stacks = Arc::new(stacks(i % 9));
        event.ustack = stacks.user.iter().map(|frame| frame.addr).collect();
        event.kstack = stacks.kernel.iter().map(|frame| frame.addr).collect();
        event.stacks = Some(stacks);
    }
    // Cgroups of every shape: a service, a container, one gone before it was resolved.
    event.cgroup_id = 9_000 + i % 3;
    event.cgroup = Some(Arc::new(match i % 3 {
        0 => crate::cgroups::CgroupInfo::of_path("/system.slice/postgresql.service"),
        1 => crate::cgroups::CgroupInfo::of_path(&format!(
            "/kubepods.slice/kubepods-pod1f0a2b3c_4d5e_6f70_8192_a3b4c5d6e7f8.slice/\
             cri-containerd-{}.scope",
            "ab".repeat(32)
        )),
        _ => crate::cgroups::CgroupInfo::default(),
    }));
    event
}

/// `n` entries: events, with process metadata and drop counters among them.
fn entries(n: u64) -> Vec<Entry> {
    (0..n)
        .map(|i| match i % 10 {
            4 => Entry::Process(ProcessInfo {
                pid: 4000 + i as u32,
                ppid: 1,
                start_ns: i * 1_000,
                comm: b"postgres\xff".to_vec(),
            }),
            9 => Entry::Drops(BTreeMap::from([
                ("exec".to_string(), i),
                ("open".to_string(), i * 3),
            ])),
            _ => Entry::Event(event(i)),
        })
        .collect()
}

/// Writes `entries`, flushing after every `flush_every`; the file's length after each flush with
/// how many entries it holds then, the header's flush included.
fn write(path: &Path, entries: &[Entry], flush_every: usize) -> Vec<(u64, usize)> {
    let len = || fs::metadata(path).expect("metadata").len();
    let mut writer = RecordingWriter::create(path, false, &header()).expect("create");
    let mut flushed = vec![(len(), 0)];
    for (i, entry) in entries.iter().enumerate() {
        writer.write(entry).expect("write");
        if (i + 1) % flush_every == 0 {
            writer.flush().expect("flush");
            flushed.push((len(), i + 1));
        }
    }
    writer.finish().expect("finish");
    flushed
}

/// What a reader makes of a file: the entries it gave, then how it stopped.
struct Replay {
    entries: Vec<Entry>,
    end: Result<(), RecordingError>,
    complete: bool,
}

fn replay(path: &Path) -> Result<Replay, RecordingError> {
    let mut reader = RecordingReader::open(path)?;
    let mut entries = Vec::new();
    let end = loop {
        match reader.next_entry() {
            Ok(Some(entry)) => entries.push(entry),
            Ok(None) => break Ok(()),
            Err(error) => break Err(error),
        }
        assert!(entries.len() < 1_000_000, "the reader does not stop");
    };
    assert!(matches!(reader.next_entry(), Ok(None)), "after the end");
    Ok(Replay {
        entries,
        end,
        complete: reader.complete(),
    })
}

/// The decompressed stream of a recording.
fn stream(file: &[u8]) -> Vec<u8> {
    zstd::decode_all(&file[PREAMBLE_LEN..]).expect("decompress")
}

/// A recording file around a (decompressed) stream.
fn file_around(version: u16, stream: &[u8]) -> Vec<u8> {
    let mut file = MAGIC.to_vec();
    file.extend_from_slice(&version.to_le_bytes());
    file.extend(zstd::encode_all(stream, 3).expect("compress"));
    file
}

/// Where each frame starts in a stream, and its payload length.
fn frames(stream: &[u8]) -> Vec<(usize, usize)> {
    let mut frames = Vec::new();
    let mut at = 0;
    while at < stream.len() {
        let len = u32::from_le_bytes(stream[at..at + 4].try_into().expect("4 bytes")) as usize;
        frames.push((at, len));
        at += len + 8;
    }
    frames
}

#[test]
fn every_entry_and_the_header_come_back_as_written() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("session.ringside");
    let written = entries(400);
    write(&path, &written, 50);
    let reader = RecordingReader::open(&path).expect("open");
    assert_eq!(reader.header(), &header());
    let replay = replay(&path).expect("replay");
    assert!(replay.end.is_ok(), "{:?}", replay.end);
    assert!(replay.complete);
    assert_eq!(replay.entries.len(), written.len());
    for (i, (read, written)) in replay.entries.iter().zip(&written).enumerate() {
        assert_eq!(read, written, "entry {}", i + 1);
    }
}

#[test]
fn the_file_is_private() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("new.ringside");
    write(&path, &entries(3), 1);
    let mode = fs::metadata(&path).expect("metadata").permissions().mode();
    assert_eq!(mode & 0o7777, 0o600);

    let existing = dir.path().join("existing.ringside");
    fs::write(&existing, "old").expect("write");
    fs::set_permissions(&existing, fs::Permissions::from_mode(0o644)).expect("chmod");
    RecordingWriter::create(&existing, true, &header())
        .expect("create")
        .finish()
        .expect("finish");
    let mode = fs::metadata(&existing)
        .expect("metadata")
        .permissions()
        .mode();
    assert_eq!(mode & 0o7777, 0o600);
}

#[test]
fn an_existing_file_is_kept_unless_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("existing.ringside");
    fs::write(&path, "precious").expect("write");
    let error = RecordingWriter::create(&path, false, &header())
        .err()
        .expect("refused");
    assert!(matches!(error, RecordingError::Exists { .. }), "{error:?}");
    assert!(
        error
            .to_string()
            .contains("exists; use --force to overwrite")
    );
    assert_eq!(fs::read(&path).expect("read"), b"precious");

    let mut writer = RecordingWriter::create(&path, true, &header()).expect("forced");
    writer.write(&entries(1)[0]).expect("write");
    writer.finish().expect("finish");
    let replay = replay(&path).expect("replay");
    assert!(replay.complete);
    assert_eq!(replay.entries, entries(1));
}

#[test]
fn a_symlink_is_never_followed_even_forced() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("target");
    fs::write(&target, "precious").expect("write");
    let link = dir.path().join("link.ringside");
    symlink(&target, &link).expect("symlink");
    let dangling = dir.path().join("dangling.ringside");
    let nowhere = dir.path().join("nowhere");
    symlink(&nowhere, &dangling).expect("symlink");
    for force in [false, true] {
        for path in [&link, &dangling] {
            let error = RecordingWriter::create(path, force, &header())
                .err()
                .expect("refused");
            assert!(
                matches!(error, RecordingError::Symlink { .. }),
                "force {force}: {error:?}"
            );
            assert!(error.to_string().contains("symbolic link"), "{error}");
        }
    }
    assert_eq!(fs::read(&target).expect("read"), b"precious");
    assert!(!nowhere.exists(), "a dangling link's target was created");
    assert!(fs::symlink_metadata(&link).expect("link").is_symlink());
}

#[test]
fn a_hard_link_or_a_directory_is_not_overwritten() {
    let dir = tempfile::tempdir().expect("tempdir");
    let target = dir.path().join("target");
    fs::write(&target, "precious").expect("write");
    let link = dir.path().join("hard.ringside");
    fs::hard_link(&target, &link).expect("hard link");
    let error = RecordingWriter::create(&link, true, &header())
        .err()
        .expect("refused");
    assert!(
        matches!(error, RecordingError::NotAFile { .. }),
        "{error:?}"
    );
    assert_eq!(fs::read(&target).expect("read"), b"precious");

    let error = RecordingWriter::create(dir.path(), true, &header())
        .err()
        .expect("refused");
    assert!(
        matches!(error, RecordingError::NotAFile { .. }),
        "{error:?}"
    );
}

/// Checks what a reader made of a recording cut to `cut` bytes.
fn check_cut(path: &Path, cut: u64, full: u64, written: &[Entry], flushed: &[(u64, usize)]) {
    let must_have = flushed
        .iter()
        .filter(|(len, _)| *len <= cut)
        .map(|(_, entries)| *entries)
        .max();
    let replay = match replay(path) {
        Ok(replay) => replay,
        Err(error) => {
            assert!(
                must_have.is_none(),
                "cut at {cut}: lost the header: {error}"
            );
            assert!(
                matches!(
                    error,
                    RecordingError::CutBeforeHeader { .. }
                        | RecordingError::Truncated { frame: 0, .. }
                ),
                "cut at {cut}: {error:?}"
            );
            return;
        }
    };
    let must_have = must_have.unwrap_or_default();
    assert!(
        replay.entries.len() >= must_have,
        "cut at {cut}: {} entries, but {must_have} were flushed before it",
        replay.entries.len()
    );
    for (i, entry) in replay.entries.iter().enumerate() {
        assert_eq!(entry, &written[i], "cut at {cut}: entry {}", i + 1);
    }
    if cut == full {
        assert!(replay.end.is_ok() && replay.complete, "{:?}", replay.end);
        assert_eq!(replay.entries.len(), written.len());
    } else {
        assert!(!replay.complete, "cut at {cut} of {full}");
        let error = replay.end.expect_err("cut short");
        assert!(
            matches!(error, RecordingError::Truncated { frame, .. }
                if frame == replay.entries.len() as u64 + 1),
            "cut at {cut}: {error:?}"
        );
        assert!(error.to_string().contains("cut short"), "{error}");
    }
}

#[test]
fn a_recording_cut_at_any_byte_replays_what_was_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("whole.ringside");
    let written = entries(24);
    let flushed = write(&path, &written, 3);
    let whole = fs::read(&path).expect("read");
    let cut_path = dir.path().join("cut.ringside");
    for cut in 0..=whole.len() {
        fs::write(&cut_path, &whole[..cut]).expect("write");
        check_cut(
            &cut_path,
            cut as u64,
            whole.len() as u64,
            &written,
            &flushed,
        );
    }
}

#[test]
fn a_large_recording_cut_at_random_points_replays_what_was_flushed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("whole.ringside");
    let written = entries(3_000);
    let flushed = write(&path, &written, 97);
    let whole = fs::read(&path).expect("read");
    let cut_path = dir.path().join("cut.ringside");
    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    let mut cuts: Vec<usize> = (0..300).map(|_| rng.below(whole.len() + 1)).collect();
    // Exactly at flushes, and a byte either side.
    for &(len, _) in flushed.iter().step_by(5) {
        cuts.extend([len as usize - 1, len as usize, len as usize + 1]);
    }
    cuts.push(whole.len());
    for cut in cuts {
        fs::write(&cut_path, &whole[..cut]).expect("write");
        check_cut(
            &cut_path,
            cut as u64,
            whole.len() as u64,
            &written,
            &flushed,
        );
    }
}

#[test]
fn a_newer_format_is_refused_saying_what_it_needs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("newer.ringside");
    let mut newer = header();
    newer.ringside_version = "9.9.9".to_string();
    let mut writer = RecordingWriter::create(&path, false, &newer).expect("create");
    writer.write(&entries(1)[0]).expect("write");
    writer.finish().expect("finish");
    let mut bytes = fs::read(&path).expect("read");
    let newer_format = FORMAT_VERSION + 1;
    bytes[8..10].copy_from_slice(&newer_format.to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    let error = RecordingReader::open(&path).err().expect("refused");
    let message = error.to_string();
    assert!(
        matches!(
            error,
            RecordingError::NewerVersion {
                found,
                supported: FORMAT_VERSION,
                ..
            } if found == newer_format
        ),
        "{error:?}"
    );
    assert!(
        message.contains(&format!("format version {newer_format}")),
        "{message}"
    );
    assert!(message.contains("ringside >= 9.9.9"), "{message}");
    assert!(message.contains(env!("CARGO_PKG_VERSION")), "{message}");

    // A newer format whose header cannot be read is still refused by its version.
    bytes.truncate(PREAMBLE_LEN);
    bytes[8..10].copy_from_slice(&newer_format.to_le_bytes());
    bytes.extend_from_slice(b"something else entirely");
    fs::write(&path, &bytes).expect("write");
    let message = RecordingReader::open(&path)
        .err()
        .expect("refused")
        .to_string();
    assert!(
        message.contains(&format!("format version {newer_format}")),
        "{message}"
    );
    assert!(
        message.contains(&format!("reads format {newer_format}")),
        "{message}"
    );
}

#[test]
fn an_older_format_is_refused_naming_the_ringside_that_wrote_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("older.ringside");
    let mut older = header();
    older.ringside_version = "0.0.9".to_string();
    let mut writer = RecordingWriter::create(&path, false, &older).expect("create");
    writer.write(&entries(1)[0]).expect("write");
    writer.finish().expect("finish");
    let mut bytes = fs::read(&path).expect("read");
    bytes[8..10].copy_from_slice(&1u16.to_le_bytes());
    fs::write(&path, &bytes).expect("write");
    let error = RecordingReader::open(&path).err().expect("refused");
    assert!(
        matches!(error, RecordingError::OlderVersion { found: 1, .. }),
        "{error:?}"
    );
    let message = error.to_string();
    assert!(message.contains("format 1"), "{message}");
    assert!(message.contains("(0.0.9)"), "{message}");
    assert!(!message.contains('\n'), "one line: {message}");
}

#[test]
fn a_foreign_or_empty_file_is_not_a_recording() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("foreign");
    for (bytes, cut_short) in [
        (&b"\x7fELF\x02\x01\x01\0\0\0\0\0"[..], false),
        (b"RINGSIDF\x01\0", false),
        (b"", true),
        (b"RINGS", true),
        (b"RINGSIDE\x01", true),
    ] {
        fs::write(&path, bytes).expect("write");
        let error = RecordingReader::open(&path).err().expect("refused");
        if cut_short {
            assert!(
                matches!(error, RecordingError::CutBeforeHeader { .. }),
                "{error:?}"
            );
        } else {
            assert!(
                matches!(error, RecordingError::NotARecording { .. }),
                "{error:?}"
            );
            assert!(error.to_string().contains("not a ringside recording"));
        }
    }
}

#[test]
fn a_damaged_payload_byte_is_reported_with_its_frame() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("damaged.ringside");
    let written = entries(12);
    write(&path, &written, 4);
    let mut stream = stream(&fs::read(&path).expect("read"));
    let frames = frames(&stream);
    let (at, len) = frames[6]; // entry 6: frame 0 is the header
    stream[at + 4 + len / 2] ^= 0x20;
    fs::write(&path, file_around(FORMAT_VERSION, &stream)).expect("write");
    let replay = replay(&path).expect("the header is intact");
    assert_eq!(replay.entries, written[..5]);
    let error = replay.end.expect_err("damage");
    let message = error.to_string();
    assert!(
        matches!(&error, RecordingError::Corrupt { frame: 6, offset, reason }
            if *offset == at as u64 && reason.contains("CRC")),
        "{error:?}"
    );
    assert!(message.contains("record 6"), "{message}");
    assert!(message.contains(&format!("byte {at} of the decompressed stream")));
}

#[test]
fn a_length_over_the_limit_is_corrupt_and_not_allocated() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("long.ringside");
    write(&path, &entries(2), 1);
    let mut stream = stream(&fs::read(&path).expect("read"));
    let (at, _) = frames(&stream)[2];
    stream[at..at + 4].copy_from_slice(&(MAX_FRAME_LEN + 1).to_le_bytes());
    fs::write(&path, file_around(FORMAT_VERSION, &stream)).expect("write");
    let replay = replay(&path).expect("the header is intact");
    assert_eq!(replay.entries.len(), 1);
    let error = replay.end.expect_err("damage");
    assert!(
        matches!(&error, RecordingError::Corrupt { frame: 2, reason, .. } if reason.contains("limit")),
        "{error:?}"
    );
}

#[test]
fn random_bytes_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let whole_path = dir.path().join("whole.ringside");
    write(&whole_path, &entries(40), 7);
    let whole = fs::read(&whole_path).expect("read");
    let path = dir.path().join("random");
    let mut rng = Rng(0x2545_f491_4f6c_dd1d);
    let mut opened = 0;
    for case in 0..20_000 {
        let len = match rng.below(4) {
            0 => rng.below(16),
            1 | 2 => rng.below(512),
            _ => rng.below(8192),
        };
        let bytes = match case % 4 {
            0 => rng.bytes(len),
            1 => {
                let mut bytes = whole[..PREAMBLE_LEN].to_vec();
                bytes.extend(rng.bytes(len));
                bytes
            }
            2 => {
                // A real recording's start, then noise.
                let mut bytes = whole[..rng.below(whole.len())].to_vec();
                bytes.extend(rng.bytes(len));
                bytes
            }
            _ => {
                // A real recording with a few bytes changed.
                let mut bytes = whole.clone();
                for _ in 0..1 + rng.below(4) {
                    let at = PREAMBLE_LEN + rng.below(bytes.len() - PREAMBLE_LEN);
                    bytes[at] = rng.next() as u8;
                }
                bytes
            }
        };
        fs::write(&path, &bytes).expect("write");
        if replay(&path).is_ok() {
            opened += 1;
        }
    }
    assert!(opened > 1_000, "only {opened} cases got past the header");
}

#[test]
fn altered_payloads_with_valid_checksums_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("altered.ringside");
    let written = entries(20);
    write(&path, &written, 5);
    let original = stream(&fs::read(&path).expect("read"));
    let frames = frames(&original);
    let mut rng = Rng(0xdead_beef_cafe_f00d);
    for _ in 0..3_000 {
        let which = rng.below(frames.len());
        let (at, len) = frames[which];
        let mut payload = original[at + 4..at + 4 + len].to_vec();
        match rng.below(3) {
            0 => payload.truncate(rng.below(len + 1)),
            1 => {
                let extra = 1 + rng.below(8);
                payload.extend(rng.bytes(extra));
            }
            _ => {
                for _ in 0..1 + rng.below(3) {
                    let i = rng.below(payload.len());
                    payload[i] = rng.next() as u8;
                }
            }
        }
        let mut stream = original[..at].to_vec();
        stream.extend((payload.len() as u32).to_le_bytes());
        stream.extend(&payload);
        stream.extend(crc32fast::hash(&payload).to_le_bytes());
        stream.extend(&original[at + 8 + len..]);
        fs::write(&path, file_around(FORMAT_VERSION, &stream)).expect("write");
        let Ok(replay) = replay(&path) else {
            assert_eq!(which, 0, "only a damaged header stops the opening");
            continue;
        };
        // Frames before the altered one are intact; the altered one may still decode.
        let intact = which.saturating_sub(1);
        assert_eq!(
            replay.entries[..intact.min(replay.entries.len())],
            written[..intact.min(replay.entries.len())]
        );
        assert!(replay.entries.len() >= intact);
        if let Err(error) = replay.end {
            assert!(matches!(error, RecordingError::Corrupt { .. }), "{error:?}");
        }
    }
}

#[test]
fn error_messages_name_the_file() {
    let path = Path::new("/nonexistent/dir/x.ringside");
    let error = RecordingReader::open(path).err().expect("refused");
    assert!(matches!(error, RecordingError::Io { .. }));
    assert!(error.to_string().contains("/nonexistent/dir/x.ringside"));
    let error = RecordingWriter::create(path, false, &header())
        .err()
        .expect("refused");
    assert!(error.to_string().contains("/nonexistent/dir/x.ringside"));
}

/// Prints what a recording of 10,000 events weighs: `--nocapture` to see it.
#[test]
fn ten_thousand_events_are_compact() {
    let dir = tempfile::tempdir().expect("tempdir");
    for with_stacks in [true, false] {
        let path = dir.path().join(format!("size-{with_stacks}.ringside"));
        let mut rng = Rng(42);
        let mut writer = RecordingWriter::create(&path, false, &header()).expect("create");
        let mut stacks_pool: Vec<Arc<Stacks>> =
            (0..40).map(|seed| Arc::new(stacks(seed))).collect();
        for i in 0..10_000u64 {
            let mut event = event(rng.next() % 1_000);
            event.time = sample::time() + Duration::from_nanos(i * 13_000 + rng.next() % 10_000);
            event.mono_ns = 1_000_000 + i * 13_000 + rng.next() % 10_000;
            event.pid = 1000 + rng.below(50) as u32;
            event.tid = event.pid + rng.below(4) as u32;
            if with_stacks {
                let stacks = stacks_pool[rng.below(stacks_pool.len())].clone();
                event.ustack = stacks.user.iter().map(|frame| frame.addr).collect();
                event.kstack = stacks.kernel.iter().map(|frame| frame.addr).collect();
                event.stacks = Some(stacks);
            } else {
                event.ustack = Box::default();
                event.kstack = Box::default();
                event.stacks = None;
            }
            writer.write(&Entry::Event(event)).expect("write");
            if i % 1_000 == 999 {
                writer.flush().expect("flush");
            }
        }
        stacks_pool.clear();
        writer.finish().expect("finish");
        let size = fs::metadata(&path).expect("metadata").len();
        let stream = stream(&fs::read(&path).expect("read")).len();
        eprintln!(
            "10,000 events {} stacks: {size} bytes on disk ({} bytes/event; {} bytes/event \
             uncompressed)",
            if with_stacks { "with" } else { "without" },
            size / 10_000,
            stream / 10_000
        );
        let limit = if with_stacks { 200 } else { 60 };
        assert!(size / 10_000 < limit, "{size} bytes for 10,000 events");
    }
    let _ = std::io::stderr().flush();
}

/// A fleet view's events keep their host through a recording; one from a single machine
/// has none.
#[test]
fn events_keep_their_host_through_a_recording() {
    use crate::model::host::HostId;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fleet.ringside");
    let mut remote = event(1);
    remote.host = HostId::intern("web7");
    let local = event(2);
    let mut writer = RecordingWriter::create(&path, false, &header()).expect("create");
    for event in [&remote, &local] {
        writer.write(&Entry::of_event(event)).expect("write");
    }
    writer.finish().expect("finish");
    let replay = replay(&path).expect("replay");
    let hosts: Vec<Option<String>> = replay
        .entries
        .iter()
        .map(|entry| match entry {
            Entry::Event(event) => event.host.label().map(|label| label.to_string()),
            other => panic!("not an event: {other:?}"),
        })
        .collect();
    assert_eq!(hosts, [Some("web7".to_owned()), None]);
}

/// Format 7 changed the open and exec events: a format 6 recording is refused in one line
/// that names the ringside that wrote it, never decoded into wrong events.
#[test]
fn a_format_6_recording_is_refused_naming_its_writer() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("v6.ringside");
    write(&path, &entries(12), 4);
    let stream = stream(&fs::read(&path).expect("read"));
    fs::write(&path, file_around(6, &stream)).expect("write");
    let error = RecordingReader::open(&path).err().expect("refused");
    assert!(
        matches!(error, RecordingError::OlderVersion { found: 6, .. }),
        "{error:?}"
    );
    assert!(!error.to_string().contains('\n'), "{error}");
}
