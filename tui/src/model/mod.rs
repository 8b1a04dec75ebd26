//! Domain types: what ringside knows about events and processes. No I/O, no rendering.

pub mod comm;
pub mod dns_names;
pub mod event;
pub mod frame;
pub mod host;
pub mod names;
#[cfg(test)]
pub mod sample;
pub mod tcp;
pub mod text;
pub mod user_stack;

pub use event::{Event, EventKind, Group};

/// An event's place in the TUI's store: stable while the event is kept, never reused.
pub type EventId = u64;
