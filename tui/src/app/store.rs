//! The bounded event store: the newest `capacity` events, each with a stable id, plus the list
//! of ids the current view shows. Eviction is oldest first.

use std::collections::VecDeque;

use crate::model::{Event, EventId};

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
    pub fn push(&mut self, mut event: Event) -> EventId {
        // Kept for long: its text must not hold its whole batch's buffer.
        event.own_text();
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.first_id += 1;
            self.evicted += 1;
        } else if self.events.len() == self.events.capacity() {
            // Doubling, but never past the bound: a million events must not pay for 2^20
            // slots.
            let len = self.events.len();
            let target = (len * 2).max(1024).min(self.capacity);
            self.events.reserve_exact(target - len);
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::*;
    use crate::model::sample::event;

    fn fork() -> Event {
        event(Details::Fork(Fork {
            child_pid: 1,
            clone_flags: 0,
        }))
    }

    #[test]
    fn the_oldest_events_go_first_and_are_counted() {
        let mut store = EventStore::new(1000);
        for _ in 0..1500 {
            store.push(fork());
        }
        assert_eq!(
            (store.len(), store.evicted, store.first_id()),
            (1000, 500, 500)
        );
        assert!(store.get(499).is_none() && store.get(500).is_some() && store.get(1500).is_none());
    }

    #[test]
    fn capacity_grows_to_the_bound_not_past_it() {
        let mut store = EventStore::new(5000);
        for _ in 0..5000 {
            store.push(fork());
        }
        assert!(
            store.events.capacity() < 8192,
            "{}",
            store.events.capacity()
        );
    }
}
