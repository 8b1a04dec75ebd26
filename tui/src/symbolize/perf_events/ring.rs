#![expect(unsafe_code, reason = "perf_event_open and its mmap'd ring buffer")]
//! One perf event per CPU and its mmap'd ring: opening it, and copying out what the kernel wrote.

use std::os::fd::{FromRawFd, OwnedFd};
use std::ptr::NonNull;
use std::sync::atomic::{AtomicU64, Ordering};

use perf_event_open_sys::bindings as sys;

use super::PerfError;

/// The byte ranges of the ring's data area holding `[tail, head)`: the second one is non-empty
/// when the data wraps around the end. `None` if more than the ring's size is claimed.
fn ring_segments(
    tail: u64,
    head: u64,
    size: usize,
) -> Option<(std::ops::Range<usize>, std::ops::Range<usize>)> {
    let avail = usize::try_from(head.wrapping_sub(tail)).ok()?;
    if size == 0 || !size.is_power_of_two() || avail > size {
        return None;
    }
    // size is a power of two, so the mask keeps the offset below it.
    let start = (tail & (size as u64 - 1)) as usize;
    let first = avail.min(size - start);
    Some((start..start + first, 0..avail - first))
}

/// Appends the ring's bytes `[tail, head)` to `out`, reassembling data that wraps around the
/// end. Returns `false` (copying nothing) if `head - tail` exceeds `size`.
///
/// # Safety
/// `data` must point to `size` readable bytes that stay mapped for the call, and nobody may
/// write the bytes of `[tail, head)` during the call (the kernel does not write them until we
/// publish a data_tail past them).
unsafe fn copy_from_ring(
    data: *const u8,
    size: usize,
    tail: u64,
    head: u64,
    out: &mut Vec<u8>,
) -> bool {
    let Some((first, second)) = ring_segments(tail, head, size) else {
        return false;
    };
    for range in [first, second] {
        if range.is_empty() {
            continue;
        }
        // SAFETY: `range` lies within `0..size` (ring_segments), `data` points to `size`
        // readable bytes, and by the caller's contract nobody writes these bytes meanwhile.
        let bytes =
            unsafe { std::slice::from_raw_parts(data.wrapping_add(range.start), range.len()) };
        out.extend_from_slice(bytes);
    }
    true
}

/// One perf event and its mapping: a metadata page, then `data_size` bytes of ring.
pub(super) struct Ring {
    pub(super) cpu: u32,
    /// Closed on drop (after the munmap in `Drop for Ring`).
    _fd: OwnedFd,
    base: NonNull<u8>,
    map_len: usize,
    page_size: usize,
    data_size: usize,
    /// The position we have consumed up to (we are the only writer of data_tail).
    tail: u64,
}

// SAFETY: the mapping is owned by this Ring alone and only accessed through `&mut self` or
// atomics; nothing ties it to the thread that created it.
unsafe impl Send for Ring {}

impl Ring {
    fn control(&self, offset: usize) -> &AtomicU64 {
        // SAFETY: the metadata page (struct perf_event_mmap_page) is mapped read-write for as
        // long as `self` lives; data_head (offset 1024) and data_tail (1032) are 8-byte aligned
        // within the page-aligned mapping; the kernel accesses both only atomically
        // (smp_store_release / READ_ONCE), so treating them as AtomicU64 races with nothing.
        unsafe { AtomicU64::from_ptr(self.base.as_ptr().wrapping_add(offset).cast::<u64>()) }
    }

    /// Copies everything the kernel has written since the last call into `scratch` (cleared
    /// first) and hands the space back to the kernel. `false` if the ring state is corrupt, in
    /// which case it is skipped to the current head.
    pub(super) fn read(&mut self, scratch: &mut Vec<u8>) -> bool {
        scratch.clear();
        let head = self
            .control(std::mem::offset_of!(sys::perf_event_mmap_page, data_head))
            .load(Ordering::Acquire);
        if head == self.tail {
            return true;
        }
        // The data area: `data_size` bytes right after the metadata page
        // (map_len = page_size + data_size).
        let data = self.base.as_ptr().wrapping_add(self.page_size);
        // SAFETY: `data` points to `data_size` readable bytes mapped while `self` lives, and the
        // kernel never writes `[tail, head)` before we store a data_tail beyond it (below).
        let ok = unsafe { copy_from_ring(data, self.data_size, self.tail, head, scratch) };
        // Release: our reads of the data are done before the kernel may overwrite it.
        self.control(std::mem::offset_of!(sys::perf_event_mmap_page, data_tail))
            .store(head, Ordering::Release);
        self.tail = head;
        ok
    }
}

impl Drop for Ring {
    fn drop(&mut self) {
        // SAFETY: `base`/`map_len` are exactly what mmap returned and asked for, and no
        // reference into the mapping outlives `self`. The fd closes afterwards (OwnedFd).
        unsafe {
            libc::munmap(self.base.as_ptr().cast(), self.map_len);
        }
    }
}

fn page_size() -> usize {
    // SAFETY: sysconf has no preconditions; it only reads a system constant.
    let size = unsafe { libc::sysconf(libc::_SC_PAGESIZE) };
    usize::try_from(size)
        .ok()
        .filter(|&s| s > 0)
        .unwrap_or(4096)
}

/// The perf_event_attr for the side-band-only dummy event.
fn task_attr() -> sys::perf_event_attr {
    let mut attr = sys::perf_event_attr {
        type_: sys::PERF_TYPE_SOFTWARE,
        size: std::mem::size_of::<sys::perf_event_attr>() as u32,
        config: u64::from(sys::PERF_COUNT_SW_DUMMY),
        sample_type: u64::from(sys::PERF_SAMPLE_TID | sys::PERF_SAMPLE_TIME),
        clockid: libc::CLOCK_MONOTONIC,
        ..Default::default()
    };
    attr.set_mmap(1);
    attr.set_mmap2(1);
    attr.set_comm(1);
    attr.set_comm_exec(1);
    attr.set_task(1);
    attr.set_sample_id_all(1);
    attr.set_use_clockid(1);
    attr
}

/// Opens the dummy event on `cpu` for all processes and maps `1 + pages` pages of ring.
pub(super) fn open_ring(cpu: u32, pages: usize) -> Result<Ring, PerfError> {
    let page_size = page_size();
    let data_size = pages
        .checked_mul(page_size)
        .ok_or(PerfError::Pages(pages))?;
    let map_len = data_size
        .checked_add(page_size)
        .ok_or(PerfError::Pages(pages))?;
    let mut attr = task_attr();
    let cpu_arg = libc::c_int::try_from(cpu).map_err(|_| PerfError::Open {
        cpu,
        err: std::io::Error::from_raw_os_error(libc::EINVAL),
    })?;
    // SAFETY: `attr` is a fully initialized perf_event_attr whose size field matches its
    // type; a dummy software event only produces side-band records and changes nothing.
    let fd = unsafe {
        perf_event_open_sys::perf_event_open(
            &mut attr,
            -1,
            cpu_arg,
            -1,
            libc::c_ulong::from(sys::PERF_FLAG_FD_CLOEXEC),
        )
    };
    if fd < 0 {
        let err = std::io::Error::last_os_error();
        return Err(PerfError::Open { cpu, err });
    }
    // SAFETY: `fd` was just returned by perf_event_open and is owned by nothing else.
    let fd = unsafe { OwnedFd::from_raw_fd(fd) };
    // SAFETY: a fresh shared mapping chosen by the kernel (null hint) of a perf fd we own;
    // it does not alias any Rust object.
    let base = unsafe {
        libc::mmap(
            std::ptr::null_mut(),
            map_len,
            libc::PROT_READ | libc::PROT_WRITE,
            libc::MAP_SHARED,
            std::os::fd::AsRawFd::as_raw_fd(&fd),
            0,
        )
    };
    if base == libc::MAP_FAILED {
        let err = std::io::Error::last_os_error();
        return Err(PerfError::Mmap {
            cpu,
            bytes: map_len,
            err,
        });
    }
    let Some(base) = NonNull::new(base.cast::<u8>()) else {
        return Err(PerfError::Mmap {
            cpu,
            bytes: map_len,
            err: std::io::Error::from_raw_os_error(libc::EFAULT),
        });
    };
    Ok(Ring {
        cpu,
        _fd: fd,
        base,
        map_len,
        page_size,
        data_size,
        tail: 0,
    })
}

#[cfg(test)]
mod tests;
