//! Giving freed heap back to the kernel. glibc's malloc keeps what a burst freed (the user
//! stack copies a storm queued for unwinding, the addresses of events waiting for their
//! symbols) in its arenas, where it stays resident for as long as ringside runs; `malloc_trim`
//! returns their free pages. The static build's mimalloc does this by itself.

/// Returns the heap's free pages to the kernel; cheap when there are none.
#[cfg(target_env = "gnu")]
pub fn give_back_freed() {
    #[expect(
        unsafe_code,
        reason = "malloc_trim is a C function; it only releases memory malloc holds as free"
    )]
    // SAFETY: malloc_trim takes no pointers and is thread-safe (it locks each arena).
    unsafe {
        libc::malloc_trim(0);
    }
}

#[cfg(not(target_env = "gnu"))]
pub fn give_back_freed() {}
