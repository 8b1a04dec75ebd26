//! Test-only: probe records as the bytes the ring buffer delivers.
//!
//! Tests describe a record with its fields, stacks and strings at full size (`*Fields`), then
//! serialise it as the probes do: the real `ringside_common` head, field by field at
//! `offset_of!` positions (no `unsafe`: the crate denies it), then the tail sections at the
//! lengths the head states.

use std::mem::{offset_of, size_of};

use ringside_common::{
    ARGV_LEN, COMM_LEN, DNS_RESPONSE_KIND, DnsRecord, EventKind, ExecRecord, ExitRecord,
    ForkRecord, MAX_STACK_DEPTH, OpenRecord, PATH_LEN, RecordHeader, SockAddrs, SockRecord, Stack,
    StackHead, TcpCloseRecord, USER_STACK_KIND,
};

/// Writes native-endian fields into a zeroed buffer.
pub struct Builder {
    bytes: Vec<u8>,
}

impl Builder {
    pub fn zeroed(len: usize) -> Self {
        Self {
            bytes: vec![0; len],
        }
    }

    pub fn put(&mut self, offset: usize, bytes: &[u8]) -> &mut Self {
        self.bytes[offset..offset + bytes.len()].copy_from_slice(bytes);
        self
    }
    pub fn u16(&mut self, offset: usize, value: u16) -> &mut Self {
        self.put(offset, &value.to_ne_bytes())
    }
    pub fn u32(&mut self, offset: usize, value: u32) -> &mut Self {
        self.put(offset, &value.to_ne_bytes())
    }
    pub fn i32(&mut self, offset: usize, value: i32) -> &mut Self {
        self.put(offset, &value.to_ne_bytes())
    }
    pub fn u64(&mut self, offset: usize, value: u64) -> &mut Self {
        self.put(offset, &value.to_ne_bytes())
    }

    pub fn header(&mut self, base: usize, h: &RecordHeader) -> &mut Self {
        self.u16(base + offset_of!(RecordHeader, kind), h.kind)
            .u16(base + offset_of!(RecordHeader, flags), h.flags)
            .u32(base + offset_of!(RecordHeader, cpu), h.cpu)
            .u64(base + offset_of!(RecordHeader, ts_ns), h.ts_ns)
            .u32(base + offset_of!(RecordHeader, pid), h.pid)
            .u32(base + offset_of!(RecordHeader, tid), h.tid)
            .u32(base + offset_of!(RecordHeader, ppid), h.ppid)
            .u32(base + offset_of!(RecordHeader, uid), h.uid)
            .u64(base + offset_of!(RecordHeader, start_ns), h.start_ns)
            .put(base + offset_of!(RecordHeader, comm), &h.comm)
            .u64(base + offset_of!(RecordHeader, cgroup_id), h.cgroup_id)
    }

    pub fn addrs(&mut self, base: usize, a: &SockAddrs) -> &mut Self {
        self.u16(base + offset_of!(SockAddrs, family), a.family)
            .u16(base + offset_of!(SockAddrs, lport), a.lport)
            .u16(base + offset_of!(SockAddrs, rport), a.rport)
            .u16(base + offset_of!(SockAddrs, _reserved), a._reserved)
            .put(base + offset_of!(SockAddrs, laddr), &a.laddr)
            .put(base + offset_of!(SockAddrs, raddr), &a.raddr)
    }

    pub fn finish(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.bytes)
    }
}

/// The sections after a record's head, appended in order.
#[derive(Default)]
pub struct TailBuilder(Vec<u8>);

impl TailBuilder {
    /// The frames a stack's head announces (none for 0 or an errno; at most the array).
    pub fn stack(mut self, s: &Stack) -> Self {
        let len = usize::try_from(s.head.bytes)
            .unwrap_or(0)
            .min(MAX_STACK_DEPTH * 8);
        let frames: Vec<u8> = s.frames.iter().flat_map(|f| f.to_ne_bytes()).collect();
        self.0.extend_from_slice(&frames[..len]);
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
    pub fn after(self, mut head: Vec<u8>) -> Vec<u8> {
        head.extend_from_slice(&self.0);
        head.resize(head.len().next_multiple_of(8), 0xee);
        head
    }
}

impl Builder {
    pub fn stack_head(&mut self, base: usize, s: &Stack) -> &mut Self {
        self.i32(base + offset_of!(StackHead, bytes), s.head.bytes)
            .u32(base + offset_of!(StackHead, snapshot), s.head.snapshot)
    }
}

/// An exec as tests describe it: the head's fields, and its stack and strings at full size.
#[derive(Clone, Copy)]
pub struct ExecFields {
    pub header: RecordHeader,
    pub ret: i32,
    pub argc: u32,
    pub argv_len: u32,
    pub filename_len: u32,
    pub stack_ns: u64,
    pub ustack: Stack,
    pub filename: [u8; PATH_LEN],
    pub argv: [u8; ARGV_LEN],
}

pub fn exec_bytes(r: &ExecFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<ExecRecord>())
        .header(offset_of!(ExecRecord, header), &r.header)
        .i32(offset_of!(ExecRecord, ret), r.ret)
        .u32(offset_of!(ExecRecord, argc), r.argc)
        .u32(offset_of!(ExecRecord, argv_len), r.argv_len)
        .u32(offset_of!(ExecRecord, filename_len), r.filename_len)
        .u64(offset_of!(ExecRecord, stack_ns), r.stack_ns)
        .stack_head(offset_of!(ExecRecord, ustack), &r.ustack)
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .string(&r.filename, r.filename_len)
        .string(&r.argv, r.argv_len)
        .after(head)
}

#[derive(Clone, Copy)]
pub struct OpenFields {
    pub header: RecordHeader,
    pub ret: i32,
    pub dfd: i32,
    pub flags: u32,
    pub mode: u32,
    pub latency_ns: u64,
    pub syscall: u32,
    pub path_len: u32,
    pub ustack: Stack,
    pub path: [u8; PATH_LEN],
}

pub fn open_bytes(r: &OpenFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<OpenRecord>())
        .header(offset_of!(OpenRecord, header), &r.header)
        .i32(offset_of!(OpenRecord, ret), r.ret)
        .i32(offset_of!(OpenRecord, dfd), r.dfd)
        .u32(offset_of!(OpenRecord, flags), r.flags)
        .u32(offset_of!(OpenRecord, mode), r.mode)
        .u64(offset_of!(OpenRecord, latency_ns), r.latency_ns)
        .u32(offset_of!(OpenRecord, syscall), r.syscall)
        .u32(offset_of!(OpenRecord, path_len), r.path_len)
        .stack_head(offset_of!(OpenRecord, ustack), &r.ustack)
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .string(&r.path, r.path_len)
        .after(head)
}

#[derive(Clone, Copy)]
pub struct SockFields {
    pub header: RecordHeader,
    pub ret: i32,
    pub fd: i32,
    pub addrs: SockAddrs,
    pub latency_ns: u64,
    pub ustack: Stack,
    pub kstack: Stack,
    pub proto: u16,
    pub sock_type: u16,
    /// A unix socket's `sun_path` as the caller passed it; its length goes in the head.
    pub unix_addr: &'static [u8],
}

pub fn sock_bytes(r: &SockFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<SockRecord>())
        .header(offset_of!(SockRecord, header), &r.header)
        .i32(offset_of!(SockRecord, ret), r.ret)
        .i32(offset_of!(SockRecord, fd), r.fd)
        .addrs(offset_of!(SockRecord, addrs), &r.addrs)
        .u64(offset_of!(SockRecord, latency_ns), r.latency_ns)
        .stack_head(offset_of!(SockRecord, ustack), &r.ustack)
        .stack_head(offset_of!(SockRecord, kstack), &r.kstack)
        .u16(offset_of!(SockRecord, proto), r.proto)
        .u16(offset_of!(SockRecord, sock_type), r.sock_type)
        .u32(
            offset_of!(SockRecord, unix_path_len),
            r.unix_addr.len() as u32,
        )
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .string(r.unix_addr, r.unix_addr.len() as u32)
        .after(head)
}

#[derive(Clone)]
pub struct DnsFields {
    pub header: RecordHeader,
    pub addrs: SockAddrs,
    pub payload: Vec<u8>,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn dns_bytes(r: &DnsFields) -> Vec<u8> {
    let len = r.payload.len() as u32;
    let head = Builder::zeroed(size_of::<DnsRecord>())
        .header(offset_of!(DnsRecord, header), &r.header)
        .addrs(offset_of!(DnsRecord, addrs), &r.addrs)
        .u32(offset_of!(DnsRecord, wire_len), len)
        .u32(offset_of!(DnsRecord, payload_len), len)
        .stack_head(offset_of!(DnsRecord, ustack), &r.ustack)
        .stack_head(offset_of!(DnsRecord, kstack), &r.kstack)
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .string(&r.payload, len)
        .after(head)
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
    DnsFields {
        header: header(EventKind::Dns.wire(), 0),
        addrs: dns_addrs(),
        payload: dns_message(0x1234, "example.com", 1, None),
        ustack: stack(&[0x401000]),
        kstack: stack(&[0xffff_ffff_8100_0000]),
    }
}

/// The answer to [`dns_query_record`], arriving 12 ms later.
pub fn dns_response_record(rcode: u8, answers: &[[u8; 4]]) -> DnsFields {
    let mut header = header(DNS_RESPONSE_KIND, 0);
    header.ts_ns += 12_000_000;
    header.pid = 0;
    DnsFields {
        header,
        addrs: dns_addrs(),
        payload: dns_message(0x1234, "example.com", 1, Some((rcode, answers))),
        ustack: stack(&[]),
        kstack: stack(&[]),
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
    pub header: RecordHeader,
    pub addrs: SockAddrs,
    pub duration_ns: u64,
    pub tx_bytes: u64,
    pub rx_bytes: u64,
    pub oldstate: u32,
    pub opened_actively: u32,
    pub kstack: Stack,
}

pub fn tcp_close_bytes(r: &TcpCloseFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<TcpCloseRecord>())
        .header(offset_of!(TcpCloseRecord, header), &r.header)
        .addrs(offset_of!(TcpCloseRecord, addrs), &r.addrs)
        .u64(offset_of!(TcpCloseRecord, duration_ns), r.duration_ns)
        .u64(offset_of!(TcpCloseRecord, tx_bytes), r.tx_bytes)
        .u64(offset_of!(TcpCloseRecord, rx_bytes), r.rx_bytes)
        .u32(offset_of!(TcpCloseRecord, oldstate), r.oldstate)
        .u32(
            offset_of!(TcpCloseRecord, opened_actively),
            r.opened_actively,
        )
        .stack_head(offset_of!(TcpCloseRecord, kstack), &r.kstack)
        .finish();
    TailBuilder::default().stack(&r.kstack).after(head)
}

#[derive(Clone, Copy)]
pub struct ExitFields {
    pub header: RecordHeader,
    pub exit_code: i32,
    pub lifetime_ns: u64,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn exit_bytes(r: &ExitFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<ExitRecord>())
        .header(offset_of!(ExitRecord, header), &r.header)
        .i32(offset_of!(ExitRecord, exit_code), r.exit_code)
        .u64(offset_of!(ExitRecord, lifetime_ns), r.lifetime_ns)
        .stack_head(offset_of!(ExitRecord, ustack), &r.ustack)
        .stack_head(offset_of!(ExitRecord, kstack), &r.kstack)
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .after(head)
}

#[derive(Clone, Copy)]
pub struct ForkFields {
    pub header: RecordHeader,
    pub child_pid: u32,
    pub clone_flags: u64,
    pub ustack: Stack,
    pub kstack: Stack,
}

pub fn fork_bytes(r: &ForkFields) -> Vec<u8> {
    let head = Builder::zeroed(size_of::<ForkRecord>())
        .header(offset_of!(ForkRecord, header), &r.header)
        .u32(offset_of!(ForkRecord, child_pid), r.child_pid)
        .u64(offset_of!(ForkRecord, clone_flags), r.clone_flags)
        .stack_head(offset_of!(ForkRecord, ustack), &r.ustack)
        .stack_head(offset_of!(ForkRecord, kstack), &r.kstack)
        .finish();
    TailBuilder::default()
        .stack(&r.ustack)
        .stack(&r.kstack)
        .after(head)
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
        header: header(EventKind::Exec.wire(), 0),
        ret: 0,
        argc: 3,
        argv_len: argv.len() as u32,
        filename_len: 7,
        stack_ns: 0,
        ustack: stack(&[0x401000, 0x402000]),
        filename: buf::<PATH_LEN>(b"/bin/ls"),
        argv: buf::<ARGV_LEN>(argv),
    }
}

/// `openat(AT_FDCWD, "/etc/passwd", O_RDONLY|O_CLOEXEC)` returning fd 3.
pub fn open_record() -> OpenFields {
    OpenFields {
        header: header(EventKind::Open.wire(), 0),
        ret: 3,
        dfd: -100,
        flags: 0o2000000,
        mode: 0,
        latency_ns: 5_000,
        syscall: ringside_common::open_syscall::OPENAT,
        path_len: 11,
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
        header: header(kind.wire(), 0),
        ret: 0,
        fd: 5,
        addrs: inet_addrs(),
        latency_ns: 7_000,
        ustack: stack(&[0x401000]),
        kstack: stack(&[]),
        proto: 6,
        sock_type: 1,
        unix_addr: b"",
    }
}

pub fn tcp_close_record() -> TcpCloseFields {
    TcpCloseFields {
        header: header(EventKind::TcpClose.wire(), 0),
        addrs: inet_addrs(),
        duration_ns: 1_500_000,
        tx_bytes: 512,
        rx_bytes: 65_536,
        // ESTABLISHED, accepted: no SYN or FIN in the counters.
        oldstate: 1,
        opened_actively: 0,
        kstack: stack(&[0xffff_ffff_8100_0000]),
    }
}

pub fn exit_record() -> ExitFields {
    ExitFields {
        header: header(EventKind::Exit.wire(), 0),
        exit_code: 3 << 8,
        lifetime_ns: 2_000_000_000,
        ustack: stack(&[]),
        kstack: stack(&[]),
    }
}

pub fn fork_record() -> ForkFields {
    ForkFields {
        header: header(EventKind::Fork.wire(), 0),
        child_pid: 4300,
        clone_flags: 0x1200011,
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
