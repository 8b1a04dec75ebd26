//! The records the probes write into the ring buffer, one per event.

use core::mem::size_of;

// Userspace reads a record's head from the ring's bytes with these (and tests write one), so a
// layout is defined here once, for the probes and the decoder alike. The eBPF build does without.
#[cfg(feature = "user")]
use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

/// `TASK_COMM_LEN` in the kernel.
pub const COMM_LEN: usize = 16;
/// Bytes kept of a path or exec filename, as passed by the caller (`PATH_MAX`).
pub const PATH_LEN: usize = 4096;
/// Bytes kept of an exec's arguments, NUL-separated.
pub const ARGV_LEN: usize = 4096;
/// Arguments kept of an exec; more are marked with [`FLAG_ARGV_TRUNCATED`].
pub const ARGC_MAX: u32 = 32;
/// The deepest stack `bpf_get_stack` returns (`PERF_MAX_STACK_DEPTH`).
pub const MAX_STACK_DEPTH: usize = 127;

/// The exec's arguments did not all fit ([`ARGC_MAX`] or [`ARGV_LEN`]).
pub const FLAG_ARGV_TRUNCATED: u16 = 1 << 0;
/// The path or filename did not fit in [`PATH_LEN`] bytes.
pub const FLAG_PATH_TRUNCATED: u16 = 1 << 1;
/// The path, filename or argv could not be read from the caller's memory.
pub const FLAG_USER_READ_FAILED: u16 = 1 << 2;
/// The local address of a socket could not be read (no kernel BTF).
pub const FLAG_LOCAL_ADDR_UNKNOWN: u16 = 1 << 3;
/// The byte counters of a TCP session could not be read (no kernel BTF).
pub const FLAG_BYTES_UNKNOWN: u16 = 1 << 4;
/// The remote address of a socket could not be read.
pub const FLAG_REMOTE_ADDR_UNKNOWN: u16 = 1 << 5;
/// An exec's argv was read from the new image (`mm->arg_start..arg_end`) at
/// `sched_process_exec`, where the kernel has just written it: all its strings, NUL-ended,
/// without a count (the record's `argc` does not apply).
pub const FLAG_ARGV_FROM_IMAGE: u16 = 1 << 6;
/// An exec's argument could not be read from the caller's memory, nor argv from the new image:
/// the argv sent is what could be read, possibly none.
pub const FLAG_ARGV_UNREADABLE: u16 = 1 << 7;

/// The directory a relative path was resolved against could not be named whole (a deleted
/// directory, or deeper than the probes walk): [`OpenRecord::dir_len`] and the first
/// directory of a [`ChangeRecord`] hold what was read, and the path is marked partial.
pub const FLAG_DIR_PARTIAL: u16 = 1 << 8;
/// As [`FLAG_DIR_PARTIAL`], for a [`ChangeRecord`]'s second path.
pub const FLAG_DIR2_PARTIAL: u16 = 1 << 9;
/// As [`FLAG_PATH_TRUNCATED`] and [`FLAG_USER_READ_FAILED`], for a [`ChangeRecord`]'s second path.
pub const FLAG_PATH2_TRUNCATED: u16 = 1 << 10;
pub const FLAG_PATH2_READ_FAILED: u16 = 1 << 11;

/// The directory was named whole, but a directory on the way had been deleted: the path is
/// marked partial (it no longer exists) though it starts at the root.
pub const FLAG_DIR_DELETED: u16 = 1 << 12;
pub const FLAG_DIR2_DELETED: u16 = 1 << 13;

/// The most directories the probes walk up to name where a relative path starts; a deeper one
/// is marked with [`FLAG_DIR_PARTIAL`].
pub const DIR_DEPTH_MAX: usize = 48;
/// The most bytes of one directory's name (`NAME_MAX` and its NUL).
pub const NAME_LEN: usize = 256;
/// Past this many bytes of names a directory is marked partial (its last name may take it up
/// to [`NAME_LEN`] further): what keeps a record with two paths and two directories within the
/// probes' 16 KiB scratch.
pub const DIR_LEN_MAX: usize = 3 * 1024;
/// The most bytes of a directory in a record's tail.
pub const DIR_TAIL_MAX: usize = DIR_LEN_MAX + NAME_LEN;

// A directory in a record's tail (`dir_len` bytes) is its names from the innermost up to the
// root, each ended by a NUL: `/srv/www` is `www\0srv\0`, and `/` is empty.

/// The fields every record starts with.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct RecordHeader {
    /// What the record describes: a [`crate::EventKind`]'s wire value, or [`crate::USER_STACK_KIND`].
    pub kind: u16,
    /// `FLAG_*` bits.
    pub flags: u16,
    pub cpu: u32,
    /// CLOCK_MONOTONIC nanoseconds when the event completed.
    pub ts_ns: u64,
    /// Process id (the kernel's tgid).
    pub pid: u32,
    /// Thread id (the kernel's pid).
    pub tid: u32,
    /// Process id of the parent; 0 when unknown.
    pub ppid: u32,
    pub uid: u32,
    /// CLOCK_MONOTONIC start time of the process; with `pid` it names one process even when the
    /// pid is reused. 0 when unknown.
    pub start_ns: u64,
    pub comm: [u8; COMM_LEN],
    /// The process's cgroup v2 id (`bpf_get_current_cgroup_id`): the inode number of its
    /// directory in the cgroup2 filesystem. 0 when unknown (a DNS response).
    pub cgroup_id: u64,
}
const _: () = assert!(size_of::<RecordHeader>() == 64);

/// Frames as `bpf_get_stack` wrote them, innermost first: where the probes take a stack before
/// it goes into a record (a record carries a [`StackHead`] and only the frames written).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct Stack {
    pub head: StackHead,
    pub frames: [u64; MAX_STACK_DEPTH],
}

/// A stack in a record's head; its frames, `bytes` of them, follow in the record's tail.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct StackHead {
    /// Bytes of frames in the tail; 0 when capture was off; a negative errno when it failed
    /// (then no frames follow).
    pub bytes: i32,
    /// User stacks: which [`UserStackHeader`] record carries this stack's registers and memory,
    /// or why there is none; see [`user_stack`]. Always 0 for kernel stacks.
    pub snapshot: u32,
}

impl StackHead {
    /// Bytes of frames that follow in the tail.
    pub const fn tail_len(&self) -> usize {
        if self.bytes > 0 {
            self.bytes as usize
        } else {
            0
        }
    }
}

/// The most bytes of frames one stack puts in a tail.
pub const STACK_FRAMES_LEN: usize = MAX_STACK_DEPTH * 8;

/// Values of [`StackHead::snapshot`].
pub mod user_stack {
    /// No copy was asked for (`--stack-bytes 0`, or a kernel stack).
    pub const NONE: u32 = 0;
    /// A copy was asked for but not sent: the ring buffer was half full or full, or the user
    /// registers could not be read. Userspace counts it when it meets the event.
    pub const LOST: u32 = 1;
    /// Set in every key; the other bits are the low bits of the capture time, which with the
    /// thread id tell one copy from another.
    pub const KEY_BIT: u32 = 1 << 31;

    pub const fn key_of(time_ns: u64) -> u32 {
        (time_ns as u32) | KEY_BIT
    }

    pub const fn is_key(snapshot: u32) -> bool {
        snapshot & KEY_BIT != 0
    }
}

/// The largest `--stack-bytes`: how much of a thread's stack one record can carry.
pub const MAX_STACK_BYTES: u32 = 64 * 1024;
/// The copy is read page by page: the first read goes up to the end of the page holding the
/// stack pointer, so the scratch buffer needs one page of slack for the verifier.
pub const STACK_COPY_SLACK: usize = 4096;

/// The copy reached memory that could not be read before `--stack-bytes`: that is the top of
/// the thread's stack, so the copy holds all of it.
pub const FLAG_STACK_TOP_REACHED: u16 = 1 << 0;

/// The head of a [`crate::USER_STACK_KIND`] record, followed by `len` bytes of the user stack from
/// `sp` upwards. Sent by the same program run as the event it belongs to, before it, so the
/// reader always sees it first.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct UserStackHeader {
    pub kind: u16,
    /// `FLAG_STACK_*` bits.
    pub flags: u16,
    /// Bytes of stack memory that follow the header.
    pub len: u32,
    pub pid: u32,
    pub tid: u32,
    /// Equal to [`StackHead::snapshot`] of the event's user stack.
    pub key: u32,
    pub _reserved: u32,
    /// The user registers when the thread entered the kernel: enough to start unwinding.
    pub ip: u64,
    pub sp: u64,
    pub bp: u64,
}
const _: () = assert!(size_of::<UserStackHeader>() == 48);
const _: () = assert!(size_of::<Stack>() == 1024);
const _: () = assert!(size_of::<StackHead>() == 8);

// Records are sized to their content: each is a fixed head (the structs below), then a tail of
// variable sections in the order its doc comment gives, each as long as its head says. The ring
// rounds a record up to 8 bytes; readers ignore what follows the last section. Stacks come first
// in a tail (their frames stay 8-aligned), strings last.

/// `execve` / `execveat`, captured at the caller's entry and completed at its result.
/// Tail: the user stack's frames, `filename` (`filename_len` bytes), `argv` (`argv_len` bytes),
/// the directory a relative filename starts from (`dir_len` bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct ExecRecord {
    pub header: RecordHeader,
    /// 0 on success, `-errno` on failure.
    pub ret: i32,
    /// Arguments kept in `argv`.
    pub argc: u32,
    /// Bytes used in `argv`, including each argument's NUL.
    pub argv_len: u32,
    /// Bytes used in `filename`, without the NUL.
    pub filename_len: u32,
    /// CLOCK_MONOTONIC time of the execve entry, where `ustack` was taken: in the old image.
    pub stack_ns: u64,
    pub ustack: StackHead,
    /// A relative filename: bytes of the cwd (or `execveat`'s directory) after argv in the
    /// tail; 0 for an absolute one.
    pub dir_len: u32,
    pub _reserved: u32,
}
const _: () = assert!(size_of::<ExecRecord>() == 64 + 24 + 16);

/// Which system call opened a file.
pub mod open_syscall {
    pub const OPENAT: u32 = 0;
    pub const OPENAT2: u32 = 1;
    pub const OPEN: u32 = 2;
}

/// `openat`, `openat2` and `open`. Tail: the user stack's frames, the path (`path_len` bytes),
/// the directory a relative path starts from (`dir_len` bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct OpenRecord {
    pub header: RecordHeader,
    /// The new fd, or `-errno`.
    pub ret: i32,
    /// The directory fd the path is relative to (`AT_FDCWD` is -100).
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    /// From the syscall's entry to its exit.
    pub latency_ns: u64,
    /// One of [`open_syscall`].
    pub syscall: u32,
    /// Bytes used in `path`, without the NUL.
    pub path_len: u32,
    pub ustack: StackHead,
    /// A relative path: bytes of the directory it starts from (the cwd or `dfd`), after the
    /// path in the tail; 0 for an absolute path.
    pub dir_len: u32,
    pub _reserved: u32,
}
const _: () = assert!(size_of::<OpenRecord>() == 64 + 32 + 16);

/// Address families the probes tell apart (`AF_UNIX`, `AF_INET`, `AF_INET6`); a record carries
/// any other family's number as it is.
pub const AF_UNIX: u16 = 1;
pub const AF_INET: u16 = 2;
pub const AF_INET6: u16 = 10;
/// `sizeof(sockaddr_un.sun_path)`: the most bytes a unix socket address has.
pub const UNIX_PATH_LEN: usize = 108;

/// Addresses of one socket. IPv4 addresses use the first 4 bytes; ports are host order. Sockets
/// of other families carry only `family`.
#[repr(C)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct SockAddrs {
    pub family: u16,
    pub lport: u16,
    pub rport: u16,
    pub _reserved: u16,
    pub laddr: [u8; 16],
    pub raddr: [u8; 16],
}
const _: () = assert!(size_of::<SockAddrs>() == 40);

/// An outgoing `connect` on a socket of any family, or an incoming `accept`/`accept4` on a TCP
/// socket. Tail: the user stack's frames, the kernel stack's frames, the unix socket address
/// (`unix_path_len` bytes), the cwd a relative one starts from (`dir_len` bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct SockRecord {
    pub header: RecordHeader,
    /// connect: 0 or `-errno` (`-EINPROGRESS` when non-blocking); accept: the new fd or `-errno`.
    pub ret: i32,
    /// The socket's fd (connect) or the listening fd (accept).
    pub fd: i32,
    pub addrs: SockAddrs,
    pub latency_ns: u64,
    pub ustack: StackHead,
    /// connect: the kernel stack of its SYN_SENT transition (the TCP connect path); accept: none.
    pub kstack: StackHead,
    /// IP sockets: the protocol (`IPPROTO_*`, 6 for TCP, 17 for UDP); 0 when unknown or not IP.
    pub proto: u16,
    /// The socket's type (`SOCK_STREAM` 1, `SOCK_DGRAM` 2, `SOCK_SEQPACKET` 5...); 0 when unknown.
    pub sock_type: u16,
    /// A connect to a unix socket: bytes of `sun_path` in the tail, as long as the caller's
    /// `addrlen` says (at most [`UNIX_PATH_LEN`]); an abstract name starts with a NUL.
    pub unix_path_len: u32,
    /// A relative unix socket path: bytes of the cwd after it in the tail.
    pub dir_len: u32,
    pub _reserved2: u32,
}
const _: () = assert!(size_of::<SockRecord>() == 64 + 8 + 40 + 8 + 16 + 16);

/// Bytes of a DNS message's UDP payload a record carries at most: a classic DNS message.
pub const DNS_PAYLOAD_MAX: usize = 512;
/// The DNS port: queries go to it, responses come from it.
pub const DNS_PORT: u16 = 53;

/// A DNS message over UDP: a query a process sent to port 53 ([`crate::EventKind::Dns`], in the
/// sender's thread, with its stacks) or a response from port 53 ([`crate::DNS_RESPONSE_KIND`],
/// seen where the packet arrives: no process, no stacks). `addrs` is the client's end (local)
/// and the server's (remote) either way. Tail: the user stack's frames, the kernel stack's
/// frames, the payload (`payload_len` bytes).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct DnsRecord {
    pub header: RecordHeader,
    pub addrs: SockAddrs,
    /// The UDP payload's length on the wire.
    pub wire_len: u32,
    /// Bytes of the payload in the tail: at most [`DNS_PAYLOAD_MAX`], fewer when the packet
    /// was not in one piece of memory.
    pub payload_len: u32,
    pub ustack: StackHead,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<DnsRecord>() == 64 + 40 + 8 + 16);

/// A DNS response as the probe reserves it in the ring: the head and room for the payload.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct DnsResponseRecord {
    pub head: DnsRecord,
    pub payload: [u8; DNS_PAYLOAD_MAX],
}

/// The end of a TCP session, attributed to the process that connected or accepted it.
/// Tail: the kernel stack's frames.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct TcpCloseRecord {
    pub header: RecordHeader,
    pub addrs: SockAddrs,
    /// From the first state change seen to the close.
    pub duration_ns: u64,
    /// `tcp_sock.bytes_acked`: sequence space acknowledged by the peer, which counts our SYN
    /// (active opens) and our FIN once acknowledged, besides the payload.
    pub tx_bytes: u64,
    /// `tcp_sock.bytes_received`: sequence space received, which counts the peer's FIN.
    pub rx_bytes: u64,
    /// The TCP state the socket left (`TCP_*`): tells which FINs were exchanged.
    pub oldstate: u32,
    /// 1 when this end sent the SYN (connect), 0 when it was accepted.
    pub opened_actively: u32,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<TcpCloseRecord>() == 64 + 40 + 32 + 8);

/// A process (not a thread) ended. Tail: the user stack's frames, the kernel stack's frames.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct ExitRecord {
    pub header: RecordHeader,
    /// The wait status: `exit code << 8 | terminating signal`.
    pub exit_code: i32,
    pub _reserved: u32,
    /// From the process's start to its exit; 0 when unknown.
    pub lifetime_ns: u64,
    pub ustack: StackHead,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<ExitRecord>() == 64 + 16 + 16);

/// A process created another process (threads are not reported).
/// Tail: the user stack's frames, the kernel stack's frames.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct ForkRecord {
    pub header: RecordHeader,
    pub child_pid: u32,
    pub _reserved: u32,
    pub clone_flags: u64,
    pub ustack: StackHead,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<ForkRecord>() == 64 + 16 + 16);

/// What `signal:signal_generate` says of a signal, with the sender's identity in the header
/// (the kernel itself, for a fault's SIGSEGV, is whichever task was running).
/// Tail: the user stack's frames, the kernel stack's frames.
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct SignalRecord {
    pub header: RecordHeader,
    pub sig: i32,
    pub errno: i32,
    /// `si_code`: `SI_USER` 0, `SI_KERNEL` 0x80, `SI_TKILL` -6, ...; `CLD_*` for SIGCHLD.
    pub code: i32,
    pub target_pid: u32,
    /// 1 when sent to the whole process, 0 to one thread.
    pub group: u32,
    /// `TRACE_SIGNAL_*`: delivered 0, ignored 1, already pending 2, overflow 3, lose info 4...
    pub result: u32,
    pub target_comm: [u8; COMM_LEN],
    pub ustack: StackHead,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<SignalRecord>() == 64 + 24 + 16 + 16);

/// Where [`OomKillRecord::memcg`] stands.
pub mod oom_memcg {
    /// No memory cgroup was at its limit: the system ran out.
    pub const GLOBAL: u32 = 0;
    /// The memory cgroup at its limit is named in the tail.
    pub const NAMED: u32 = 1;
    /// This kernel's layout is not known (no BTF): cannot tell.
    pub const UNKNOWN: u32 = 2;
}

/// The OOM killer chose a victim (`oom:mark_victim`), in the context of the task whose
/// allocation set it off: that task is the header's process and its stacks.
/// Tail: the user stack's frames, the kernel stack's frames, the memory cgroup at its limit
/// (`memcg_len` bytes, as a directory: names innermost first, each NUL-ended).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct OomKillRecord {
    pub header: RecordHeader,
    pub victim_pid: u32,
    pub victim_uid: u32,
    /// The victim's memory in KiB, as the tracepoint gives it.
    pub total_vm_kb: u64,
    pub anon_rss_kb: u64,
    pub file_rss_kb: u64,
    pub shmem_rss_kb: u64,
    pub pgtables_kb: u64,
    pub oom_score_adj: i32,
    /// One of [`oom_memcg`].
    pub memcg: u32,
    pub memcg_len: u32,
    pub _reserved: u32,
    pub victim_comm: [u8; COMM_LEN],
    pub ustack: StackHead,
    pub kstack: StackHead,
}
const _: () = assert!(size_of::<OomKillRecord>() == 64 + 8 + 40 + 16 + 16 + 16);

/// Which system call changed a file (the kind says what it did).
pub mod change_syscall {
    pub const UNLINK: u32 = 0;
    pub const UNLINKAT: u32 = 1;
    pub const RMDIR: u32 = 2;
    pub const RENAME: u32 = 3;
    pub const RENAMEAT: u32 = 4;
    pub const RENAMEAT2: u32 = 5;
    pub const MKDIR: u32 = 6;
    pub const MKDIRAT: u32 = 7;
    pub const CHMOD: u32 = 8;
    pub const FCHMOD: u32 = 9;
    pub const FCHMODAT: u32 = 10;
    pub const FCHMODAT2: u32 = 11;
    pub const CHOWN: u32 = 12;
    pub const FCHOWN: u32 = 13;
    pub const LCHOWN: u32 = 14;
    pub const FCHOWNAT: u32 = 15;
    pub const TRUNCATE: u32 = 16;
    pub const FTRUNCATE: u32 = 17;
    pub const LINK: u32 = 18;
    pub const LINKAT: u32 = 19;
    pub const SYMLINK: u32 = 20;
    pub const SYMLINKAT: u32 = 21;
    /// One past the last.
    pub const COUNT: u32 = 22;
}

/// What a [`ChangeRecord`]'s `dir` names.
pub mod change_dir {
    /// Nothing: the path is absolute, or not a path (a symlink's target).
    pub const NONE: u32 = 0;
    /// The directory a relative path starts from (the cwd or the dirfd).
    pub const BASE: u32 = 1;
    /// The file an fd-based call (`fchmod`, `fchown`, `ftruncate`) changed, itself.
    pub const FILE: u32 = 2;
}

/// A change to a file: every kind of [`crate::Group::Changes`] shares this record, which
/// holds each call's arguments in the order the call takes them (`rename(old, new)`,
/// `link(old, new)`, `symlink(target, linkpath)`).
/// Tail: the user stack's frames, `path` (`path_len` bytes), `path2` (`path2_len`), the second
/// path's directory (`dir2_len`), the first's (`dir_len`, as [`change_dir`] says).
#[repr(C)]
#[derive(Clone, Copy, Debug)]
#[cfg_attr(feature = "user", derive(FromBytes, IntoBytes, Immutable, KnownLayout))]
pub struct ChangeRecord {
    pub header: RecordHeader,
    /// 0, or `-errno`.
    pub ret: i32,
    /// One of [`change_syscall`].
    pub syscall: u32,
    pub latency_ns: u64,
    /// The directory fds the paths are relative to (`AT_FDCWD` is -100), or the fd of an
    /// fd-based call in `dfd`.
    pub dfd: i32,
    pub dfd2: i32,
    /// `unlinkat`, `renameat2`, `linkat`, `fchmodat2`, `fchownat` flags.
    pub flags: u32,
    /// `mkdir` and `chmod` modes.
    pub mode: u32,
    /// `chown`'s owner and group, `u32::MAX` (-1) for "unchanged".
    pub uid: u32,
    pub gid: u32,
    /// `truncate`'s new length.
    pub length: i64,
    pub path_len: u32,
    pub path2_len: u32,
    pub dir_len: u32,
    pub dir2_len: u32,
    /// One of [`change_dir`], for `dir`: the directory `dfd` names (for whichever path is
    /// relative to it), or an fd-based call's file. `dir2` is the directory `dfd2` names, sent
    /// only when it differs from `dfd` and the second path is relative to it.
    pub dir_names: u32,
    pub _reserved: u32,
    pub ustack: StackHead,
}
const _: () = assert!(size_of::<ChangeRecord>() == 64 + 72 + 8);

/// The largest record the probes send: an exec with both strings full.
pub const RECORD_MAX: usize = max(
    size_of::<ExecRecord>() + STACK_FRAMES_LEN + PATH_LEN + ARGV_LEN + DIR_TAIL_MAX,
    size_of::<ChangeRecord>() + STACK_FRAMES_LEN + 2 * PATH_LEN + 2 * DIR_TAIL_MAX,
);

const fn max(a: usize, b: usize) -> usize {
    if a > b { a } else { b }
}

#[cfg(feature = "user")]
mod pod {
    // SAFETY: every record is repr(C), Copy, has no padding (sizes pinned above) and no field with
    // invalid bit patterns, so any byte sequence of the right length is a valid value.
    unsafe impl aya::Pod for super::RecordHeader {}
    unsafe impl aya::Pod for super::UserStackHeader {}
    unsafe impl aya::Pod for super::Stack {}
    unsafe impl aya::Pod for super::StackHead {}
    unsafe impl aya::Pod for super::SockAddrs {}
}
