//! The kinds of event ringside reports, and what each one is: the one place a kind is declared.
//!
//! The probes write a kind's wire value in [`crate::RecordHeader::kind`]; userspace reads it
//! back with [`EventKind::from_wire`] and asks the kind its name, group and stacks. Every fact
//! is an exhaustive `match`, so a new kind does not compile until each one is answered.

/// Declares [`EventKind`] with [`EventKind::ALL`] and [`EventKind::from_wire`] from one list,
/// so that neither can leave a kind out.
macro_rules! event_kinds {
    ($($(#[$doc:meta])* $kind:ident = $wire:literal,)+) => {
        /// What an event record describes; the discriminant is its wire value.
        #[repr(u16)]
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum EventKind {
            $($(#[$doc])* $kind = $wire,)+
        }

        impl EventKind {
            /// Every kind, in wire order.
            pub const ALL: [EventKind; [$(EventKind::$kind),+].len()] = [$(EventKind::$kind),+];

            /// The kind whose records carry `wire` in their header's `kind`.
            pub const fn from_wire(wire: u16) -> Option<EventKind> {
                match wire {
                    $($wire => Some(EventKind::$kind),)+
                    _ => None,
                }
            }
        }
    };
}

event_kinds! {
    /// A program started (`execve`, `execveat`).
    Exec = 1,
    /// A file was opened (`open`, `openat`, `openat2`).
    Open = 2,
    /// An outgoing connection (`connect`).
    Connect = 3,
    /// An incoming connection (`accept`, `accept4`).
    Accept = 4,
    /// A TCP session ended.
    TcpClose = 5,
    /// A process exited.
    Exit = 6,
    /// A process was born.
    Fork = 7,
    /// A DNS query a process sent to UDP port 53, paired with its response.
    Dns = 9,
    /// A signal was generated (`signal:signal_generate`), by a process or by the kernel.
    Signal = 11,
    /// The OOM killer chose a victim (`oom:mark_victim`).
    OomKill = 12,
    /// A file or directory was removed (`unlink`, `unlinkat`, `rmdir`).
    Unlink = 13,
    /// A file was renamed or moved (`rename`, `renameat`, `renameat2`).
    Rename = 14,
    /// A directory was made (`mkdir`, `mkdirat`).
    Mkdir = 15,
    /// A file's mode changed (`chmod`, `fchmod`, `fchmodat`, `fchmodat2`).
    Chmod = 16,
    /// A file's owner changed (`chown`, `fchown`, `lchown`, `fchownat`).
    Chown = 17,
    /// A file's length was set (`truncate`, `ftruncate`).
    Truncate = 18,
    /// A hard link was made (`link`, `linkat`).
    Link = 19,
    /// A symbolic link was made (`symlink`, `symlinkat`).
    Symlink = 20,
}

/// The kind of the record that carries a copy of a thread's user registers and stack, sent just
/// before the event it belongs to ([`crate::UserStackHeader`]); a record, not an event.
pub const USER_STACK_KIND: u16 = 8;
const _: () = assert!(EventKind::from_wire(USER_STACK_KIND).is_none());

/// The kind of the record that carries a DNS response ([`crate::DnsRecord`]): seen where the
/// packet arrives (softirq), not in a process; userspace pairs it with its query, a
/// [`EventKind::Dns`] record, into one event.
pub const DNS_RESPONSE_KIND: u16 = 10;
const _: () = assert!(EventKind::from_wire(DNS_RESPONSE_KIND).is_none());

/// One past the largest record kind: the length of arrays indexed by wire value (the probes'
/// drop counters).
pub const KIND_SLOTS: u32 = kind_slots();

const fn kind_slots() -> u32 {
    let mut largest = if USER_STACK_KIND > DNS_RESPONSE_KIND {
        USER_STACK_KIND
    } else {
        DNS_RESPONSE_KIND
    };
    let mut i = 0;
    while i < EventKind::ALL.len() {
        if EventKind::ALL[i].wire() > largest {
            largest = EventKind::ALL[i].wire();
        }
        i += 1;
    }
    largest as u32 + 1
}

/// What the views and `type=` filters gather kinds into.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Group {
    Process,
    Files,
    Network,
    /// Changes to files: removals, renames, modes, owners, lengths, links.
    Changes,
}

impl Group {
    /// Every group, in the order the tabs show them.
    pub const ALL: [Group; 4] = [Group::Process, Group::Files, Group::Network, Group::Changes];

    /// The name `type=` filters take.
    pub const fn name(self) -> &'static str {
        match self {
            Group::Process => "process",
            Group::Files => "files",
            Group::Network => "network",
            Group::Changes => "changes",
        }
    }
}

impl EventKind {
    /// The value the probes write in a record's header.
    pub const fn wire(self) -> u16 {
        self as u16
    }

    /// The name used in JSON (`type`), on the command line and on screen.
    pub const fn name(self) -> &'static str {
        match self {
            EventKind::Exec => "exec",
            EventKind::Open => "open",
            EventKind::Connect => "connect",
            EventKind::Accept => "accept",
            EventKind::TcpClose => "tcp_close",
            EventKind::Exit => "exit",
            EventKind::Fork => "fork",
            EventKind::Dns => "dns",
            EventKind::Signal => "signal",
            EventKind::OomKill => "oom_kill",
            EventKind::Unlink => "unlink",
            EventKind::Rename => "rename",
            EventKind::Mkdir => "mkdir",
            EventKind::Chmod => "chmod",
            EventKind::Chown => "chown",
            EventKind::Truncate => "truncate",
            EventKind::Link => "link",
            EventKind::Symlink => "symlink",
        }
    }

    pub fn from_name(name: &str) -> Option<EventKind> {
        EventKind::ALL.into_iter().find(|kind| kind.name() == name)
    }

    pub const fn group(self) -> Group {
        match self {
            EventKind::Exec
            | EventKind::Exit
            | EventKind::Fork
            | EventKind::Signal
            | EventKind::OomKill => Group::Process,
            EventKind::Open => Group::Files,
            EventKind::Unlink
            | EventKind::Rename
            | EventKind::Mkdir
            | EventKind::Chmod
            | EventKind::Chown
            | EventKind::Truncate
            | EventKind::Link
            | EventKind::Symlink => Group::Changes,
            EventKind::Connect | EventKind::Accept | EventKind::TcpClose | EventKind::Dns => {
                Group::Network
            }
        }
    }

    /// Whether the kind's record has a user stack (and so may be followed by a copy of it).
    /// A TCP session's end is seen wherever the kernel closes it (often softirq), not in its
    /// owner's thread: there is no owner's user stack to take.
    pub const fn carries_user_stack(self) -> bool {
        match self {
            EventKind::Exec
            | EventKind::Open
            | EventKind::Connect
            | EventKind::Accept
            | EventKind::Exit
            | EventKind::Fork
            | EventKind::Dns
            | EventKind::Signal
            | EventKind::OomKill
            | EventKind::Unlink
            | EventKind::Rename
            | EventKind::Mkdir
            | EventKind::Chmod
            | EventKind::Chown
            | EventKind::Truncate
            | EventKind::Link
            | EventKind::Symlink => true,
            EventKind::TcpClose => false,
        }
    }

    /// The kind's place in [`EventKind::ALL`]: an index for arrays with one entry per kind.
    /// A table lookup: it runs for every event.
    pub const fn index(self) -> usize {
        INDEX_BY_WIRE[self.wire() as usize]
    }
}

/// Each kind's place in [`EventKind::ALL`], by wire value; computed at compile time.
const INDEX_BY_WIRE: [usize; KIND_SLOTS as usize] = {
    let mut table = [usize::MAX; KIND_SLOTS as usize];
    let mut i = 0;
    while i < EventKind::ALL.len() {
        table[EventKind::ALL[i].wire() as usize] = i;
        i += 1;
    }
    table
};
