//! Each event's stack key, looked up by the shared symbolized stacks it points to: a stack is
//! turned into its key once, however many events share it, and a key is a small number.

use std::collections::HashMap;
use std::sync::{Arc, Weak};

use super::stack_key::{FrameKey, Grouping, StackKey};
use crate::model::Event;
use crate::model::frame::Stacks;

/// A stack key's number; stable until the grouping changes.
pub type KeyId = u32;

const PENDING: KeyId = 0;
const MISSING: KeyId = 1;

/// A stack key and what the views say about it.
pub struct KeyInfo {
    pub key: StackKey,
    /// The innermost interesting frame: the first frame outside the kernel, libc and the
    /// loader (one with a symbol before a stripped binary's); failing that the innermost user
    /// frame, then the innermost frame. For the placeholders, `[unsymbolized]` or
    /// `[no stack]`.
    pub frame: Option<FrameKey>,
    /// The first frame outward with another name, skipping libc and the loader when it can.
    pub caller: Option<FrameKey>,
    /// `frame`'s number: the failures view groups by it.
    pub frame_id: u32,
}

pub struct StackKeys {
    grouping: Grouping,
    infos: Vec<KeyInfo>,
    ids: HashMap<StackKey, KeyId>,
    /// By the address of the shared stacks. The `Weak` keeps that allocation from being reused
    /// for other stacks while the entry lives, so an address found here is the same stacks.
    by_stacks: HashMap<usize, (Weak<Stacks>, KeyId)>,
    frame_ids: HashMap<Option<FrameKey>, u32>,
    /// The last lookup: neighbouring events mostly share a stack.
    last: Option<(usize, KeyId)>,
    /// The most frames a stack keyed had before the grouping cut it: where `+` stops.
    deepest: usize,
}

impl StackKeys {
    pub fn new(grouping: Grouping) -> Self {
        let mut keys = Self {
            grouping,
            infos: Vec::new(),
            ids: HashMap::new(),
            by_stacks: HashMap::new(),
            frame_ids: HashMap::new(),
            last: None,
            deepest: 0,
        };
        let pending = keys.intern(StackKey::Pending);
        let missing = keys.intern(StackKey::Missing);
        debug_assert_eq!((pending, missing), (PENDING, MISSING));
        keys
    }

    pub fn grouping(&self) -> Grouping {
        self.grouping
    }

    /// How many distinct keys have been seen.
    pub fn len(&self) -> usize {
        self.infos.len()
    }

    /// The most frames any stack keyed so far had, whole.
    pub fn deepest(&self) -> usize {
        self.deepest
    }

    pub fn info(&self, id: KeyId) -> &KeyInfo {
        &self.infos[id as usize]
    }

    /// The key of an event's stack under this grouping.
    pub fn id_of(&mut self, event: &Event) -> KeyId {
        let Some(stacks) = &event.stacks else {
            return if event.ustack.is_empty() && event.kstack.is_empty() {
                MISSING
            } else {
                PENDING
            };
        };
        let address = Arc::as_ptr(stacks) as usize;
        if let Some((last, id)) = self.last
            && last == address
        {
            return id;
        }
        let id = match self.by_stacks.get(&address) {
            Some(&(_, id)) => id,
            None => {
                let (key, depth) = StackKey::with_depth(stacks, self.grouping);
                self.deepest = self.deepest.max(depth);
                let id = self.intern(key);
                self.by_stacks.insert(address, (Arc::downgrade(stacks), id));
                id
            }
        };
        self.last = Some((address, id));
        id
    }

    /// The id of a key, giving it one if it is new.
    pub fn intern(&mut self, key: StackKey) -> KeyId {
        if let Some(&id) = self.ids.get(&key) {
            return id;
        }
        let (frame, caller) = match key.placeholder() {
            // A frame of its own, so that failures without a stack yet and without any stack
            // are told apart.
            Some(placeholder) => (Some(placeholder_frame(placeholder)), None),
            None => interesting_frames(key.frames()),
        };
        let next_frame_id = u32::try_from(self.frame_ids.len()).unwrap_or(u32::MAX);
        let frame_id = *self.frame_ids.entry(frame.clone()).or_insert(next_frame_id);
        let id = KeyId::try_from(self.infos.len()).unwrap_or(KeyId::MAX);
        self.infos.push(KeyInfo {
            key: key.clone(),
            frame,
            caller,
            frame_id,
        });
        self.ids.insert(key, id);
        id
    }

    /// Forgets the stacks no event holds any more; their keys keep their ids.
    pub fn prune(&mut self) {
        self.by_stacks
            .retain(|_, (stacks, _)| stacks.strong_count() > 0);
        self.last = None;
    }
}

fn placeholder_frame(name: &'static str) -> FrameKey {
    FrameKey {
        name: name.into(),
        file: None,
        kernel: false,
        in_libc: false,
        named: false,
    }
}

/// The innermost interesting frame of a key's frames (innermost first), and its caller.
fn interesting_frames(frames: &[FrameKey]) -> (Option<FrameKey>, Option<FrameKey>) {
    let chosen = frames
        .iter()
        .position(|f| f.interesting() && f.named)
        .or_else(|| frames.iter().position(FrameKey::interesting))
        .or_else(|| frames.iter().position(|f| !f.kernel))
        .or(if frames.is_empty() { None } else { Some(0) });
    let Some(index) = chosen else {
        return (None, None);
    };
    let frame = &frames[index];
    // A stripped binary's frames all bear its name: the caller is the next other one.
    let mut outer = frames[index + 1..].iter().filter(|f| f.name != frame.name);
    let caller = outer
        .clone()
        .find(|f| f.interesting())
        .or_else(|| outer.next())
        .cloned();
    (Some(frame.clone()), caller)
}
