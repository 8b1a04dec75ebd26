use perf_event_open_sys::bindings as sys;

use super::super::TaskRecord;
use super::super::records::parse_records;
use super::super::test_records::*;
use super::*;

#[test]
fn wrapped_record_is_reassembled() {
    let fork = record(sys::PERF_RECORD_FORK, 0, &task_body(), None);
    let lost = record(sys::PERF_RECORD_LOST, 0, &u64s(&[1, 4]), None);
    let size = 128;
    // The ring has gone round three times; `lost` (40 bytes) ends 16 bytes before the end
    // of the ring and `fork` (48 bytes) wraps around it.
    let start = 72;
    let tail = 3 * size as u64 + start as u64;
    let stream = [lost.as_slice(), fork.as_slice()].concat();
    assert!(stream.len() <= size && start + lost.len() < size);
    let mut ring = vec![0xeeu8; size];
    for (i, byte) in stream.iter().enumerate() {
        ring[(start + i) % size] = *byte;
    }
    let head = tail + stream.len() as u64;
    let (_, wrapped) = ring_segments(tail, head, size).expect("fits");
    assert_eq!(wrapped, 0..32, "the fork record wraps around the end");
    let mut bytes = Vec::new();
    // SAFETY: `ring` is a live Vec of `size` bytes that nothing else touches.
    let ok = unsafe { copy_from_ring(ring.as_ptr(), size, tail, head, &mut bytes) };
    assert!(ok);
    assert_eq!(bytes, stream);
    let mut out = Vec::new();
    assert!(parse_records(&bytes, &mut out));
    assert_eq!(out[0], TaskRecord::Lost { lost: 4 });
    assert_eq!(
        out[1],
        TaskRecord::Fork {
            pid: PID,
            ppid: 1,
            tid: TID,
            ptid: 2,
            time_ns: T + 5,
        }
    );
    assert_eq!(out.len(), 2);
    // Claiming more than the ring holds is refused.
    let mut none = Vec::new();
    // SAFETY: as above.
    let refused = unsafe { copy_from_ring(ring.as_ptr(), size, tail, tail + 129, &mut none) };
    assert!(!refused && none.is_empty());
}

#[test]
fn ring_segment_arithmetic() {
    assert_eq!(ring_segments(0, 0, 64), Some((0..0, 0..0)));
    assert_eq!(ring_segments(8, 40, 64), Some((8..40, 0..0)));
    assert_eq!(ring_segments(56, 72, 64), Some((56..64, 0..8)));
    assert_eq!(ring_segments(64, 128, 64), Some((0..64, 0..0)));
    assert_eq!(ring_segments(u64::MAX - 7, 8, 64), Some((56..64, 0..8)));
    assert_eq!(ring_segments(0, 65, 64), None);
    assert_eq!(ring_segments(10, 5, 64), None);
    assert_eq!(ring_segments(0, 0, 48), None);
}
