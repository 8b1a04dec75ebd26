//! Synthetic events for tests, so that every test module builds them the same way.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::event::{Details, Event, Exec, Open};

/// 2023-11-14T22:13:20.123456789Z
pub fn time() -> SystemTime {
    UNIX_EPOCH + Duration::new(1_700_000_000, 123_456_789)
}

/// pid 4242 (tid 4243) of `worker`, child of 1, uid 1000, on CPU 2, without stacks.
pub fn event(details: Details) -> Event {
    Event {
        time: time(),
        mono_ns: 1_000,
        cpu: 2,
        pid: 4242,
        tid: 4243,
        ppid: 1,
        uid: 1000,
        start_ns: 500,
        comm: b"worker".to_vec().into(),
        cgroup_id: 0,
        cgroup: None,
        stack_mono_ns: 1_000,
        details,
        ustack: Box::default(),
        kstack: Box::default(),
        stacks: None,
        host: crate::model::host::HostId::LOCAL,
    }
}

/// An exec of `filename` (its argv0) with this result.
pub fn exec(filename: &str, ret: i32) -> Details {
    Details::Exec(Exec {
        abs_filename: None,
        filename: filename.as_bytes().to_vec().into(),
        filename_truncated: false,
        argv: vec![filename.as_bytes().to_vec().into()],
        argv_truncated: false,
        argv_unreadable: false,
        ret,
    })
}

/// A TCP connect over IPv4 with no known ends, with this result.
pub fn connect(ret: i32) -> Details {
    use super::event::{SockAddrs, SockInfo, Socket};
    Details::Connect(SockInfo {
        addrs: SockAddrs {
            local: None,
            remote: None,
        },
        ret,
        fd: 3,
        latency_ns: 0,
        socket: Socket::tcp(false),
    })
}

/// An open of `path` with this result.
pub fn open(path: &str, ret: i32) -> Details {
    Details::Open(Open {
        abs_path: None,
        path: path.as_bytes().to_vec().into(),
        path_truncated: false,
        dfd: -100,
        flags: 0,
        mode: 0,
        ret,
        latency_ns: 1_000,
        syscall: super::event::OpenSyscall::Openat,
    })
}
