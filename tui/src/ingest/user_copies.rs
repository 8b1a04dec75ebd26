//! Pairs user stack copies with their events. The probes send a copy just before its event, so
//! a copy waits here for at most a few records (an exec's copy waits for the exec to finish).

use std::collections::{HashMap, VecDeque};
use std::sync::Arc;

use ringside_common::user_stack;

use crate::model::Event;
use crate::model::user_stack::{UserCopy, UserStackCopy};

/// Copies kept waiting for their event; older ones belonged to events that were dropped or
/// filtered out. At the default 32 KiB per copy this bounds the wait to 32 MiB.
const WAITING_MAX: usize = 1024;

/// A copy waiting for its event.
#[derive(Debug)]
struct Waiting {
    pid: u32,
    tid: u32,
    /// Arrival number: tells this copy from an older one that had the same key.
    seq: u64,
    copy: Arc<UserStackCopy>,
}

#[derive(Debug, Default)]
pub struct UserCopies {
    waiting: HashMap<u32, Waiting>,
    /// (key, seq) in arrival order, to forget the oldest waiting copy first. Entries of copies
    /// already claimed are skipped when met, and swept when they pile up.
    arrival: VecDeque<(u32, u64)>,
    next_seq: u64,
}

impl UserCopies {
    pub fn insert(&mut self, pid: u32, tid: u32, key: u32, copy: UserStackCopy) {
        let seq = self.next_seq;
        self.next_seq += 1;
        let copy = Arc::new(copy);
        self.waiting.insert(
            key,
            Waiting {
                pid,
                tid,
                seq,
                copy,
            },
        );
        self.arrival.push_back((key, seq));
        while self.waiting.len() > WAITING_MAX {
            let Some((oldest, seq)) = self.arrival.pop_front() else {
                break;
            };
            if self.is_waiting(oldest, seq) {
                self.waiting.remove(&oldest);
            }
        }
        if self.arrival.len() > 4 * WAITING_MAX {
            let waiting = &self.waiting;
            self.arrival
                .retain(|&(key, seq)| waiting.get(&key).is_some_and(|w| w.seq == seq));
        }
    }

    fn is_waiting(&self, key: u32, seq: u64) -> bool {
        self.waiting.get(&key).is_some_and(|w| w.seq == seq)
    }

    /// `event`'s copy, or the reason it has none, from its user stack's `snapshot` value.
    pub fn attach(&mut self, event: &Event, snapshot: u32) -> UserCopy {
        match snapshot {
            user_stack::NONE => UserCopy::NotTaken,
            user_stack::LOST => UserCopy::Lost,
            user_stack::NO_REGISTERS => UserCopy::NoRegisters,
            key if user_stack::is_key(key) => match self.waiting.remove(&key) {
                Some(waiting) if waiting.belongs_to(event) => UserCopy::Taken(waiting.copy),
                _ => UserCopy::Missing,
            },
            _ => UserCopy::Missing,
        }
    }

    /// Copies waiting now.
    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.waiting.len()
    }
}

impl Waiting {
    /// Same process and thread. An exec is reported under the leader's thread id whichever
    /// thread called it, so there only the process must match.
    fn belongs_to(&self, event: &Event) -> bool {
        self.pid == event.pid
            && (self.tid == event.tid || event.kind() == crate::model::EventKind::Exec)
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
        let first = event();
        let key_a = user_stack::key_of(1_000);
        let key_b = user_stack::key_of(2_000);
        copies.insert(first.pid, first.tid, key_a, copy(0xa));
        copies.insert(first.pid, first.tid, key_b, copy(0xb));
        let first_copy = copies.attach(&first, key_b);
        assert!(matches!(&first_copy, UserCopy::Taken(c) if c.ip == 0xb));
        let again = event();
        let again_copy = copies.attach(&again, key_b);
        assert_eq!(again_copy, UserCopy::Missing, "a copy goes to one event");
        let mut other_process = event();
        other_process.pid += 1;
        let other_process_copy = copies.attach(&other_process, key_a);
        assert_eq!(other_process_copy, UserCopy::Missing);
        for (snapshot, expected) in [
            (user_stack::NONE, UserCopy::NotTaken),
            (user_stack::LOST, UserCopy::Lost),
            (user_stack::NO_REGISTERS, UserCopy::NoRegisters),
            (7, UserCopy::Missing),
        ] {
            let e = event();
            let e_copy = copies.attach(&e, snapshot);
            assert_eq!(e_copy, expected, "snapshot {snapshot}");
        }
    }

    #[test]
    fn unclaimed_copies_are_forgotten_oldest_first() {
        let mut copies = UserCopies::default();
        let (pid, tid) = (event().pid, event().tid);
        for i in 0..(WAITING_MAX as u64 + 10) {
            copies.insert(pid, tid, user_stack::key_of(i), copy(i));
        }
        assert_eq!(copies.len(), WAITING_MAX);
        let oldest = event();
        let oldest_copy = copies.attach(&oldest, user_stack::key_of(0));
        assert_eq!(oldest_copy, UserCopy::Missing);
        let newest = event();
        let newest_copy = copies.attach(&newest, user_stack::key_of(WAITING_MAX as u64 + 9));
        assert!(matches!(newest_copy, UserCopy::Taken(_)));
    }

    #[test]
    fn a_long_wait_survives_many_copies_claimed_at_once() {
        let mut copies = UserCopies::default();
        let (pid, tid) = (event().pid, event().tid);
        // An exec's copy, sent at execve entry; its event comes when the exec finishes.
        let exec_key = user_stack::key_of(1);
        copies.insert(pid, tid + 1, exec_key, copy(0xe));
        // Meanwhile thousands of events arrive, each claiming its copy at once.
        for i in 0..(3 * WAITING_MAX as u64) {
            let key = user_stack::key_of(100 + i);
            copies.insert(pid, tid, key, copy(i));
            let open = event();
            let open_copy = copies.attach(&open, key);
            assert!(matches!(open_copy, UserCopy::Taken(_)));
        }
        assert!(
            copies.arrival.len() <= 4 * WAITING_MAX + 1,
            "claimed entries are swept"
        );
        // The exec is reported under the leader's thread id: the process is what must match.
        let mut exec = crate::model::sample::event(crate::model::event::Details::Exec {
            filename: b"/bin/true".to_vec(),
            filename_truncated: false,
            argv: Vec::new(),
            argv_truncated: false,
            ret: 0,
        });
        exec.pid = pid;
        let exec_copy = copies.attach(&exec, exec_key);
        assert!(matches!(&exec_copy, UserCopy::Taken(c) if c.ip == 0xe));
    }

    #[test]
    fn another_thread_s_copy_is_not_taken() {
        let mut copies = UserCopies::default();
        let open = event();
        let key = user_stack::key_of(5);
        copies.insert(open.pid, open.tid + 1, key, copy(0x1));
        let open_copy = copies.attach(&open, key);
        assert_eq!(open_copy, UserCopy::Missing);
    }
}
