//! Every event kind is wired through: a probe record decodes to it, a probe attachment serves
//! it, a tab and a `type=` group show it, its JSON `type` names it, a recording keeps it.
//!
//! A new kind in `ringside_common::kinds` fails to compile in `test_records::record_of` (its
//! `match`) until it has a record, then fails here at run time for whatever it still lacks.

use std::time::SystemTime;

use crate::app::Tab;
use crate::app::processes::ProcessTable;
use crate::clock::WallClock;
use crate::filter::Filter;
use crate::ingest::decode::decode;
use crate::ingest::test_records::*;
use crate::model::{Event, EventKind, Group};
use crate::output::json::event_to_json;
use crate::probes::attachments;
use crate::recording::{Entry, RecordingReader, RecordingWriter, session_header};

/// A record of `kind` as the probes write it, with a user stack wherever the record has one.
fn sample_record(kind: EventKind) -> Vec<u8> {
    record_of(kind, Some(stack(&[0x401000, 0x402000])), None)
}

fn sample_event(kind: EventKind) -> Event {
    let clock = WallClock::now().expect("clock");
    decode(&sample_record(kind), &clock).unwrap_or_else(|e| panic!("{kind:?}: {e}"))
}

fn filter_matches(text: &str, event: &Event) -> bool {
    let filter = Filter::parse(text).unwrap_or_else(|e| panic!("`{text}`: {e}"));
    filter.matches(event, &ProcessTable::default())
}

/// `event` written to a recording and read back.
fn recorded(event: &Event) -> Event {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("kind.ringside");
    let header = session_header("", true).expect("session header");
    let mut writer = RecordingWriter::create(&path, false, &header).expect("create");
    writer.write(&Entry::Event(event.clone())).expect("write");
    writer.finish().expect("finish");
    let mut reader = RecordingReader::open(&path).expect("open");
    match reader.next_entry().expect("read") {
        Some(Entry::Event(event)) => event,
        other => panic!("expected the event back, read {other:?}"),
    }
}

#[test]
fn every_kind_is_wired_through() {
    for kind in EventKind::ALL {
        let event = sample_event(kind);
        assert_eq!(
            event.kind(),
            kind,
            "a {kind:?} record decodes to a {kind:?} event"
        );
        assert_eq!(
            !event.ustack.is_empty(),
            kind.carries_user_stack(),
            "{kind:?}: the decoder reads a user stack exactly when the kind carries one"
        );

        assert!(
            attachments::all().any(|a| a.serves.contains(&kind)),
            "{kind:?}: a probe attachment serves it"
        );

        let tabs: Vec<Tab> = Tab::ALL
            .into_iter()
            .filter(|&tab| tab != Tab::All && tab.shows(kind))
            .collect();
        assert_eq!(
            tabs,
            [Tab::of_group(kind.group())],
            "{kind:?}: one tab shows it"
        );

        assert!(filter_matches(&format!("type={}", kind.name()), &event));
        for group in Group::ALL {
            assert_eq!(
                filter_matches(&format!("type={}", group.name()), &event),
                group == kind.group(),
                "{kind:?}: type={} matches it exactly when it is its group",
                group.name()
            );
        }

        let json = event_to_json(&event);
        assert_eq!(json["type"], kind.name(), "{kind:?}: its JSON type");
        let named = json["type"].as_str().and_then(EventKind::from_name);
        assert_eq!(named, Some(kind), "{kind:?}: its JSON type names it back");

        assert_eq!(recorded(&event), event, "{kind:?}: a recording keeps it");
    }
}

#[test]
fn wire_values_name_each_kind_once() {
    for kind in EventKind::ALL {
        assert_eq!(EventKind::from_wire(kind.wire()), Some(kind));
        assert_eq!(EventKind::ALL[kind.index()], kind);
        assert!(
            u32::from(kind.wire()) < ringside_common::KIND_SLOTS,
            "{kind:?}: the probes have a drop counter for it"
        );
    }
    assert_eq!(EventKind::from_wire(0), None);
    assert_eq!(
        EventKind::from_wire(ringside_common::USER_STACK_KIND),
        None,
        "the user stack copy is a record kind, not an event kind"
    );
}

/// Each kind's event as the recording encodes it, pinned under the format's version: a kind
/// added, or a field changed, changes these bytes, and the snapshot (named after
/// `FORMAT_VERSION`) says to bump the version before the new bytes are accepted.
#[test]
fn the_recording_format_of_every_kind_is_pinned_to_its_version() {
    use crate::recording::format::FORMAT_VERSION;

    let mut text = String::from(
        "A change below changes the recording format: bump FORMAT_VERSION in \
         tui/src/recording/format.rs, then accept the new snapshot.\n",
    );
    for kind in EventKind::ALL {
        let mut event = sample_event(kind);
        event.time = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(1_800_000_000);
        let bytes = postcard::to_allocvec(&Entry::Event(event)).expect("encodes");
        text.push_str(&format!(
            "{}: {}\n",
            kind.name(),
            crate::output::json::fields::hex(&bytes)
        ));
    }
    insta::assert_snapshot!(format!("recording_format_v{FORMAT_VERSION}"), text);
}
