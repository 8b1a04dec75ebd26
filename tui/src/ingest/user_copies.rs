//! Pairs user stack copies with their events. The probes send a copy just before its event, so
//! a copy waits here for at most a few records (an exec's copy waits for the exec to finish).

use std::num::NonZeroUsize;

use lru::LruCache;
use ringside_common::user_stack;

use crate::model::user_stack::{UserCopy, UserStackCopy};
use crate::model::{Event, EventKind};

/// Copies kept waiting for their event; the oldest go first: they belonged to events that were
/// dropped or filtered out. At the default 32 KiB per copy this bounds the wait to 32 MiB.
pub const WAITING_MAX: usize = 1024;

/// A copy waiting for its event, and the thread that sent it.
#[derive(Debug)]
struct Waiting {
    pid: u32,
    tid: u32,
    copy: UserStackCopy,
}

impl Waiting {
    /// Same process and thread. An exec is reported under the leader's thread id whichever
    /// thread called it, so there only the process must match.
    fn belongs_to(&self, event: &Event) -> bool {
        self.pid == event.pid && (self.tid == event.tid || event.kind() == EventKind::Exec)
    }
}

/// By key, in arrival order: a claimed copy leaves, and the oldest waiting one is forgotten
/// when the bound is reached.
#[derive(Debug)]
pub struct UserCopies(LruCache<u32, Waiting>);

impl Default for UserCopies {
    fn default() -> Self {
        Self(LruCache::new(
            NonZeroUsize::new(WAITING_MAX).unwrap_or(NonZeroUsize::MIN),
        ))
    }
}

impl UserCopies {
    pub fn insert(&mut self, pid: u32, tid: u32, key: u32, copy: UserStackCopy) {
        self.0.push(key, Waiting { pid, tid, copy });
    }

    /// `event`'s copy, or `Lost`, from its user stack's `snapshot` value.
    pub fn attach(&mut self, event: &Event, snapshot: u32) -> UserCopy {
        if snapshot == user_stack::NONE {
            return UserCopy::NotTaken;
        }
        match self.0.pop(&snapshot) {
            Some(waiting) if user_stack::is_key(snapshot) && waiting.belongs_to(event) => {
                UserCopy::Taken(waiting.copy)
            }
            _ => UserCopy::Lost,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::event::*;

    fn event() -> Event {
        crate::model::sample::event(Details::Exit(Exit {
            status: 0,
            lifetime_ns: 0,
        }))
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

    fn ip_of(copy: &UserCopy) -> Option<u64> {
        match copy {
            UserCopy::Taken(copy) => Some(copy.ip),
            _ => None,
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
        assert_eq!(ip_of(&copies.attach(&first, key_b)), Some(0xb));
        assert_eq!(
            copies.attach(&event(), key_b),
            UserCopy::Lost,
            "a copy goes to one event"
        );
        let mut other_process = event();
        other_process.pid += 1;
        assert_eq!(copies.attach(&other_process, key_a), UserCopy::Lost);
        for (snapshot, expected) in [
            (user_stack::NONE, UserCopy::NotTaken),
            (user_stack::LOST, UserCopy::Lost),
            (7, UserCopy::Lost),
        ] {
            assert_eq!(
                copies.attach(&event(), snapshot),
                expected,
                "snapshot {snapshot}"
            );
        }
    }

    #[test]
    fn unclaimed_copies_are_forgotten_oldest_first() {
        let mut copies = UserCopies::default();
        let e = event();
        for i in 0..(WAITING_MAX as u64 + 10) {
            copies.insert(e.pid, e.tid, user_stack::key_of(i), copy(i));
        }
        assert_eq!(copies.attach(&e, user_stack::key_of(0)), UserCopy::Lost);
        let newest = user_stack::key_of(WAITING_MAX as u64 + 9);
        assert_eq!(
            ip_of(&copies.attach(&e, newest)),
            Some(WAITING_MAX as u64 + 9)
        );
    }

    #[test]
    fn a_long_wait_survives_many_copies_claimed_at_once() {
        let mut copies = UserCopies::default();
        let e = event();
        // An exec's copy, sent at execve entry by a thread that is not the leader; its event
        // comes when the exec finishes.
        let exec_key = user_stack::key_of(1);
        copies.insert(e.pid, e.tid + 1, exec_key, copy(0xe));
        // Meanwhile thousands of events arrive, each claiming its copy at once.
        for i in 0..(3 * WAITING_MAX as u64) {
            let key = user_stack::key_of(100 + i);
            copies.insert(e.pid, e.tid, key, copy(i));
            assert_eq!(ip_of(&copies.attach(&e, key)), Some(i));
        }
        // The exec is reported under the leader's thread id: the process is what must match.
        let mut exec = crate::model::sample::event(Details::Exec(Exec {
            abs_filename: None,
            filename: b"/bin/true".to_vec().into(),
            filename_truncated: false,
            argv: Vec::new(),
            argv_truncated: false,
            argv_unreadable: false,
            ret: 0,
        }));
        exec.pid = e.pid;
        assert_eq!(ip_of(&copies.attach(&exec, exec_key)), Some(0xe));
    }

    #[test]
    fn another_thread_s_copy_is_not_taken() {
        let mut copies = UserCopies::default();
        let open = event();
        let key = user_stack::key_of(5);
        copies.insert(open.pid, open.tid + 1, key, copy(0x1));
        assert_eq!(copies.attach(&open, key), UserCopy::Lost);
    }
}
