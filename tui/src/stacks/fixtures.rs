//! A service's events with symbolized stacks, for the stack views' tests: a settings file it
//! keeps failing to open, plugins it opens, workers it starts, and events still waiting for
//! their stacks. Addresses differ between processes, as ASLR makes them.

use std::sync::Arc;

use crate::model::Event;
use crate::model::event::Details;
use crate::model::frame::{Fold, Frame, Stacks};
use crate::model::sample::{event, exec, open};

pub fn user(name: &str, module: &str, addr: u64) -> Frame {
    Frame {
        addr,
        symbol: Some(name.into()),
        module: Some(module.into()),
        file: module.ends_with("svc").then(|| "/src/svc/main.c".into()),
        ..Frame::default()
    }
}

pub fn kernel(name: &str, addr: u64) -> Frame {
    Frame {
        addr,
        symbol: Some(name.into()),
        folded: Fold::of_kernel_symbol(name),
        ..Frame::default()
    }
}

const SVC: &str = "/usr/sbin/svc";
const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";

/// `main → start_service → read_settings → fopen → __open64 → (kernel)`, in the process
/// whose code sits `slide` bytes from the others'.
pub fn read_settings(slide: u64) -> Stacks {
    Stacks {
        user: vec![
            user("__open64", LIBC, 0x7f00_0000_1000 + slide),
            user("fopen", LIBC, 0x7f00_0000_2000 + slide),
            user("read_settings", SVC, 0x5500_0000_1000 + slide),
            user("start_service", SVC, 0x5500_0000_2000 + slide),
            user("main", SVC, 0x5500_0000_3000 + slide),
        ],
        kernel: vec![
            kernel("bpf_prog_1234_sys_enter_openat", 0xffff_0001),
            kernel("do_syscall_64", 0xffff_0002),
            kernel("entry_SYSCALL_64", 0xffff_0003),
        ],
        user_end: None,
    }
}

/// `main → start_service → load_plugins → __open64 → (kernel)`.
pub fn load_plugins(slide: u64) -> Stacks {
    Stacks {
        user: vec![
            user("__open64", LIBC, 0x7f00_0000_1000 + slide),
            user("load_plugins", SVC, 0x5500_0000_4000 + slide),
            user("start_service", SVC, 0x5500_0000_2000 + slide),
            user("main", SVC, 0x5500_0000_3000 + slide),
        ],
        kernel: vec![kernel("do_syscall_64", 0xffff_0002)],
        user_end: None,
    }
}

/// `main → spawn_worker → execve`, with the kernel's exec path under it.
pub fn spawn_worker(slide: u64) -> Stacks {
    Stacks {
        user: vec![
            user("execve", LIBC, 0x7f00_0000_3000 + slide),
            user("spawn_worker", SVC, 0x5500_0000_5000 + slide),
            user("main", SVC, 0x5500_0000_3000 + slide),
        ],
        kernel: vec![
            kernel("bprm_execve", 0xffff_1001),
            kernel("do_execveat_common", 0xffff_1002),
            kernel("do_syscall_64", 0xffff_0002),
        ],
        user_end: None,
    }
}

fn with(seq: u64, pid: u32, details: Details, stacks: Option<Arc<Stacks>>) -> Event {
    let mut event = event(details);
    event.pid = pid;
    event.tid = pid;
    event.comm = b"svc".to_vec().into();
    event.mono_ns = 1_000 + seq;
    event.time += std::time::Duration::from_micros(seq);
    match stacks {
        Some(stacks) => event.stacks = Some(stacks),
        // Captured, not yet symbolized.
        None => event.ustack = vec![0x5500_0000_1000].into(),
    }
    event
}

/// 54 failed opens of the settings from 3 processes, 30 plugin opens (2 of them failing with
/// EACCES), 4 worker execs, and 2 opens still waiting for their stacks: 90 events. Each
/// process has its own copy of each stack (its own `Arc`, its own addresses).
pub fn service_events() -> Vec<Event> {
    let mut events = Vec::new();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    for (pid, slide, opens) in [
        (101_u32, 0_u64, 30),
        (102, 0x10_0000, 20),
        (103, 0x20_0000, 4),
    ] {
        let stacks = Arc::new(read_settings(slide));
        for _ in 0..opens {
            let details = open("/etc/svc/settings.conf", -libc::ENOENT);
            events.push(with(next(), pid, details, Some(Arc::clone(&stacks))));
        }
    }
    let plugins = Arc::new(load_plugins(0));
    for n in 0..30 {
        let ret = if n < 2 { -libc::EACCES } else { 5 };
        let details = open(&format!("/usr/lib/svc/plugin{n}.so"), ret);
        events.push(with(next(), 101, details, Some(Arc::clone(&plugins))));
    }
    let workers = Arc::new(spawn_worker(0));
    for pid in 104..108 {
        events.push(with(
            next(),
            pid,
            exec("/usr/sbin/svc-worker", 0),
            Some(Arc::clone(&workers)),
        ));
    }
    for _ in 0..2 {
        events.push(with(next(), 101, open("/run/svc.pid", 6), None));
    }
    events
}
