//! Test-only: probe records as the bytes the ring buffer delivers.
//!
//! Tests describe a record with its head, the real `ringside_common` struct, and its tail's
//! contents at full size (`*Fields`: stacks, strings), then serialise it as the probes do: the
//! head's own bytes (`IntoBytes::as_bytes`), then the tail sections at the lengths the head
//! states. A field added to a record is seen here through its type, with nothing to write.
//!
//! A record's stack heads are its stacks' own: `*_bytes` copies `ustack.head` and
//! `kstack.head` into the head, as the probes do after `bpf_get_stack`. It also sets the length
//! of tail contents held as a slice (a unix address, a DNS payload).

use ringside_common::{
    ARGV_LEN, COMM_LEN, DNS_RESPONSE_KIND, DnsRecord, EventKind, ExecRecord, ExitRecord,
    ForkRecord, MAX_STACK_DEPTH, OpenRecord, PATH_LEN, RecordHeader, SockAddrs, SockRecord, Stack,
    StackHead, TcpCloseRecord, USER_STACK_KIND,
};
use zerocopy::{FromZeros, IntoBytes};

use super::test_news_records as news;

/// The sections after a record's head, appended in order.
#[derive(Default)]
pub struct TailBuilder(Vec<u8>);

impl TailBuilder {
    /// The frames a stack's head announces (none for 0 or an errno; at most the array).
    pub fn stack(mut self, s: &Stack) -> Self {
        let len = s.head.tail_len().min(MAX_STACK_DEPTH * 8);
        self.0.extend_from_slice(&s.frames.as_bytes()[..len]);
        self
    }

    /// The first `len` bytes of a string buffer (all of it when `len` is larger).
    pub fn string(mut self, bytes: &[u8], len: u32) -> Self {
        self.0
            .extend_from_slice(&bytes[..(len as usize).min(bytes.len())]);
        self
    }

    /// `head` then the sections, rounded up to 8 bytes as the ring delivers records. The
    /// padding is not zero, so a reader that runs past the last section is caught.
    pub fn after(self, head: &[u8]) -> Vec<u8> {
        let mut bytes = head.to_vec();
        bytes.extend_from_slice(&self.0);
        bytes.resize(bytes.len().next_multiple_of(8), 0xee);
        bytes
    }
}

/// An exec as tests describe it: its head, and its stack and strings at full size.
#[derive(Clone, Copy)]
pub struct ExecFields {
    pub head: ExecRecord,
    pub ustack: Stack,
    pub filename: [u8; PATH_LEN],
    pub argv: [u8; ARGV_LEN],
}

pub fn exec_bytes(r: &ExecFields) -> Vec<u8> {
    let head = ExecRecord {
        ustack: r.ustack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .string(&r.filename, head.filename_len)
        .string(&r.argv, head.argv_len)
        .after(head.as_bytes())
}

#[derive(Clone, Copy)]
pub struct OpenFields {
    pub head: OpenRecord,
    pub ustack: Stack,
    pub path: [u8; PATH_LEN],
}

pub fn open_bytes(r: &OpenFields) -> Vec<u8> {
    let head = OpenRecord {
        ustack: r.ustack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .string(&r.path, head.path_len)
        .after(head.as_bytes())
}

#[derive(Clone, Copy)]
pub struct SockFields {
    pub head: SockRecord,
    pub ustack: Stack,
    pub kstack: Stack,
    /// A unix socket's `sun_path` as the caller passed it; its length goes in the head.
    pub unix_addr: &'static [u8],
}

pub fn sock_bytes(r: &SockFields) -> Vec<u8> {
    let head = SockRecord {
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        unix_path_len: r.unix_addr.len() as u32,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .string(r.unix_addr, head.unix_path_len)
        .after(head.as_bytes())
}

#[derive(Clone)]
pub struct DnsFields {
    pub head: DnsRecord,
    /// The payload; its length goes in the head.
    pub payload: Vec<u8>,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn dns_bytes(r: &DnsFields) -> Vec<u8> {
    let head = DnsRecord {
        payload_len: r.payload.len() as u32,
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .string(&r.payload, head.payload_len)
        .after(head.as_bytes())
}

/// A DNS message: `id`, one question for `name` of `qtype`; a response (`rcode`) carries the
/// `answers` as A records.
pub fn dns_message(id: u16, name: &str, qtype: u16, response: Option<(u8, &[[u8; 4]])>) -> Vec<u8> {
    let (flags, answers): (u16, &[[u8; 4]]) = match response {
        Some((rcode, answers)) => (0x8180 | u16::from(rcode), answers),
        None => (0x0100, &[]),
    };
    let mut bytes = Vec::new();
    for field in [id, flags, 1, answers.len() as u16, 0, 0] {
        bytes.extend_from_slice(&field.to_be_bytes());
    }
    for label in name.split('.') {
        bytes.push(label.len() as u8);
        bytes.extend_from_slice(label.as_bytes());
    }
    bytes.push(0);
    bytes.extend_from_slice(&qtype.to_be_bytes());
    bytes.extend_from_slice(&1u16.to_be_bytes());
    for address in answers {
        // The name as a pointer to the question's, type A, class IN, TTL 60.
        bytes.extend_from_slice(&[0xc0, 12, 0, 1, 0, 1, 0, 0, 0, 60, 0, 4]);
        bytes.extend_from_slice(address);
    }
    bytes
}

/// `curl`'s query for `example.com` A, to 10.0.0.53:53.
pub fn dns_query_record() -> DnsFields {
    dns_fields(
        header(EventKind::Dns.wire(), 0),
        dns_message(0x1234, "example.com", 1, None),
        stack(&[0x401000]),
        stack(&[0xffff_ffff_8100_0000]),
    )
}

/// The answer to [`dns_query_record`], arriving 12 ms later.
pub fn dns_response_record(rcode: u8, answers: &[[u8; 4]]) -> DnsFields {
    let mut header = header(DNS_RESPONSE_KIND, 0);
    header.ts_ns += 12_000_000;
    header.pid = 0;
    dns_fields(
        header,
        dns_message(0x1234, "example.com", 1, Some((rcode, answers))),
        stack(&[]),
        stack(&[]),
    )
}

fn dns_fields(header: RecordHeader, payload: Vec<u8>, ustack: Stack, kstack: Stack) -> DnsFields {
    DnsFields {
        head: DnsRecord {
            header,
            addrs: dns_addrs(),
            wire_len: payload.len() as u32,
            ..FromZeros::new_zeroed()
        },
        payload,
        ustack,
        kstack,
    }
}

fn dns_addrs() -> SockAddrs {
    SockAddrs {
        family: ringside_common::AF_INET,
        lport: 40000,
        rport: 53,
        _reserved: 0,
        laddr: buf::<16>(&[10, 0, 0, 1]),
        raddr: buf::<16>(&[10, 0, 0, 53]),
    }
}

#[derive(Clone, Copy)]
pub struct TcpCloseFields {
    pub head: TcpCloseRecord,
    pub kstack: Stack,
}

pub fn tcp_close_bytes(r: &TcpCloseFields) -> Vec<u8> {
    let head = TcpCloseRecord {
        kstack: r.kstack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.kstack)
        .after(head.as_bytes())
}

#[derive(Clone, Copy)]
pub struct ExitFields {
    pub head: ExitRecord,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn exit_bytes(r: &ExitFields) -> Vec<u8> {
    let head = ExitRecord {
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .after(head.as_bytes())
}

#[derive(Clone, Copy)]
pub struct ForkFields {
    pub head: ForkRecord,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn fork_bytes(r: &ForkFields) -> Vec<u8> {
    let head = ForkRecord {
        ustack: r.ustack.head,
        kstack: r.kstack.head,
        ..r.head
    };
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .after(head.as_bytes())
}

/// `content` at the start of an otherwise zeroed array.
pub fn buf<const N: usize>(content: &[u8]) -> [u8; N] {
    let mut out = [0; N];
    out[..content.len()].copy_from_slice(content);
    out
}

/// A header with distinct, recognisable values in every field.
pub fn header(kind: u16, flags: u16) -> RecordHeader {
    RecordHeader {
        kind,
        flags,
        cpu: 3,
        ts_ns: 1_234_567_890_123,
        pid: 4242,
        tid: 4243,
        ppid: 1,
        uid: 1000,
        start_ns: 987_654_321,
        comm: buf::<COMM_LEN>(b"worker"),
        cgroup_id: 7_061,
    }
}

/// A stack as `bpf_get_stack` writes it: `bytes` is the size of the frames written.
pub fn stack(frames: &[u64]) -> Stack {
    let mut out = stack_bytes(i32::try_from(frames.len() * 8).unwrap_or(i32::MAX));
    out.frames[..frames.len()].copy_from_slice(frames);
    out
}

/// A stack whose `bytes` field is `bytes`, with nonzero frames behind it (to catch reading
/// frames that were not reported).
pub fn stack_bytes(bytes: i32) -> Stack {
    let mut frames = [0; MAX_STACK_DEPTH];
    for (i, frame) in frames.iter_mut().enumerate() {
        *frame = 0xdead_0000 + i as u64;
    }
    Stack {
        head: StackHead { bytes, snapshot: 0 },
        frames,
    }
}

/// `ls -l /tmp`, run as `/bin/ls`.
pub fn exec_record() -> ExecFields {
    let argv = b"ls\0-l\0/tmp\0";
    ExecFields {
        head: ExecRecord {
            header: header(EventKind::Exec.wire(), 0),
            ret: 0,
            argc: 3,
            argv_len: argv.len() as u32,
            filename_len: 7,
            stack_ns: 0,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000, 0x402000]),
        filename: buf::<PATH_LEN>(b"/bin/ls"),
        argv: buf::<ARGV_LEN>(argv),
    }
}

/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)` returning fd 3.
pub fn open_record() -> OpenFields {
    OpenFields {
        head: OpenRecord {
            header: header(EventKind::Open.wire(), 0),
            ret: 3,
            dfd: -100,
            flags: 0o2000000,
            mode: 0,
            latency_ns: 5_000,
            syscall: ringside_common::open_syscall::OPENAT,
            path_len: 11,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        path: buf::<PATH_LEN>(b"/etc/passwd"),
    }
}

/// 10.0.0.1:40000 -> 93.184.216.34:443.
pub fn inet_addrs() -> SockAddrs {
    SockAddrs {
        family: ringside_common::AF_INET,
        lport: 40000,
        rport: 443,
        _reserved: 0,
        laddr: buf::<16>(&[10, 0, 0, 1]),
        raddr: buf::<16>(&[93, 184, 216, 34]),
    }
}

/// A `connect` (or with `EventKind::Accept`, an `accept`) that succeeded.
pub fn sock_record(kind: EventKind) -> SockFields {
    SockFields {
        head: SockRecord {
            header: header(kind.wire(), 0),
            ret: 0,
            fd: 5,
            addrs: inet_addrs(),
            latency_ns: 7_000,
            proto: 6,
            sock_type: 1,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        kstack: stack(&[]),
        unix_addr: b"",
    }
}

pub fn tcp_close_record() -> TcpCloseFields {
    TcpCloseFields {
        head: TcpCloseRecord {
            header: header(EventKind::TcpClose.wire(), 0),
            addrs: inet_addrs(),
            duration_ns: 1_500_000,
            tx_bytes: 512,
            rx_bytes: 65_536,
            // ESTABLISHED, accepted: no SYN or FIN in the counters.
            oldstate: 1,
            opened_actively: 0,
            ..FromZeros::new_zeroed()
        },
        kstack: stack(&[0xffff_ffff_8100_0000]),
    }
}

pub fn exit_record() -> ExitFields {
    ExitFields {
        head: ExitRecord {
            header: header(EventKind::Exit.wire(), 0),
            exit_code: 3 << 8,
            lifetime_ns: 2_000_000_000,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[]),
        kstack: stack(&[]),
    }
}

pub fn fork_record() -> ForkFields {
    ForkFields {
        head: ForkRecord {
            header: header(EventKind::Fork.wire(), 0),
            child_pid: 4300,
            clone_flags: 0x1200011,
            ..FromZeros::new_zeroed()
        },
        ustack: stack(&[0x401000]),
        kstack: stack(&[0xffff_ffff_8100_0000]),
    }
}

/// A valid record of `kind`, as bytes, with `ustack` and `kstack` in place of the sample's
/// stacks where the kind's record has them. Matched exhaustively: a new kind needs its builder.
pub fn record_of(kind: EventKind, ustack: Option<Stack>, kstack: Option<Stack>) -> Vec<u8> {
    match kind {
        EventKind::Exec => {
            let record = exec_record();
            exec_bytes(&ExecFields {
                ustack: ustack.unwrap_or(record.ustack),
                ..record
            })
        }
        EventKind::Open => {
            let record = open_record();
            open_bytes(&OpenFields {
                ustack: ustack.unwrap_or(record.ustack),
                ..record
            })
        }
        EventKind::Connect | EventKind::Accept => {
            let record = sock_record(kind);
            sock_bytes(&SockFields {
                ustack: ustack.unwrap_or(record.ustack),
                ..record
            })
        }
        EventKind::TcpClose => {
            let record = tcp_close_record();
            tcp_close_bytes(&TcpCloseFields {
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::Exit => {
            let record = exit_record();
            exit_bytes(&ExitFields {
                ustack: ustack.unwrap_or(record.ustack),
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::Fork => {
            let record = fork_record();
            fork_bytes(&ForkFields {
                ustack: ustack.unwrap_or(record.ustack),
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::Dns => {
            let record = dns_query_record();
            dns_bytes(&DnsFields {
                ustack: ustack.unwrap_or(record.ustack),
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::Signal => {
            let record = news::signal_record();
            news::signal_bytes(&news::SignalFields {
                ustack: ustack.unwrap_or(record.ustack),
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::OomKill => {
            let record = news::oom_record();
            news::oom_bytes(&news::OomFields {
                ustack: ustack.unwrap_or(record.ustack),
                kstack: kstack.unwrap_or(record.kstack),
                ..record
            })
        }
        EventKind::Unlink
        | EventKind::Rename
        | EventKind::Mkdir
        | EventKind::Chmod
        | EventKind::Chown
        | EventKind::Truncate
        | EventKind::Link
        | EventKind::Symlink => {
            let record = news::change_record(kind);
            news::change_bytes(&news::ChangeFields {
                ustack: ustack.unwrap_or(record.ustack),
                ..record
            })
        }
    }
}

/// One valid record of every kind, as bytes.
pub fn all_kinds() -> Vec<Vec<u8>> {
    EventKind::ALL
        .into_iter()
        .map(|kind| record_of(kind, None, None))
        .collect()
}

/// A small deterministic generator (xorshift64) for fuzz-style loops.
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        Self(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        self.0 = x;
        x
    }

    /// A value in `0..bound` (`bound` > 0).
    pub fn below(&mut self, bound: u64) -> u64 {
        self.next_u64() % bound
    }

    pub fn fill(&mut self, bytes: &mut [u8]) {
        for chunk in bytes.chunks_mut(8) {
            let word = self.next_u64().to_ne_bytes();
            chunk.copy_from_slice(&word[..chunk.len()]);
        }
    }
}

/// Pseudo-random byte strings that often look like records: random lengths and bytes, valid
/// kinds with the right size, and valid records with a few bytes changed.
pub fn random_records(seed: u64, count: usize) -> impl Iterator<Item = Vec<u8>> {
    let mut rng = XorShift::new(seed);
    let valid = all_kinds();
    let kinds: Vec<u16> = EventKind::ALL
        .iter()
        .map(|kind| kind.wire())
        .chain([USER_STACK_KIND])
        .collect();
    (0..count).map(move |_| {
        let mode = rng.below(4);
        if mode == 3 {
            // A valid record with a few bytes changed, often in its length fields.
            let mut bytes = valid[rng.below(valid.len() as u64) as usize].clone();
            for _ in 0..=rng.below(8) {
                let at = if rng.below(2) == 0 {
                    // Mostly the head, where the lengths are.
                    rng.below(bytes.len().min(128) as u64) as usize
                } else {
                    rng.below(bytes.len() as u64) as usize
                };
                bytes[at] = rng.next_u64() as u8;
            }
            return bytes;
        }
        // mode 0: any length and kind; 1: any length, a valid kind; 2: a valid kind and its size.
        let template = &valid[rng.below(valid.len() as u64) as usize];
        let len = if mode == 2 {
            template.len()
        } else {
            rng.below(12_000) as usize
        };
        let mut bytes = vec![0; len];
        rng.fill(&mut bytes);
        if mode == 1 && len >= 2 {
            let kind = kinds[rng.below(kinds.len() as u64) as usize];
            bytes[..2].copy_from_slice(&kind.to_ne_bytes());
        } else if mode == 2 {
            bytes[..2].copy_from_slice(&template[..2]);
        }
        bytes
    })
}
