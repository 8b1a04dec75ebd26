//! What ringside writes for other programs: NDJSON.

pub mod json;
mod time;
