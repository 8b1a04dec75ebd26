//! The exports of a recorded fixture: a service opening a settings file through
//! `main -> start_service -> read_settings -> open` (inlined `open_settings` in between), 54
//! times failing with ENOENT, and a fork elsewhere.

use std::io::Read as _;
use std::sync::Arc;

use prost::Message as _;

use super::pprof::Profile;
use super::{Exports, StackExport};
use crate::filter::Filter;
use crate::headless::output::Output as _;
use crate::model::event::{Details, Fork, Open, OpenSyscall};
use crate::model::frame::{Frame, InlinedFrame, Stacks};
use crate::model::{Event, sample};
use crate::recording::{Entry, Header, RecordingWriter};

fn frame(symbol: &str, file: &str, line: u32) -> Frame {
    Frame {
        addr: 0x40_1000 + u64::from(line),
        symbol: Some(Arc::from(symbol)),
        file: Some(Arc::from(file)),
        line: Some(line),
        ..Frame::default()
    }
}

/// The fixture's open, innermost frame first as the symbolizer gives them.
fn settings_open() -> Event {
    let mut read_settings = frame("read_settings", "settings.c", 42);
    read_settings.inlined = vec![InlinedFrame {
        symbol: Arc::from("open_settings"),
        file: Some(Arc::from("settings.h")),
        line: Some(7),
        column: None,
    }];
    let mut event = sample::event(Details::Open(Open {
        abs_path: None,
        path: b"/etc/svc/settings.conf".to_vec().into(),
        path_truncated: false,
        dfd: -100,
        flags: 0,
        mode: 0,
        ret: -2,
        latency_ns: 1_000,
        syscall: OpenSyscall::Openat,
    }));
    event.comm = b"svc".to_vec().into();
    event.stacks = Some(Arc::new(Stacks {
        user: vec![
            frame("open", "open64.c", 41),
            read_settings,
            frame("start_service", "service.c", 120),
            frame("main", "main.c", 9),
        ],
        kernel: vec![
            Frame {
                addr: 0xffff_ffff_8140_0000,
                symbol: Some(Arc::from("do_sys_openat2")),
                ..Frame::default()
            },
            Frame {
                addr: 0xffff_ffff_8100_0000,
                symbol: Some(Arc::from("__x64_sys_openat")),
                ..Frame::default()
            },
        ],
        user_end: None,
    }));
    event
}

fn fork_elsewhere() -> Event {
    let mut event = sample::event(Details::Fork(Fork {
        child_pid: 99,
        clone_flags: 0,
    }));
    event.comm = b"bash".to_vec().into();
    event.ustack = vec![0x7000].into();
    event
}

/// A recording of the fixture, read back through the replay path into the exports.
fn exported(filter: &str, wanted: Exports) -> StackExport {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fixture.rsrec");
    let header = Header {
        ringside_version: env!("CARGO_PKG_VERSION").to_string(),
        hostname: "svc-1".to_string(),
        kernel: "6.18.0".to_string(),
        started: sample::time(),
        filter: String::new(),
        stacks: true,
    };
    let mut writer = RecordingWriter::create(&path, false, &header).expect("create");
    for _ in 0..54 {
        writer.write(&Entry::Event(settings_open())).expect("write");
    }
    writer
        .write(&Entry::Event(fork_elsewhere()))
        .expect("write");
    writer.finish().expect("finish");
    let filter = Filter::parse(filter).expect("filter");
    let mut export = StackExport::new(wanted);
    crate::replay::to_output(&path, &filter, &mut export).expect("replay");
    export
}

#[test]
fn folded_lines_are_root_first_with_kernel_frames_marked_and_the_type_at_the_leaf() {
    let export = exported("", Exports::default());
    let lines: Vec<String> = export.folded.lines().collect();
    assert_eq!(
        lines,
        [
            "bash;0x7000;fork 1",
            "svc;main;start_service;read_settings;open_settings;open;\
             __x64_sys_openat_[k];do_sys_openat2_[k];open 54",
        ]
    );
    // --filter narrows what is exported.
    let export = exported("type=fork", Exports::default());
    assert_eq!(export.folded.lines().count(), 1);
}

#[test]
fn the_pprof_profile_decodes_back_to_the_call_chain_with_labels() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.pb.gz");
    let mut export = exported(
        "",
        Exports {
            pprof: Some(out.clone()),
            ..Exports::default()
        },
    );
    export.finish(Default::default()).expect("write");
    let mut bytes = Vec::new();
    flate2::read::GzDecoder::new(std::fs::File::open(&out).expect("open"))
        .read_to_end(&mut bytes)
        .expect("gunzip");
    let profile = Profile::decode(bytes.as_slice()).expect("a profile.proto message");
    let text = |index: i64| profile.string_table[usize::try_from(index).unwrap()].as_str();
    assert_eq!(text(0), "");
    let types: Vec<&str> = profile.sample_type.iter().map(|t| text(t.r#type)).collect();
    assert!(
        types.contains(&"open") && types.contains(&"fork"),
        "{types:?}"
    );
    assert_eq!(profile.sample.len(), 55, "one sample per event");

    let open_index = types.iter().position(|t| *t == "open").unwrap();
    let sample = profile
        .sample
        .iter()
        .find(|s| s.value[open_index] == 1)
        .expect("an open sample");
    // Leaf first: each location's lines innermost first, so reversed they read root first.
    let chain: Vec<(String, String, i64)> = sample
        .location_id
        .iter()
        .rev()
        .flat_map(|id| {
            let location = &profile.location[usize::try_from(*id - 1).unwrap()];
            location.line.iter().rev().map(|line| {
                let function = &profile.function[usize::try_from(line.function_id - 1).unwrap()];
                (
                    text(function.name).to_owned(),
                    text(function.filename).to_owned(),
                    line.line,
                )
            })
        })
        .collect();
    let names: Vec<&str> = chain.iter().map(|(name, _, _)| name.as_str()).collect();
    assert_eq!(
        names,
        [
            "main",
            "start_service",
            "read_settings",
            "open_settings",
            "open",
            "__x64_sys_openat [kernel]",
            "do_sys_openat2 [kernel]"
        ]
    );
    assert!(chain.contains(&("read_settings".into(), "settings.c".into(), 42)));
    assert!(chain.contains(&("open_settings".into(), "settings.h".into(), 7)));
    let labels: Vec<(&str, &str, i64)> = sample
        .label
        .iter()
        .map(|l| (text(l.key), text(l.str), l.num))
        .collect();
    assert!(labels.contains(&("comm", "svc", 0)), "{labels:?}");
    assert!(labels.contains(&("type", "open", 0)), "{labels:?}");
    assert!(labels.contains(&("errno", "ENOENT", 0)), "{labels:?}");
    assert!(labels.contains(&("pid", "", 4242)), "{labels:?}");
}

#[test]
fn the_flame_graph_svg_names_the_call_chain() {
    let dir = tempfile::tempdir().expect("tempdir");
    let out = dir.path().join("out.svg");
    let mut export = exported(
        "",
        Exports {
            flamegraph: Some(out.clone()),
            ..Exports::default()
        },
    );
    export.finish(Default::default()).expect("write");
    let svg = std::fs::read_to_string(&out).expect("svg");
    assert!(svg.starts_with("<?xml"), "{}", &svg[..svg.len().min(80)]);
    // inferno draws `_[k]` frames in the kernel's colour, without the suffix.
    for name in ["read_settings", "start_service", "do_sys_openat2", "svc"] {
        assert!(svg.contains(name), "{name} is not in the flame graph");
    }
}
