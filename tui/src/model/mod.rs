//! Domain types: what ringside knows about events and processes. No I/O, no rendering.

pub mod comm;
pub mod event;
pub mod frame;
pub mod names;
#[cfg(test)]
pub mod sample;
pub mod tcp;
pub mod text;
pub mod user_stack;

pub use event::{Event, EventKind, Group};
