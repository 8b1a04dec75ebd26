//! One JSON object per event (NDJSON). The field names are a contract with users' scripts:
//! add fields freely, never rename one. README.md documents the schema.
//!
//! Events are serialized straight to the writer with static keys: building a `Value` tree per
//! event cost a third of ringside's CPU under load. Each kind's own fields are written by
//! [`details`] with the helpers in [`fields`].

mod details;
pub mod fields;
mod frames;
#[cfg(test)]
mod tests;

use serde::Serialize;
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::time::rfc3339_nanos;
use crate::model::event::Event;
use fields::text_entry;

/// An event as its JSON object; `serde_json::to_writer(out, &JsonEvent(&event))`.
pub struct JsonEvent<'a>(pub &'a Event);

/// The same object as a `Value`, for the Details pane and tests.
pub fn event_to_json(event: &Event) -> Value {
    serde_json::to_value(JsonEvent(event)).unwrap_or(Value::Null)
}

impl Serialize for JsonEvent<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let event = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("type", event.kind().name())?;
        // Only in a fleet view: one machine's events need no name.
        if let Some(host) = event.host.label() {
            map.serialize_entry("host", &*host)?;
        }
        map.serialize_entry("time", rfc3339_nanos(event.time).as_str())?;
        map.serialize_entry("pid", &event.pid)?;
        map.serialize_entry("tid", &event.tid)?;
        map.serialize_entry("ppid", &event.ppid)?;
        map.serialize_entry("uid", &event.uid)?;
        text_entry(&mut map, "comm", "comm_hex", &event.comm)?;
        map.serialize_entry("cpu", &event.cpu)?;
        if event.cgroup_id != 0 {
            map.serialize_entry("cgroup_id", &event.cgroup_id)?;
        }
        if let Some(cgroup) = &event.cgroup {
            cgroup.json_fields(&mut map)?;
        }
        details::details(&event.details, &mut map)?;
        frames::stacks(&mut map, event)?;
        map.end()
    }
}
