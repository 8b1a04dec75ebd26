//! The bounded event store: the newest `capacity` events, each with a stable id, plus the list
//! of ids the current view shows. Eviction is oldest first.

use std::collections::VecDeque;

use crate::model::Event;

pub type EventId = u64;

pub struct EventStore {
    events: VecDeque<Event>,
    /// Id of `events[0]`.
    first_id: EventId,
    capacity: usize,
    /// Events dropped to stay within `capacity` (shown, so nothing goes silently).
    pub evicted: u64,
}

impl EventStore {
    pub fn new(capacity: usize) -> Self {
        Self {
            events: VecDeque::new(),
            first_id: 0,
            capacity: capacity.max(1),
            evicted: 0,
        }
    }

    /// Appends and returns the new event's id.
    pub fn push(&mut self, event: Event) -> EventId {
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.first_id += 1;
            self.evicted += 1;
        }
        self.events.push_back(event);
        self.next_id() - 1
    }

    pub fn get(&self, id: EventId) -> Option<&Event> {
        let index = id.checked_sub(self.first_id)?;
        self.events.get(usize::try_from(index).ok()?)
    }

    pub fn get_mut(&mut self, id: EventId) -> Option<&mut Event> {
        let index = id.checked_sub(self.first_id)?;
        self.events.get_mut(usize::try_from(index).ok()?)
    }

    pub fn first_id(&self) -> EventId {
        self.first_id
    }

    /// The id the next event will get.
    pub fn next_id(&self) -> EventId {
        self.first_id + self.events.len() as u64
    }

    pub fn len(&self) -> usize {
        self.events.len()
    }

    pub fn iter(&self) -> impl Iterator<Item = (EventId, &Event)> {
        (self.first_id..).zip(self.events.iter())
    }
}
