//! Pairs user stack copies with their events. The probes send a copy just before its event, so
//! a copy waits here for at most a few records (an exec's copy waits for the exec to finish).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ringside_common::user_stack;

use crate::model::Event;
use crate::model::user_stack::{UserCopy, UserStackCopy};

/// Copies kept waiting for their event; older ones belonged to events that were dropped or
/// filtered out. At the default 16 KiB per copy this bounds the wait to 16 MiB.
const WAITING_MAX: usize = 1024;

#[derive(Debug, Default)]
pub struct UserCopies {
    /// By key: (pid, copy).
    waiting: HashMap<u32, (u32, Arc<UserStackCopy>)>,
    /// Keys in arrival order, to forget the oldest first.
    arrival: VecDeque<u32>,
}

impl UserCopies {
    pub fn insert(&mut self, pid: u32, key: u32, copy: UserStackCopy) {
        self.waiting.insert(key, (pid, Arc::new(copy)));
        self.arrival.push_back(key);
        while self.arrival.len() > WAITING_MAX {
            if let Some(oldest) = self.arrival.pop_front() {
                self.waiting.remove(&oldest);
            }
        }
    }

    /// Gives `event` its copy, or the reason it has none, from its stack's `snapshot` value.
    pub fn attach(&mut self, event: &mut Event, snapshot: u32) {
        event.user_copy = match snapshot {
            user_stack::NONE => UserCopy::NotTaken,
            user_stack::LOST => UserCopy::Lost,
            user_stack::NO_REGISTERS => UserCopy::NoRegisters,
            key if user_stack::is_key(key) => match self.waiting.remove(&key) {
                // The pid, not the thread: a thread that execs takes the leader's thread id.
                Some((pid, copy)) if pid == event.pid => UserCopy::Taken(copy),
                _ => UserCopy::Missing,
            },
            _ => UserCopy::Missing,
        };
    }

    /// Copies waiting now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Event;
    use crate::model::event::Details;

    fn event() -> Event {
        crate::model::sample::event(Details::Exit {
            status: 0,
            lifetime_ns: 0,
        })
    }

    fn copy(ip: u64) -> UserStackCopy {
        UserStackCopy {
            ip,
            sp: 0x7ff0_0000,
            bp: 0,
            bytes: bytes::Bytes::from_static(&[0; 16]),
            top_reached: false,
        }
    }

    #[test]
    fn events_get_their_own_copy_once() {
        let mut copies = UserCopies::default();
        let mut first = event();
        let key_a = user_stack::key_of(1_000);
        let key_b = user_stack::key_of(2_000);
        copies.insert(first.pid, key_a, copy(0xa));
        copies.insert(first.pid, key_b, copy(0xb));
        copies.attach(&mut first, key_b);
        assert!(matches!(&first.user_copy, UserCopy::Taken(c) if c.ip == 0xb));
        let mut again = event();
        copies.attach(&mut again, key_b);
        assert_eq!(
            again.user_copy,
            UserCopy::Missing,
            "a copy goes to one event"
        );
        let mut other_process = event();
        other_process.pid += 1;
        copies.attach(&mut other_process, key_a);
        assert_eq!(other_process.user_copy, UserCopy::Missing);
        for (snapshot, expected) in [
            (user_stack::NONE, UserCopy::NotTaken),
            (user_stack::LOST, UserCopy::Lost),
            (user_stack::NO_REGISTERS, UserCopy::NoRegisters),
            (7, UserCopy::Missing),
        ] {
            let mut e = event();
            copies.attach(&mut e, snapshot);
            assert_eq!(e.user_copy, expected, "snapshot {snapshot}");
        }
    }

    #[test]
    fn unclaimed_copies_are_forgotten_oldest_first() {
        let mut copies = UserCopies::default();
        let pid = event().pid;
        for i in 0..(WAITING_MAX as u64 + 10) {
            copies.insert(pid, user_stack::key_of(i), copy(i));
        }
        assert_eq!(copies.len(), WAITING_MAX);
        let mut oldest = event();
        copies.attach(&mut oldest, user_stack::key_of(0));
        assert_eq!(oldest.user_copy, UserCopy::Missing);
        let mut newest = event();
        copies.attach(&mut newest, user_stack::key_of(WAITING_MAX as u64 + 9));
        assert!(matches!(newest.user_copy, UserCopy::Taken(_)));
    }
}
