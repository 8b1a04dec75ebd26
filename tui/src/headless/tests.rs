//! The `--json` path's cost per event: decoding, counting, filtering and writing an event
//! allocates nothing of its own (an event a second is cheap; hundreds of thousands are not).

use super::output::{Ndjson, Output};
use super::tally::Tally;
use crate::clock::WallClock;
use crate::filter::Filter;
use crate::ingest::Batch;
use crate::ingest::decode::{Record, decode_record};
use crate::ingest::test_records::*;
use crate::ingest::text_arena::TextArena;
use crate::model::EventKind;

/// Records as the probes write them with `--stacks none`, one process, a path each.
fn records_without_stacks(count: usize) -> Vec<Vec<u8>> {
    let no_stack = stack(&[]);
    (0..count)
        .map(|i| match i % 5 {
            0 | 1 => {
                let path = format!("/proc/{i}/status");
                let mut record = OpenFields {
                    ustack: no_stack,
                    path: buf(path.as_bytes()),
                    ..open_record()
                };
                record.head.path_len = path.len() as u32;
                open_bytes(&record)
            }
            2 => sock_bytes(&SockFields {
                ustack: no_stack,
                ..sock_record(EventKind::Connect)
            }),
            3 => tcp_close_bytes(&TcpCloseFields {
                kstack: no_stack,
                ..tcp_close_record()
            }),
            _ => exit_bytes(&ExitFields {
                ustack: no_stack,
                kstack: no_stack,
                ..exit_record()
            }),
        })
        .collect()
}

#[test]
fn json_path_makes_no_allocation_per_event() {
    const EVENTS: usize = 20_000;
    let records = records_without_stacks(EVENTS);
    let clock = WallClock::now().unwrap();
    let mut text = TextArena::default();
    let mut batch = Batch::default();
    batch.events.reserve(EVENTS);
    let mut tally = Tally::new(Filter::parse("type=open or type=connect or pid=4242").unwrap());
    let mut out = Ndjson::to(Vec::with_capacity(EVENTS * 1024));
    // The first of everything (the per-type counters, the process, the time text) is made here.
    let warm_up = decode_record(&records[0], &clock, &mut text).unwrap();
    let Record::Event(first, _) = warm_up else {
        panic!("an event record decodes to an event")
    };
    let warm = Batch {
        events: vec![first],
        ..Batch::default()
    };
    for event in tally.take(&warm, 0) {
        out.write(event).unwrap();
    }

    let allocations = crate::allocations::made_by(|| {
        for bytes in &records {
            let Ok(Record::Event(event, _)) = decode_record(bytes, &clock, &mut text) else {
                panic!("a well-formed record decodes");
            };
            batch.events.push(event);
        }
        for event in tally.take(&batch, 0) {
            assert!(out.write(event).unwrap());
        }
    });
    assert!(out.flush().unwrap());
    let written = out.into_inner();
    assert_eq!(
        written.iter().filter(|&&b| b == b'\n').count(),
        EVENTS + 1,
        "every event was written, the warm-up one too"
    );
    // What grows by doubling or by the buffer (the latency samples, the text buffers of
    // 64 KiB) allocates a few dozen times over 20,000 events; one per event would be 20,000.
    assert!(
        allocations <= (EVENTS / 100) as u64,
        "{allocations} allocations for {EVENTS} events"
    );
}
