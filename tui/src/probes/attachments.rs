//! Which program attaches to which tracepoint, and which event kinds each one serves.

use std::collections::BTreeSet;

use crate::model::EventKind;

/// How a program attaches to its tracepoint.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Hook {
    /// Reads the tracepoint's record, whose layout comes from its tracefs `format` file.
    Tracepoint,
    /// Gets the tracepoint's arguments as they are (`TP_PROTO`): no record is built, so a
    /// tracepoint that fires for every packet costs little when the program has nothing to do.
    Raw,
}

pub struct Attachment {
    pub program: &'static str,
    pub category: &'static str,
    pub tracepoint: &'static str,
    pub hook: Hook,
    /// Attach when any of these kinds is wanted.
    pub serves: &'static [EventKind],
    /// Attach whatever is wanted: bookkeeping other probes rely on.
    pub always: bool,
}

const fn serving(
    program: &'static str,
    category: &'static str,
    tracepoint: &'static str,
    serves: &'static [EventKind],
) -> Attachment {
    Attachment {
        program,
        category,
        tracepoint,
        hook: Hook::Tracepoint,
        serves,
        always: false,
    }
}

const fn raw(
    program: &'static str,
    category: &'static str,
    tracepoint: &'static str,
    serves: &'static [EventKind],
) -> Attachment {
    Attachment {
        hook: Hook::Raw,
        ..serving(program, category, tracepoint, serves)
    }
}

use EventKind::{
    Accept, Chmod, Chown, Connect, Dns, Exec, Exit, Fork, Link, Mkdir, OomKill, Open, Rename,
    Signal, Symlink, TcpClose, Truncate, Unlink,
};

/// A system call that changes files: its `syscalls:sys_enter_*` tracepoint (also the name of
/// the program that reads its arguments, by position), its `sys_exit_*`, and its kind.
pub struct ChangeSyscall {
    pub enter: &'static str,
    pub exit: &'static str,
    pub kind: &'static [EventKind],
}

macro_rules! change_syscalls {
    ($(($name:literal, $kind:ident)),+ $(,)?) => {
        [$(ChangeSyscall {
            enter: concat!("sys_enter_", $name),
            exit: concat!("sys_exit_", $name),
            kind: &[$kind],
        }),+]
    };
}

/// Every system call of the change kinds, in [`ringside_common::change_syscall`]'s order.
pub const CHANGE_SYSCALLS: [ChangeSyscall; 22] = change_syscalls![
    ("unlink", Unlink),
    ("unlinkat", Unlink),
    ("rmdir", Unlink),
    ("rename", Rename),
    ("renameat", Rename),
    ("renameat2", Rename),
    ("mkdir", Mkdir),
    ("mkdirat", Mkdir),
    ("chmod", Chmod),
    ("fchmod", Chmod),
    ("fchmodat", Chmod),
    ("fchmodat2", Chmod),
    ("chown", Chown),
    ("fchown", Chown),
    ("lchown", Chown),
    ("fchownat", Chown),
    ("truncate", Truncate),
    ("ftruncate", Truncate),
    ("link", Link),
    ("linkat", Link),
    ("symlink", Symlink),
    ("symlinkat", Symlink),
];

/// Each change system call's entry (its own program) and exit (one program for all).
const CHANGE_ATTACHMENTS: [Attachment; 2 * CHANGE_SYSCALLS.len()] = {
    const UNSET: Attachment = serving("", "", "", &[]);
    let mut table = [UNSET; 2 * CHANGE_SYSCALLS.len()];
    let mut i = 0;
    while i < CHANGE_SYSCALLS.len() {
        let call = &CHANGE_SYSCALLS[i];
        table[2 * i] = serving(call.enter, "syscalls", call.enter, call.kind);
        table[2 * i + 1] = serving("sys_exit_change", "syscalls", call.exit, call.kind);
        i += 1;
    }
    table
};

/// Every attachment: [`ATTACHMENTS`] and those of the change system calls.
pub fn all() -> impl Iterator<Item = &'static Attachment> {
    ATTACHMENTS.iter().chain(CHANGE_ATTACHMENTS.iter())
}

pub const ATTACHMENTS: &[Attachment] = &[
    serving("sys_enter_execve", "syscalls", "sys_enter_execve", &[Exec]),
    serving(
        "sys_enter_execveat",
        "syscalls",
        "sys_enter_execveat",
        &[Exec],
    ),
    serving("sched_process_exec", "sched", "sched_process_exec", &[Exec]),
    serving("sys_exit_execve", "syscalls", "sys_exit_execve", &[Exec]),
    serving("sys_exit_execve", "syscalls", "sys_exit_execveat", &[Exec]),
    serving("sys_enter_openat", "syscalls", "sys_enter_openat", &[Open]),
    serving(
        "sys_enter_openat2",
        "syscalls",
        "sys_enter_openat2",
        &[Open],
    ),
    serving("sys_enter_open", "syscalls", "sys_enter_open", &[Open]),
    serving("sys_exit_open", "syscalls", "sys_exit_openat", &[Open]),
    serving("sys_exit_open", "syscalls", "sys_exit_openat2", &[Open]),
    serving("sys_exit_open", "syscalls", "sys_exit_open", &[Open]),
    serving(
        "sys_enter_connect",
        "syscalls",
        "sys_enter_connect",
        &[Connect],
    ),
    serving(
        "sys_exit_connect",
        "syscalls",
        "sys_exit_connect",
        &[Connect],
    ),
    // Accepts name the owners of passively opened TCP sessions.
    serving(
        "sys_enter_accept",
        "syscalls",
        "sys_enter_accept",
        &[Accept, TcpClose],
    ),
    serving(
        "sys_enter_accept4",
        "syscalls",
        "sys_enter_accept4",
        &[Accept, TcpClose],
    ),
    serving(
        "sys_exit_accept",
        "syscalls",
        "sys_exit_accept",
        &[Accept, TcpClose],
    ),
    serving(
        "sys_exit_accept",
        "syscalls",
        "sys_exit_accept4",
        &[Accept, TcpClose],
    ),
    // Session owners and ends; for connects, the kernel stack of the TCP connect path.
    serving(
        "inet_sock_set_state",
        "sock",
        "inet_sock_set_state",
        &[Connect, TcpClose],
    ),
    // DNS queries as they leave, responses as they arrive: packets, not system calls.
    raw("net_dev_queue", "net", "net_dev_queue", &[Dns]),
    raw("netif_receive_skb", "net", "netif_receive_skb", &[Dns]),
    // New cgroups under a traced one join the cgroup filter here.
    Attachment {
        always: true,
        ..raw("cgroup_mkdir", "cgroup", "cgroup_mkdir", &[])
    },
    // Who sent which signal to whom, and whom the OOM killer chose.
    serving("signal_generate", "signal", "signal_generate", &[Signal]),
    serving("mark_victim", "oom", "mark_victim", &[OomKill]),
    // New processes join a traced tree here, so it attaches for `--tree` too.
    serving("task_newtask", "task", "task_newtask", &[Fork]),
    // Exits clean up per-thread state and the pid filter.
    Attachment {
        program: "sched_process_exit",
        category: "sched",
        tracepoint: "sched_process_exit",
        hook: Hook::Tracepoint,
        serves: &[Exit],
        always: true,
    },
];

/// The attachments needed for these kinds (and tree tracking).
pub fn needed(
    wanted: &BTreeSet<EventKind>,
    tree: bool,
) -> impl Iterator<Item = &'static Attachment> {
    let wanted = wanted.clone();
    all().filter(move |a| {
        a.always
            || a.serves.iter().any(|kind| wanted.contains(kind))
            || (tree && a.program == "task_newtask")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn programs(wanted: &[EventKind], tree: bool) -> BTreeSet<&'static str> {
        let wanted = wanted.iter().copied().collect();
        needed(&wanted, tree).map(|a| a.program).collect()
    }

    #[test]
    fn tcp_close_alone_still_watches_accepts_for_owners() {
        let set = programs(&[TcpClose], false);
        assert!(set.contains("inet_sock_set_state"));
        assert!(set.contains("sys_exit_accept"));
        assert!(!set.contains("sys_enter_connect"));
    }

    #[test]
    fn tree_tracking_needs_new_tasks_even_without_fork_events() {
        assert!(!programs(&[Open], false).contains("task_newtask"));
        assert!(programs(&[Open], true).contains("task_newtask"));
        assert!(programs(&[Open], false).contains("sched_process_exit"));
    }

    /// Kinds that are off cost nothing: without them, none of their tracepoints is attached.
    #[test]
    fn the_new_kinds_attach_nothing_unless_asked_for() {
        let default_before = [Exec, Open, Connect, Accept, TcpClose, Exit, Fork, Dns];
        let set = programs(&default_before, true);
        for program in [
            "signal_generate",
            "mark_victim",
            "sys_exit_change",
            "sys_enter_unlinkat",
        ] {
            assert!(
                !set.contains(program),
                "{program} attached without its kind"
            );
        }
        let changes = programs(&[Rename], false);
        assert!(changes.contains("sys_enter_renameat2") && changes.contains("sys_exit_change"));
        assert!(!changes.contains("sys_enter_unlinkat"), "{changes:?}");
        assert!(programs(&[Signal], false).contains("signal_generate"));
        assert!(programs(&[OomKill], false).contains("mark_victim"));
    }

    #[test]
    fn every_kind_is_served() {
        for kind in EventKind::ALL {
            assert!(all().any(|a| a.serves.contains(&kind)), "{kind:?}");
        }
    }
}
