//! Records sized to their content. A record is assembled in this CPU's scratch, its fixed head
//! first and then its tail sections (stack frames, strings), and copied into the ring buffer at
//! the length it really has: an open of a short path takes about 100 bytes, not 5 KiB.
//!
//! Every write into the scratch goes to `len & OFFSET_MASK`, with a bound on its size: that is
//! what lets the verifier prove it stays inside the scratch value.

use core::ffi::c_void;

use aya_ebpf::maps::PerCpuArray;
use aya_ebpf::{
    EbpfContext,
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_FORCE_WAKEUP, BPF_RB_NO_WAKEUP},
    helpers::generated::{
        bpf_probe_read_kernel, bpf_probe_read_kernel_str, bpf_probe_read_user,
        bpf_probe_read_user_str, bpf_ringbuf_output,
    },
};
use ringside_common::{
    ARGV_LEN, NAME_LEN, PATH_LEN, RECORD_MAX, STACK_FRAMES_LEN, Stack, StackHead,
};

pub use crate::kernel::StackKind;
use crate::{
    EVENTS, RECORD_SCRATCH,
    kernel::{config, count_drop, take_stack},
};

/// Offsets in the scratch are masked with this: a power of two above every record's length.
const OFFSET_MASK: usize = 16 * 1024 - 1;
const _: () = assert!(RECORD_MAX <= OFFSET_MASK);
/// The largest single section: a path, a filename or argv.
const SECTION_MAX: usize = PATH_LEN;
const _: () = assert!(STACK_FRAMES_LEN <= SECTION_MAX && ARGV_LEN <= SECTION_MAX);

/// This CPU's record under construction, with room for a section past any masked offset.
#[repr(C)]
pub struct RecordScratch {
    bytes: [u8; OFFSET_MASK + 1 + SECTION_MAX],
}

/// A record being assembled: the head at the start of the scratch, `len` bytes so far.
pub struct Draft {
    base: *mut u8,
    len: usize,
}

impl Draft {
    /// A draft in this CPU's scratch, and where its head `H` goes. The caller writes every
    /// field of the head: the scratch still holds the previous record.
    #[inline(always)]
    pub fn start<H>() -> Option<(Self, *mut H)> {
        Self::start_in(&RECORD_SCRATCH)
    }

    /// [`Draft::start`] in another scratch: for a probe that can run while a tracepoint program
    /// on the same CPU is in the middle of its record (a packet sent from softirq).
    #[inline(always)]
    pub fn start_in<H>(scratch: &PerCpuArray<RecordScratch>) -> Option<(Self, *mut H)> {
        let base = scratch.get_ptr_mut(0)?.cast::<u8>();
        Some((
            Self {
                base,
                len: size_of::<H>(),
            },
            base.cast::<H>(),
        ))
    }

    /// Where the next section starts, as the verifier can bound it.
    #[inline(always)]
    fn end(&self) -> *mut c_void {
        // SAFETY: the masked offset plus any section stays inside the scratch value.
        unsafe { self.base.add(self.len & OFFSET_MASK).cast::<c_void>() }
    }

    /// Appends the current user or kernel stack's frames when capture is on; returns the head
    /// that describes them.
    #[inline(always)]
    pub fn push_stack<C: EbpfContext>(&mut self, ctx: &C, which: StackKind) -> StackHead {
        // SAFETY: the destination has STACK_FRAMES_LEN bytes of room (see `end`).
        let head = unsafe { take_stack(ctx, self.end(), which) };
        self.len += head.tail_len() & (STACK_FRAMES_LEN.next_power_of_two() - 1);
        head
    }

    /// Appends the frames of a stack taken earlier (kept in a map); returns its head.
    #[inline(always)]
    pub fn push_taken_stack(&mut self, stack: *const Stack) -> StackHead {
        // SAFETY: `stack` is a map value of one Stack.
        let head = unsafe { (*stack).head };
        let frames = unsafe { (&raw const (*stack).frames).cast::<u8>() };
        if self.push_kernel(frames, head.tail_len()) {
            head
        } else {
            StackHead {
                bytes: 0,
                snapshot: head.snapshot,
            }
        }
    }

    /// Appends `len` bytes (at most [`SECTION_MAX`]) copied from kernel memory, such as a map
    /// value; `false` when the copy failed (then the section is left out).
    #[inline(always)]
    pub fn push_kernel(&mut self, src: *const u8, len: usize) -> bool {
        // SAFETY: the helper fails instead of faulting on a bad source, and `push_with` gives
        // it a destination with room for `len`.
        self.push_with(len, |dst, len| unsafe {
            bpf_probe_read_kernel(dst, len, src.cast::<c_void>())
        })
    }

    /// Appends `len` bytes (at most [`SECTION_MAX`]) copied from user memory; `false` when the
    /// copy failed (then the section is left out).
    #[inline(always)]
    pub fn push_user(&mut self, src: u64, len: usize) -> bool {
        // SAFETY: as for `push_kernel`, with the user-memory helper.
        self.push_with(len, |dst, len| unsafe {
            bpf_probe_read_user(dst, len, src as *const c_void)
        })
    }

    /// Appends `len` bytes (bounded for the verifier) that `read(destination, len)` copies,
    /// when it returns 0.
    #[inline(always)]
    fn push_with(&mut self, len: usize, read: impl FnOnce(*mut c_void, u32) -> i64) -> bool {
        let len = len & (SECTION_MAX * 2 - 1);
        if len == 0 {
            return true;
        }
        if len > SECTION_MAX {
            return false;
        }
        // The destination has SECTION_MAX bytes of room (see `end`).
        let copied = read(self.end(), len as u32) == 0;
        if copied {
            self.len += len;
        }
        copied
    }

    /// Appends a NUL-terminated string from user memory, at most `max` bytes with its NUL
    /// (`max` <= [`SECTION_MAX`]); the section is the string without the NUL. Returns what the
    /// helper did: the bytes read with the NUL, or a negative errno.
    #[inline(always)]
    pub fn push_user_str(&mut self, src: u64, max: usize) -> i64 {
        // SAFETY: the destination has SECTION_MAX >= max bytes of room; the helper fails
        // instead of faulting and always writes a NUL when it reads anything.
        let read = unsafe {
            bpf_probe_read_user_str(
                self.end(),
                max.min(SECTION_MAX) as u32,
                src as *const c_void,
            )
        };
        if read > 1 {
            self.len += ((read - 1) as usize) & (SECTION_MAX * 2 - 1);
        }
        read
    }

    /// Bytes written so far: where the next section starts.
    #[inline(always)]
    pub fn len(&self) -> usize {
        self.len
    }

    /// The byte at `offset`, written earlier (0 past what was written).
    #[inline(always)]
    pub fn byte_at(&self, offset: usize) -> u8 {
        if offset >= self.len {
            return 0;
        }
        // SAFETY: a masked offset is inside the scratch value.
        unsafe { *self.base.add(offset & OFFSET_MASK) }
    }

    /// Appends a directory entry's name from kernel memory with its NUL (at most
    /// [`NAME_LEN`] bytes); returns the bytes appended, 0 when it could not be read.
    #[inline(always)]
    pub fn push_name(&mut self, src: u64) -> usize {
        // SAFETY: the destination has SECTION_MAX >= NAME_LEN bytes of room; the helper fails
        // instead of faulting.
        let read =
            unsafe { bpf_probe_read_kernel_str(self.end(), NAME_LEN as u32, src as *const c_void) };
        if read <= 0 {
            return 0;
        }
        let read = (read as usize) & (NAME_LEN * 2 - 1);
        self.len += read;
        read
    }

    /// The record a probe left in this CPU's scratch, `len` bytes long, to go on with in the
    /// program it tail-called.
    #[inline(always)]
    pub fn resume(len: u32) -> Option<Self> {
        let base = RECORD_SCRATCH.get_ptr_mut(0)?.cast::<u8>();
        Some(Self {
            base,
            len: len as usize & OFFSET_MASK,
        })
    }

    /// Writes `value` at `offset` in the head (below 256 bytes).
    #[inline(always)]
    pub fn set_u32(&mut self, offset: u32, value: u32) {
        // SAFETY: a masked offset below 256 is inside the scratch value, 4-aligned as asked.
        unsafe {
            let at = self.base.add((offset & 0xfc) as usize).cast::<u32>();
            *at = value;
        }
    }

    /// Sets `bits` in the record header's `flags`.
    #[inline(always)]
    pub fn add_flags(&mut self, bits: u16) {
        let at = core::mem::offset_of!(ringside_common::RecordHeader, flags);
        // SAFETY: the header is at the start of the scratch value.
        unsafe {
            let flags = self.base.add(at).cast::<u16>();
            *flags |= bits;
        }
    }

    /// Copies the record into the ring buffer, waking the reader only when it takes the unread
    /// data across the mark; counts a drop under `kind` when the ring is full.
    #[inline(always)]
    pub fn send(self, kind: u16) {
        let len = self.len & OFFSET_MASK;
        let ring = (&raw const EVENTS).cast_mut().cast::<c_void>();
        // SAFETY: `len` bytes from the start of the scratch value are inside it.
        let sent = unsafe {
            bpf_ringbuf_output(ring, self.base.cast::<c_void>(), len as u64, wakeup(len))
        };
        if sent != 0 {
            count_drop(kind);
        }
    }
}

/// The flags to commit a record of `size` bytes with: no wakeup, unless it takes the unread
/// data across [`ringside_common::ProbeConfig::wakeup_bytes`]. Only the crossing wakes the
/// reader, so a burst costs one wakeup, not one per record (each is an inter-processor
/// interrupt; on a VM an exit to the hypervisor); what stays below the mark is read on
/// ringside's timer (`--max-delay`). A reader that found the ring empty for a while sleeps
/// without that timer, and the first record wakes it.
#[inline(always)]
pub fn wakeup(size: usize) -> u64 {
    if crate::kernel::reader_asleep() {
        return u64::from(BPF_RB_FORCE_WAKEUP);
    }
    let unread = EVENTS.query(u64::from(BPF_RB_AVAIL_DATA));
    let mark = u64::from(config().wakeup_bytes);
    if unread < mark && unread + size as u64 >= mark {
        u64::from(BPF_RB_FORCE_WAKEUP)
    } else {
        u64::from(BPF_RB_NO_WAKEUP)
    }
}
