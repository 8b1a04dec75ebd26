//! Symbolization: process mappings from the kernel's perf records, addresses turned into frames
//! by blazesym on a thread of its own.

pub mod images;
pub mod perf_events;
mod resolver;
mod worker;

pub use worker::{StackRequest, SymbolizerHandle, SymbolizerStats};
