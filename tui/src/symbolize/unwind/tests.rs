//! Unwinds this test's own stack, captured the way the probes capture a thread's: registers and
//! a copy of the stack memory above the stack pointer.

use std::hint::black_box;

use super::*;
use crate::symbolize::resolver::{Resolver, Walk};

/// Bytes copied above the stack pointer, at most: the probes' largest copy, so that a test
/// thread's whole stack fits.
const WINDOW: usize = 64 * 1024;

/// The registers at this point and a copy of the stack from the stack pointer up, clamped to
/// the end of the mapping that holds the stack.
#[inline(never)]
#[expect(
    unsafe_code,
    reason = "reads its own registers and stack, as the probes do"
)]
fn capture_here() -> UserStackCopy {
    let (ip, sp, bp): (u64, u64, u64);
    // SAFETY: only reads registers into outputs.
    unsafe {
        std::arch::asm!(
            "lea {ip}, [rip]",
            "mov {sp}, rsp",
            "mov {bp}, rbp",
            ip = out(reg) ip,
            sp = out(reg) sp,
            bp = out(reg) bp,
            options(nomem, nostack, preserves_flags),
        );
    }
    let stack_end = stack_mapping_end(sp);
    let whole = usize::try_from(stack_end - sp).unwrap_or(usize::MAX);
    let len = whole.min(WINDOW);
    // SAFETY: [sp, sp + len) lies inside this thread's stack mapping, which is readable; only
    // frames of callers live there, and they outlive this read.
    let bytes = unsafe { std::slice::from_raw_parts(sp as *const u8, len) }.to_vec();
    UserStackCopy {
        ip,
        sp,
        bp,
        bytes: bytes::Bytes::from(bytes),
        // As the probes say when their copy ran into the end of the stack mapping.
        top_reached: len == whole,
    }
}

fn stack_mapping_end(sp: u64) -> u64 {
    let maps = std::fs::read_to_string("/proc/self/maps").expect("maps");
    maps.lines()
        .filter_map(|line| {
            let (start, end) = line.split_whitespace().next()?.split_once('-')?;
            Some((
                u64::from_str_radix(start, 16).ok()?,
                u64::from_str_radix(end, 16).ok()?,
            ))
        })
        .find(|(start, end)| (*start..*end).contains(&sp))
        .map(|(_, end)| end)
        .expect("the stack pointer is in a mapping")
}

#[inline(never)]
fn innermost_caller() -> UserStackCopy {
    black_box(capture_here())
}
#[inline(never)]
fn middle_caller() -> UserStackCopy {
    black_box(innermost_caller())
}
#[inline(never)]
fn outer_caller() -> UserStackCopy {
    black_box(middle_caller())
}

/// This process's images as the symbolizer would know them.
fn own_images() -> (ProcessImages, u32) {
    let pid = std::process::id();
    let mut images = ProcessImages::new();
    images.seed(
        pid,
        &std::fs::read_to_string("/proc/self/maps").expect("maps"),
    );
    (images, pid)
}

fn frames(images: &ProcessImages, pid: u32, addrs: &[u64]) -> Vec<crate::model::frame::Frame> {
    Resolver::new(&[]).user_frames(images, pid, 1, addrs, Walk::Unwound)
}

fn symbols(images: &ProcessImages, pid: u32, addrs: &[u64]) -> Vec<String> {
    frames(images, pid, addrs)
        .iter()
        .map(|frame| frame.symbol.as_deref().unwrap_or("?").to_owned())
        .collect()
}

#[test]
fn unwinds_a_copied_stack_through_every_caller_in_order() {
    let copy = outer_caller();
    let (images, pid) = own_images();
    let mut unwinder = StackUnwinder::new(Vec::new());
    let unwound = unwinder.unwind(&images, pid, 1, &copy);
    let names = symbols(&images, pid, &unwound.addrs);
    let position = |name: &str| {
        names
            .iter()
            .position(|symbol| symbol.contains(name))
            .unwrap_or_else(|| panic!("{name} missing from {names:?}"))
    };
    assert_eq!(position("capture_here"), 0, "{names:?}");
    assert_eq!(position("innermost_caller"), 1, "{names:?}");
    assert_eq!(position("middle_caller"), 2, "{names:?}");
    assert_eq!(position("outer_caller"), 3, "{names:?}");
    assert_eq!(position("unwinds_a_copied_stack"), 4, "{names:?}");
    assert_eq!(unwound.found_by.len(), unwound.addrs.len());
    assert_eq!(unwound.found_by[0], FoundBy::Registers);
    assert!(
        unwound.found_by[1..5]
            .iter()
            .all(|how| *how == FoundBy::UnwindTable),
        "Rust code has .eh_frame: {:?}",
        unwound.found_by
    );
    // A test runs on a thread of its own: the stack ends in libc (clone3, whose unwind table
    // says it is the outermost frame; without libc's debug file it has no name).
    assert_eq!(unwound.end, StackEnd::Complete, "{names:?}");
    let outermost = frames(&images, pid, &unwound.addrs).pop().expect("frames");
    assert!(
        outermost
            .module
            .as_deref()
            .is_some_and(|m| m.contains("libc.so")),
        "{outermost:?}"
    );
}

#[test]
fn a_short_copy_says_the_window_ran_out_and_a_whole_one_that_breaks_says_it_failed() {
    let copy = outer_caller();
    let (images, pid) = own_images();
    let mut unwinder = StackUnwinder::new(Vec::new());
    let mut short = copy.clone();
    short.bytes = copy.bytes.slice(..64);
    short.top_reached = false;
    let unwound = unwinder.unwind(&images, pid, 1, &short);
    assert_eq!(unwound.end, StackEnd::WindowExhausted);
    assert!(
        !unwound.addrs.is_empty(),
        "the frames inside the window stay"
    );

    // The same bytes, but the copy claims to hold the whole stack: running out is a failure.
    short.top_reached = true;
    assert_eq!(
        unwinder.unwind(&images, pid, 1, &short).end,
        StackEnd::UnwindFailed
    );
}

#[test]
fn a_return_address_outside_every_file_mapping_ends_the_stack_as_not_code() {
    let (images, pid) = own_images();
    let mut unwinder = StackUnwinder::new(Vec::new());
    // An instruction pointer in no file mapping, as in JIT code.
    let copy = UserStackCopy {
        ip: 0x10,
        sp: 0x7000,
        bp: 0,
        bytes: bytes::Bytes::from_static(&[0; 64]),
        top_reached: false,
    };
    let unwound = unwinder.unwind(&images, pid, 1, &copy);
    assert_eq!(unwound.addrs, vec![0x10]);
    assert_eq!(unwound.end, StackEnd::NotCode);
}

#[test]
fn a_process_never_seen_cannot_be_unwound() {
    let images = ProcessImages::new();
    let mut unwinder = StackUnwinder::new(Vec::new());
    let unwound = unwinder.unwind(&images, 42, 1, &outer_caller());
    assert_eq!(unwound.end, StackEnd::ProcessUnknown);
    assert!(unwound.addrs.is_empty());
}
