//! Records shared by ringside's eBPF probes and its userspace.
//!
//! Every type here is `#[repr(C)]`, `Copy`, has no `bool` and no implicit padding, and its size is
//! pinned by a `const` assertion: the kernel writes these bytes and userspace reads them, so a
//! layout change on one side only must fail to compile.
#![no_std]

pub mod config;
pub mod kinds;
pub mod records;

pub use config::*;
pub use kinds::*;
pub use records::*;
