//! Turns ring-buffer records (bytes written by the probes) into owned [`Event`]s.
//!
//! Records are read field by field at `offset_of!` positions with bounds-checked slices, so a
//! short, long or corrupt record is a typed error, never a panic and never `unsafe`.

use std::mem::{offset_of, size_of};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ringside_common::{
    AF_INET, AF_INET6, ExecRecord, ExitRecord, FLAG_ARGV_TRUNCATED, FLAG_BYTES_UNKNOWN,
    FLAG_LOCAL_ADDR_UNKNOWN, FLAG_PATH_TRUNCATED, FLAG_REMOTE_ADDR_UNKNOWN, ForkRecord,
    MAX_STACK_DEPTH, OpenRecord, RecordHeader, SockAddrs as WireAddrs, SockRecord, Stack,
    TcpCloseRecord, open_syscall,
};

use crate::clock::WallClock;
use crate::model::event::{Details, Event, EventKind, SockAddrs, SockInfo};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    #[error("record of {len} bytes is shorter than a header ({min} bytes)")]
    TooShort { len: usize, min: usize },
    #[error("record kind {0} is unknown")]
    UnknownKind(u16),
    #[error("{kind} record has {len} bytes, expected {expected}")]
    WrongSize {
        kind: &'static str,
        len: usize,
        expected: usize,
    },
    #[error("{field} length {len} exceeds its buffer of {max} bytes")]
    LengthOutOfRange {
        field: &'static str,
        len: usize,
        max: usize,
    },
}

/// Decodes one record. `clock` turns the kernel's monotonic stamp into wall time.
pub fn decode(bytes: &[u8], clock: &WallClock) -> Result<Event, DecodeError> {
    let header = Reader::new(bytes, 0);
    if bytes.len() < size_of::<RecordHeader>() {
        return Err(DecodeError::TooShort {
            len: bytes.len(),
            min: size_of::<RecordHeader>(),
        });
    }
    let wire_kind = header.u16(offset_of!(RecordHeader, kind));
    let kind = EventKind::from_wire(wire_kind).ok_or(DecodeError::UnknownKind(wire_kind))?;
    let expected = record_size(kind);
    if bytes.len() != expected {
        return Err(DecodeError::WrongSize {
            kind: kind.name(),
            len: bytes.len(),
            expected,
        });
    }
    let flags = header.u16(offset_of!(RecordHeader, flags));
    let mono_ns = header.u64(offset_of!(RecordHeader, ts_ns));
    let record = Reader::new(bytes, 0);
    let (details, ustack, kstack) = match kind {
        EventKind::Exec => decode_exec(&record, flags)?,
        EventKind::Open => decode_open(&record, flags)?,
        EventKind::Connect | EventKind::Accept => decode_sock(&record, kind, flags)?,
        EventKind::TcpClose => decode_tcp_close(&record, flags)?,
        EventKind::Exit => decode_exit(&record)?,
        EventKind::Fork => decode_fork(&record)?,
    };
    Ok(Event {
        time: clock.wall(mono_ns),
        mono_ns,
        cpu: header.u32(offset_of!(RecordHeader, cpu)),
        pid: header.u32(offset_of!(RecordHeader, pid)),
        tid: header.u32(offset_of!(RecordHeader, tid)),
        ppid: header.u32(offset_of!(RecordHeader, ppid)),
        uid: header.u32(offset_of!(RecordHeader, uid)),
        start_ns: header.u64(offset_of!(RecordHeader, start_ns)),
        comm: c_string(header.bytes(offset_of!(RecordHeader, comm), 16)),
        details,
        ustack,
        kstack,
    })
}

fn record_size(kind: EventKind) -> usize {
    match kind {
        EventKind::Exec => size_of::<ExecRecord>(),
        EventKind::Open => size_of::<OpenRecord>(),
        EventKind::Connect | EventKind::Accept => size_of::<SockRecord>(),
        EventKind::TcpClose => size_of::<TcpCloseRecord>(),
        EventKind::Exit => size_of::<ExitRecord>(),
        EventKind::Fork => size_of::<ForkRecord>(),
    }
}

type Decoded = (Details, Vec<u64>, Vec<u64>);

fn decode_exec(r: &Reader<'_>, flags: u16) -> Result<Decoded, DecodeError> {
    let filename_len = r.u32(offset_of!(ExecRecord, filename_len)) as usize;
    let argv_len = r.u32(offset_of!(ExecRecord, argv_len)) as usize;
    let filename = r.sized(
        offset_of!(ExecRecord, filename),
        "filename",
        filename_len,
        4096,
    )?;
    let argv_bytes = r.sized(offset_of!(ExecRecord, argv), "argv", argv_len, 4096)?;
    let argv = argv_bytes
        .split(|&b| b == 0)
        .take(r.u32(offset_of!(ExecRecord, argc)) as usize)
        .map(<[u8]>::to_vec)
        .collect();
    let details = Details::Exec {
        filename: filename.to_vec(),
        argv,
        argv_truncated: flags & FLAG_ARGV_TRUNCATED != 0,
        ret: r.i32(offset_of!(ExecRecord, ret)),
    };
    Ok((
        details,
        r.stack(offset_of!(ExecRecord, ustack))?,
        Vec::new(),
    ))
}

fn decode_open(r: &Reader<'_>, flags: u16) -> Result<Decoded, DecodeError> {
    let path_len = r.u32(offset_of!(OpenRecord, path_len)) as usize;
    let path = r.sized(offset_of!(OpenRecord, path), "path", path_len, 4096)?;
    let syscall = match r.u32(offset_of!(OpenRecord, syscall)) {
        open_syscall::OPENAT2 => "openat2",
        open_syscall::OPEN => "open",
        _ => "openat",
    };
    let details = Details::Open {
        path: path.to_vec(),
        path_truncated: flags & FLAG_PATH_TRUNCATED != 0,
        dfd: r.i32(offset_of!(OpenRecord, dfd)),
        flags: r.u32(offset_of!(OpenRecord, flags)),
        mode: r.u32(offset_of!(OpenRecord, mode)),
        ret: r.i32(offset_of!(OpenRecord, ret)),
        latency_ns: r.u64(offset_of!(OpenRecord, latency_ns)),
        syscall,
    };
    Ok((
        details,
        r.stack(offset_of!(OpenRecord, ustack))?,
        Vec::new(),
    ))
}

fn decode_sock(r: &Reader<'_>, kind: EventKind, flags: u16) -> Result<Decoded, DecodeError> {
    let info = SockInfo {
        addrs: sock_addrs(r, offset_of!(SockRecord, addrs), flags),
        ret: r.i32(offset_of!(SockRecord, ret)),
        fd: r.i32(offset_of!(SockRecord, fd)),
        latency_ns: r.u64(offset_of!(SockRecord, latency_ns)),
    };
    let details = if kind == EventKind::Connect {
        Details::Connect(info)
    } else {
        Details::Accept(info)
    };
    Ok((
        details,
        r.stack(offset_of!(SockRecord, ustack))?,
        Vec::new(),
    ))
}

fn decode_tcp_close(r: &Reader<'_>, flags: u16) -> Result<Decoded, DecodeError> {
    let bytes_known = flags & FLAG_BYTES_UNKNOWN == 0;
    let details = Details::TcpClose {
        addrs: sock_addrs(r, offset_of!(TcpCloseRecord, addrs), flags),
        duration_ns: r.u64(offset_of!(TcpCloseRecord, duration_ns)),
        tx_bytes: bytes_known.then(|| r.u64(offset_of!(TcpCloseRecord, tx_bytes))),
        rx_bytes: bytes_known.then(|| r.u64(offset_of!(TcpCloseRecord, rx_bytes))),
    };
    Ok((
        details,
        Vec::new(),
        r.stack(offset_of!(TcpCloseRecord, kstack))?,
    ))
}

fn decode_exit(r: &Reader<'_>) -> Result<Decoded, DecodeError> {
    let details = Details::Exit {
        status: r.i32(offset_of!(ExitRecord, exit_code)),
        lifetime_ns: r.u64(offset_of!(ExitRecord, lifetime_ns)),
    };
    let ustack = r.stack(offset_of!(ExitRecord, ustack))?;
    Ok((details, ustack, r.stack(offset_of!(ExitRecord, kstack))?))
}

fn decode_fork(r: &Reader<'_>) -> Result<Decoded, DecodeError> {
    let details = Details::Fork {
        child_pid: r.u32(offset_of!(ForkRecord, child_pid)),
        clone_flags: r.u64(offset_of!(ForkRecord, clone_flags)),
    };
    let ustack = r.stack(offset_of!(ForkRecord, ustack))?;
    Ok((details, ustack, r.stack(offset_of!(ForkRecord, kstack))?))
}

fn sock_addrs(r: &Reader<'_>, base: usize, flags: u16) -> SockAddrs {
    let at = |field: usize| base + field;
    let family = r.u16(at(offset_of!(WireAddrs, family)));
    let ip = |offset: usize| -> Option<IpAddr> {
        let bytes = r.bytes(at(offset), 16);
        match family {
            AF_INET => Some(Ipv4Addr::new(bytes[0], bytes[1], bytes[2], bytes[3]).into()),
            AF_INET6 => <[u8; 16]>::try_from(bytes)
                .ok()
                .map(|b| Ipv6Addr::from(b).into()),
            _ => None,
        }
    };
    let local = ip(offset_of!(WireAddrs, laddr))
        .map(|addr| (addr, r.u16(at(offset_of!(WireAddrs, lport)))))
        .filter(|_| flags & FLAG_LOCAL_ADDR_UNKNOWN == 0);
    let remote = ip(offset_of!(WireAddrs, raddr))
        .map(|addr| (addr, r.u16(at(offset_of!(WireAddrs, rport)))))
        .filter(|_| flags & FLAG_REMOTE_ADDR_UNKNOWN == 0);
    SockAddrs { local, remote }
}

/// The bytes of a NUL-terminated kernel string.
fn c_string(bytes: &[u8]) -> Vec<u8> {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    bytes[..end].to_vec()
}

/// Reads native-endian fields of a record whose size was already checked against its type, so
/// every fixed offset is in bounds; lengths that come from the record itself are checked.
struct Reader<'a> {
    bytes: &'a [u8],
    base: usize,
}

impl<'a> Reader<'a> {
    fn new(bytes: &'a [u8], base: usize) -> Self {
        Self { bytes, base }
    }

    fn bytes(&self, offset: usize, len: usize) -> &'a [u8] {
        // An out-of-range fixed offset would be a bug in this file, not bad input: the record's
        // size was checked first. Yield nothing rather than panic anyway.
        self.bytes
            .get(self.base + offset..self.base + offset + len)
            .unwrap_or_default()
    }

    fn array<const N: usize>(&self, offset: usize) -> [u8; N] {
        self.bytes(offset, N).try_into().unwrap_or([0; N])
    }

    fn u16(&self, offset: usize) -> u16 {
        u16::from_ne_bytes(self.array(offset))
    }
    fn u32(&self, offset: usize) -> u32 {
        u32::from_ne_bytes(self.array(offset))
    }
    fn i32(&self, offset: usize) -> i32 {
        i32::from_ne_bytes(self.array(offset))
    }
    fn u64(&self, offset: usize) -> u64 {
        u64::from_ne_bytes(self.array(offset))
    }

    /// A byte field whose used length the record states.
    fn sized(
        &self,
        offset: usize,
        field: &'static str,
        len: usize,
        max: usize,
    ) -> Result<&'a [u8], DecodeError> {
        if len > max {
            return Err(DecodeError::LengthOutOfRange { field, len, max });
        }
        Ok(self.bytes(offset, len))
    }

    /// The frames `bpf_get_stack` wrote; none when capture was off or failed.
    fn stack(&self, offset: usize) -> Result<Vec<u64>, DecodeError> {
        let written = self.i32(offset + offset_of!(Stack, bytes));
        let Ok(written) = usize::try_from(written) else {
            return Ok(Vec::new());
        };
        let frames = written / 8;
        if frames > MAX_STACK_DEPTH {
            return Err(DecodeError::LengthOutOfRange {
                field: "stack",
                len: written,
                max: MAX_STACK_DEPTH * 8,
            });
        }
        let base = offset + offset_of!(Stack, frames);
        Ok((0..frames).map(|i| self.u64(base + i * 8)).collect())
    }
}
