//! Copies of the user registers and the top of the user stack, for userspace to unwind with the
//! binaries' unwind tables (`.eh_frame`): `bpf_get_stack` can only follow frame pointers, and
//! most system code is built without them.
//!
//! The copy goes out as its own variable-length record just before the event it belongs to, so
//! that the ring only carries the bytes that were really read, and only when copies are on.

use core::ffi::c_void;

use aya_ebpf::{
    bindings::{BPF_RB_AVAIL_DATA, BPF_RB_NO_WAKEUP, BPF_RB_RING_SIZE},
    helpers::{
        bpf_probe_read_kernel,
        generated::{
            bpf_get_current_task_btf, bpf_get_smp_processor_id, bpf_probe_read_user,
            bpf_ringbuf_output, bpf_ringbuf_query, bpf_task_pt_regs,
        },
    },
};
use ringside_common::{
    FLAG_STACK_TOP_REACHED, MAX_STACK_BYTES, USER_STACK_KIND, UserStackHeader, user_stack,
};

use crate::{
    EVENTS, USER_STACK_SCRATCH,
    kernel::{config, current_ids, now_ns},
};

/// The scratch value a copy is assembled in: header, stack bytes and the verifier's slack.
#[repr(C)]
pub struct UserStackScratch {
    header: UserStackHeader,
    bytes: [u8; MAX_STACK_BYTES as usize + ringside_common::STACK_COPY_SLACK],
}

const PAGE: u64 = 4096;
/// Pages a copy can span: the partial first page plus whole ones.
const MAX_PAGES: u32 = MAX_STACK_BYTES / PAGE as u32 + 1;

/// Offsets in x86_64 `struct pt_regs` (a fixed ABI: it is also the user-visible layout).
const PT_REGS_BP: u64 = 4 * 8;
const PT_REGS_IP: u64 = 16 * 8;
const PT_REGS_SP: u64 = 19 * 8;

/// Sends the current thread's user registers and stack when copies are on; returns what the
/// event's [`ringside_common::StackHead::snapshot`] should say.
#[inline(always)]
pub fn send() -> u32 {
    let wanted = config().stack_bytes;
    if wanted == 0 {
        return user_stack::NONE;
    }
    let ring = (&raw const EVENTS).cast_mut().cast::<c_void>();
    // Copies are large and events matter more: once half the ring waits to be read, events
    // keep the room and their stacks fall back to frame pointers (each says so, and userspace
    // counts it from the event's LOST).
    // SAFETY: `ring` is the ring buffer map; the query only reads its positions.
    let (waiting, size) = unsafe {
        (
            bpf_ringbuf_query(ring, u64::from(BPF_RB_AVAIL_DATA)),
            bpf_ringbuf_query(ring, u64::from(BPF_RB_RING_SIZE)),
        )
    };
    if waiting > size / 2 {
        return user_stack::LOST;
    }
    // SAFETY: the helper takes no arguments and cannot fail.
    let cpu = unsafe { bpf_get_smp_processor_id() };
    let Some(scratch) = USER_STACK_SCRATCH.get_ptr_mut(cpu) else {
        return user_stack::LOST;
    };
    let Some((ip, sp, bp)) = user_registers() else {
        return user_stack::LOST;
    };
    let (pid, tid) = current_ids();
    let key = user_stack::key_of(now_ns());
    // SAFETY: `scratch` is the value for this CPU (tracepoint programs never nest on a CPU and do
    // not migrate while running), large enough for one UserStackScratch.
    unsafe {
        let (len, flags) = copy_stack(&raw mut (*scratch).bytes, sp, wanted);
        let header = &raw mut (*scratch).header;
        (*header).kind = USER_STACK_KIND;
        (*header).flags = flags;
        (*header).len = len;
        (*header).pid = pid;
        (*header).tid = tid;
        (*header).key = key;
        (*header)._reserved = 0;
        (*header).ip = ip;
        (*header).sp = sp;
        (*header).bp = bp;
        let size = size_of::<UserStackHeader>() as u64 + u64::from(len);
        if size > size_of::<UserStackScratch>() as u64
            // Its event follows at once and decides whether to wake the reader.
            || bpf_ringbuf_output(
                ring,
                scratch.cast::<c_void>(),
                size,
                u64::from(BPF_RB_NO_WAKEUP),
            ) != 0
        {
            return user_stack::LOST;
        }
    }
    key
}

/// The user `ip`, `sp` and `bp` saved when the thread entered the kernel.
#[inline(always)]
fn user_registers() -> Option<(u64, u64, u64)> {
    // SAFETY: both helpers are given what they require (the current task, a BTF pointer) and
    // return a kernel address or 0; the reads go through bpf_probe_read_kernel.
    unsafe {
        let regs = bpf_task_pt_regs(bpf_get_current_task_btf()) as u64;
        if regs == 0 {
            return None;
        }
        let read = |offset: u64| bpf_probe_read_kernel((regs + offset) as *const u64).ok();
        Some((read(PT_REGS_IP)?, read(PT_REGS_SP)?, read(PT_REGS_BP)?))
    }
}

/// Copies up to `wanted` bytes from `sp` upwards, page by page so that the end of the stack
/// mapping cuts the copy short instead of failing it. Returns the bytes copied and flags.
///
/// # Safety
/// `bytes` must be valid for writes of `MAX_STACK_BYTES + STACK_COPY_SLACK` bytes.
#[inline(always)]
unsafe fn copy_stack(
    bytes: *mut [u8; MAX_STACK_BYTES as usize + ringside_common::STACK_COPY_SLACK],
    sp: u64,
    wanted: u32,
) -> (u32, u16) {
    let base = bytes.cast::<u8>();
    let wanted = wanted.min(MAX_STACK_BYTES);
    let mut copied: u32 = 0;
    let mut chunk = (PAGE - (sp & (PAGE - 1))) as u32;
    for _ in 0..MAX_PAGES {
        if copied >= wanted || copied > MAX_STACK_BYTES {
            break;
        }
        let size = chunk.min(wanted - copied).min(PAGE as u32);
        // SAFETY: copied <= MAX_STACK_BYTES and size <= PAGE, so the write stays inside the
        // buffer including its slack; the helper checks the user address.
        let failed = unsafe {
            bpf_probe_read_user(
                base.add(copied as usize).cast::<c_void>(),
                size,
                (sp + u64::from(copied)) as *const c_void,
            )
        } != 0;
        if failed {
            return (copied, FLAG_STACK_TOP_REACHED);
        }
        copied += size;
        chunk = PAGE as u32;
    }
    (copied, 0)
}
