//! Stacks in JSON: `ustack` and `kstack` as frame objects, and why a user stack ends.

use serde::Serialize;
use serde::ser::{SerializeMap, SerializeSeq, Serializer};

use crate::model::event::Event;
use crate::model::frame::{Frame, InlinedFrame, Unresolved};

/// `ustack` / `kstack`: the frames, innermost first (outermost call last). Frames the
/// symbolizer has not answered for keep their address and say why.
pub fn stacks<M: SerializeMap>(map: &mut M, event: &Event) -> Result<(), M::Error> {
    let resolved = event.stacks.as_deref();
    for (key, raw, frames) in [
        ("ustack", &event.ustack, resolved.map(|s| &s.user)),
        ("kstack", &event.kstack, resolved.map(|s| &s.kernel)),
    ] {
        // Once symbolized, the frames carry the addresses (the TUI drops the raw copies).
        if raw.is_empty() && frames.is_none_or(|f| f.is_empty()) {
            continue;
        }
        match frames {
            Some(frames) => map.serialize_entry(key, &Frames(frames))?,
            None => {
                let bare: Vec<Frame> = raw
                    .iter()
                    .map(|&addr| Frame::unresolved(addr, Unresolved::TimedOut))
                    .collect();
                map.serialize_entry(key, &Frames(&bare))?;
            }
        }
    }
    // Why the user stack ends where it does, so that a short stack is never taken for a whole one.
    if let Some(end) = resolved.and_then(|s| s.user_end) {
        map.serialize_entry("ustack_end", end.as_str())?;
    }
    Ok(())
}

struct Frames<'a>(&'a [Frame]);

impl Serialize for Frames<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for frame in self.0 {
            seq.serialize_element(&JsonFrame(frame))?;
        }
        seq.end()
    }
}

/// A frame as its JSON object: `{"addr": "0x...", "symbol", "offset", "module", "file",
/// "line", "column", "inlined": [...], "unresolved", "folded", "found_by"}`, keys absent when
/// unknown. `found_by` (user frames of an unwound stack): "registers", "unwind_table" or
/// "frame_pointer".
pub struct JsonFrame<'a>(pub &'a Frame);

impl Serialize for JsonFrame<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let frame = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("addr", &format!("{:#x}", frame.addr))?;
        if let Some(symbol) = &frame.symbol {
            map.serialize_entry("symbol", symbol.as_ref())?;
        }
        if let Some(offset) = frame.offset {
            map.serialize_entry("offset", &offset)?;
        }
        if let Some(module) = &frame.module {
            map.serialize_entry("module", module.as_ref())?;
        }
        location(&mut map, frame.file.as_deref(), frame.line, frame.column)?;
        if !frame.inlined.is_empty() {
            map.serialize_entry("inlined", &Inlined(&frame.inlined))?;
        }
        if let Some(why) = frame.unresolved {
            map.serialize_entry("unresolved", why.as_str())?;
        }
        if let Some(fold) = frame.folded {
            map.serialize_entry("folded", fold.as_str())?;
        }
        if let Some(found_by) = frame.found_by {
            map.serialize_entry("found_by", found_by.as_str())?;
        }
        map.end()
    }
}

struct Inlined<'a>(&'a [InlinedFrame]);

impl Serialize for Inlined<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.0.len()))?;
        for inlined in self.0 {
            seq.serialize_element(&InlinedJson(inlined))?;
        }
        seq.end()
    }
}

struct InlinedJson<'a>(&'a InlinedFrame);

impl Serialize for InlinedJson<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let frame = self.0;
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("symbol", frame.symbol.as_ref())?;
        location(&mut map, frame.file.as_deref(), frame.line, frame.column)?;
        map.end()
    }
}

fn location<M: SerializeMap>(
    map: &mut M,
    file: Option<&str>,
    line: Option<u32>,
    column: Option<u16>,
) -> Result<(), M::Error> {
    if let Some(file) = file {
        map.serialize_entry("file", file)?;
    }
    if let Some(line) = line {
        map.serialize_entry("line", &line)?;
    }
    if let Some(column) = column {
        map.serialize_entry("column", &column)?;
    }
    Ok(())
}
