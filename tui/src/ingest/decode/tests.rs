use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ringside_common::{
    AF_INET6, ARGV_LEN, ExecRecord, ExitRecord, FLAG_ARGV_FROM_IMAGE, FLAG_ARGV_TRUNCATED,
    FLAG_ARGV_UNREADABLE, FLAG_BYTES_UNKNOWN, FLAG_LOCAL_ADDR_UNKNOWN, FLAG_PATH_TRUNCATED,
    FLAG_REMOTE_ADDR_UNKNOWN, ForkRecord, KIND_SLOTS, MAX_STACK_DEPTH, OpenRecord, PATH_LEN,
    SockAddrs as WireAddrs, Stack, open_syscall, user_stack,
};
use zerocopy::IntoBytes;

use super::*;
use crate::ingest::test_records::*;
use crate::model::event::*;

fn clock() -> WallClock {
    WallClock::now().unwrap()
}

fn details(bytes: &[u8]) -> Details {
    decode(bytes, &clock()).unwrap().details
}

fn v4(a: u8, b: u8, c: u8, d: u8, port: u16) -> Option<(IpAddr, u16)> {
    Some((IpAddr::V4(Ipv4Addr::new(a, b, c, d)), port))
}

fn sock_info(bytes: &[u8]) -> SockInfo {
    match details(bytes) {
        Details::Connect(info) | Details::Accept(info) => info,
        other => panic!("not a socket event: {other:?}"),
    }
}

#[test]
fn connects_carry_their_kernel_stack() {
    let mut record = sock_record(EventKind::Connect);
    record.kstack = stack(&[0xffff_ffff_8100_1000, 0xffff_ffff_8100_2000]);
    let event = decode(&sock_bytes(&record), &clock()).unwrap();
    assert_eq!(
        event.kstack.to_vec(),
        vec![0xffff_ffff_8100_1000, 0xffff_ffff_8100_2000]
    );
    assert_eq!(event.ustack.to_vec(), vec![0x401000]);
}

#[test]
fn every_kind_decodes_to_its_details() {
    let clock = clock();
    let cases: Vec<(Vec<u8>, EventKind, Details)> = vec![
        (
            exec_bytes(&exec_record()),
            EventKind::Exec,
            Details::Exec(Exec {
                abs_filename: None,
                filename: b"/bin/ls".to_vec().into(),
                filename_truncated: false,
                argv: vec![
                    b"ls".to_vec().into(),
                    b"-l".to_vec().into(),
                    b"/tmp".to_vec().into(),
                ],
                argv_truncated: false,
                argv_unreadable: false,
                ret: 0,
            }),
        ),
        (
            open_bytes(&open_record()),
            EventKind::Open,
            Details::Open(Open {
                abs_path: None,
                path: b"/etc/passwd".to_vec().into(),
                path_truncated: false,
                dfd: -100,
                flags: 0o2000000,
                mode: 0,
                ret: 3,
                latency_ns: 5_000,
                syscall: crate::model::event::OpenSyscall::Openat,
            }),
        ),
        (
            sock_bytes(&sock_record(EventKind::Connect)),
            EventKind::Connect,
            Details::Connect(SockInfo {
                addrs: SockAddrs {
                    local: v4(10, 0, 0, 1, 40000),
                    remote: v4(93, 184, 216, 34, 443),
                },
                ret: 0,
                fd: 5,
                latency_ns: 7_000,
                socket: Socket::tcp(false),
            }),
        ),
        (
            sock_bytes(&sock_record(EventKind::Accept)),
            EventKind::Accept,
            Details::Accept(SockInfo {
                addrs: SockAddrs {
                    local: v4(10, 0, 0, 1, 40000),
                    remote: v4(93, 184, 216, 34, 443),
                },
                ret: 0,
                fd: 5,
                latency_ns: 7_000,
                socket: Socket::tcp(false),
            }),
        ),
        (
            tcp_close_bytes(&tcp_close_record()),
            EventKind::TcpClose,
            Details::TcpClose(TcpClose {
                addrs: SockAddrs {
                    local: v4(10, 0, 0, 1, 40000),
                    remote: v4(93, 184, 216, 34, 443),
                },
                duration_ns: 1_500_000,
                tx_bytes: Some(512),
                rx_bytes: Some(65_536),
            }),
        ),
        (
            exit_bytes(&exit_record()),
            EventKind::Exit,
            Details::Exit(Exit {
                status: 3 << 8,
                lifetime_ns: 2_000_000_000,
            }),
        ),
        (
            fork_bytes(&fork_record()),
            EventKind::Fork,
            Details::Fork(Fork {
                child_pid: 4300,
                clone_flags: 0x1200011,
            }),
        ),
    ];
    for (bytes, kind, expected) in cases {
        let event = decode(&bytes, &clock).unwrap();
        assert_eq!(event.kind(), kind);
        assert_eq!(event.details, expected, "{kind:?}");
        // The header is carried over whatever the kind.
        assert_eq!(event.mono_ns, 1_234_567_890_123, "{kind:?}");
        assert_eq!(event.time, clock.wall(1_234_567_890_123), "{kind:?}");
        assert_eq!(event.cpu, 3, "{kind:?}");
        assert_eq!(event.pid, 4242, "{kind:?}");
        assert_eq!(event.tid, 4243, "{kind:?}");
        assert_eq!(event.ppid, 1, "{kind:?}");
        assert_eq!(event.uid, 1000, "{kind:?}");
        assert_eq!(event.start_ns, 987_654_321, "{kind:?}");
        assert_eq!(event.cgroup_id, 7_061, "{kind:?}");
        assert_eq!(&event.comm[..], b"worker", "{kind:?}");
    }
}

#[test]
fn header_fields_are_carried_over() {
    let clock = clock();
    let mut record = fork_record();
    record.head.header = RecordHeader {
        kind: EventKind::Fork.wire(),
        flags: 0,
        cpu: 0xfff,
        ts_ns: u64::from(u32::MAX) * 1_000 + 17,
        pid: u32::MAX,
        tid: 0x1234_5678,
        ppid: 0x0765_4321,
        uid: 65_534,
        start_ns: u64::MAX - 1,
        comm: *b"0123456789abcdef",
        cgroup_id: u64::MAX - 2,
    };
    let event = decode(&fork_bytes(&record), &clock).unwrap();
    assert_eq!(event.cpu, 0xfff);
    assert_eq!(event.mono_ns, u64::from(u32::MAX) * 1_000 + 17);
    assert_eq!(event.time, clock.wall(u64::from(u32::MAX) * 1_000 + 17));
    assert_eq!(event.pid, u32::MAX);
    assert_eq!(event.tid, 0x1234_5678);
    assert_eq!(event.cgroup_id, u64::MAX - 2);
    assert_eq!(event.ppid, 0x0765_4321);
    assert_eq!(event.uid, 65_534);
    assert_eq!(event.start_ns, u64::MAX - 1);
    // A comm of all 16 bytes has no NUL: all of it is the name.
    assert_eq!(&event.comm[..], b"0123456789abcdef");
}

#[test]
fn comm_stops_at_the_first_nul() {
    let cases: &[(&[u8], &[u8])] = &[
        (b"ls\0stale-bytes\0", b"ls"),
        (b"worker", b"worker"),
        (b"", b""),
        (b"\0abc", b""),
        (b"\x1b[2Jevil\0x", b"\x1b[2Jevil"),
        (b"\xff\xfe\0", b"\xff\xfe"),
    ];
    for &(raw, expected) in cases {
        let mut record = exit_record();
        record.head.header.comm = buf(raw);
        let event = decode(&exit_bytes(&record), &clock()).unwrap();
        assert_eq!(event.comm, expected, "{raw:?}");
    }
}

#[test]
fn exec_argv_is_split_on_nul_and_counted_by_argc_or_by_its_strings() {
    const ENTRY: u16 = 0;
    const IMAGE: u16 = FLAG_ARGV_FROM_IMAGE;
    /// (where argv was read, argv bytes, argc, expected arguments)
    type Case = (u16, &'static [u8], u32, &'static [&'static [u8]]);
    let cases: &[Case] = &[
        // Read at entry: argc counts the arguments kept; later NUL-separated bytes are not
        // arguments.
        (ENTRY, b"ls\0-l\0/tmp\0", 3, &[b"ls", b"-l", b"/tmp"]),
        (ENTRY, b"ls\0-l\0/tmp\0", 2, &[b"ls", b"-l"]),
        (ENTRY, b"ls\0-l\0/tmp\0", 1, &[b"ls"]),
        (ENTRY, b"", 0, &[]),
        (ENTRY, b"ls\0", 0, &[]),
        // Empty arguments are arguments.
        (ENTRY, b"printf\0\0x\0", 3, &[b"printf", b"", b"x"]),
        (ENTRY, b"a b\0c\td\0", 2, &[b"a b", b"c\td"]),
        // Read from the new image: every NUL-ended string, whatever argc says.
        (
            IMAGE,
            b"echo\0x\0third arg with spaces\0",
            0,
            &[b"echo", b"x", b"third arg with spaces"],
        ),
        (IMAGE, b"printf\0\0x\0", 0, &[b"printf", b"", b"x"]),
        // Cut at the buffer's end: the last argument is kept as far as it goes.
        (IMAGE, b"echo\0abc", 0, &[b"echo", b"abc"]),
        (IMAGE, b"", 0, &[]),
    ];
    for &(flags, argv, argc, expected) in cases {
        let mut record = exec_record();
        record.head.header.flags = flags;
        record.argv = buf(argv);
        record.head.argv_len = argv.len() as u32;
        record.head.argc = argc;
        let Details::Exec(Exec { argv: got, .. }) = details(&exec_bytes(&record)) else {
            panic!("not an exec");
        };
        let expected: Vec<Vec<u8>> = expected.iter().map(|a| a.to_vec()).collect();
        assert_eq!(got, expected, "{argv:?} argc {argc} flags {flags:#x}");
    }
}

#[test]
fn exec_argv_stops_at_argv_len() {
    // Only argv_len bytes of the buffer are sent, the ring padding (not zero) follows: the
    // rest must not become arguments or parts of one.
    let mut record = exec_record();
    record.argv = buf(b"ls\0-l\0stale\0more\0");
    record.head.argv_len = 6;
    record.head.argc = 2;
    let Details::Exec(Exec { argv, .. }) = details(&exec_bytes(&record)) else {
        panic!("not an exec");
    };
    assert_eq!(argv, vec![b"ls".to_vec(), b"-l".to_vec()]);

    // The full buffer, with the last argument ending in its last byte.
    let mut full = vec![b'x'; ARGV_LEN - 1];
    full.push(0);
    record.argv = buf(&full);
    record.head.argv_len = ARGV_LEN as u32;
    record.head.argc = 1;
    let Details::Exec(Exec { argv, .. }) = details(&exec_bytes(&record)) else {
        panic!("not an exec");
    };
    assert_eq!(argv, vec![vec![b'x'; ARGV_LEN - 1]]);
}

#[test]
fn exec_filename_is_cut_at_its_length() {
    let cases: &[(&[u8], u32, &[u8])] = &[
        (b"/bin/ls", 7, b"/bin/ls"),
        (b"/bin/lsXXXX", 7, b"/bin/ls"),
        (b"/bin/ls", 4, b"/bin"),
        (b"/bin/ls", 0, b""),
    ];
    for &(raw, len, expected) in cases {
        let mut record = exec_record();
        record.filename = buf(raw);
        record.head.filename_len = len;
        let Details::Exec(Exec { filename, .. }) = details(&exec_bytes(&record)) else {
            panic!("not an exec");
        };
        assert_eq!(filename, expected, "{raw:?} len {len}");
    }
    let mut record = exec_record();
    record.filename = [b'a'; PATH_LEN];
    record.head.filename_len = PATH_LEN as u32;
    let Details::Exec(Exec { filename, .. }) = details(&exec_bytes(&record)) else {
        panic!("not an exec");
    };
    assert_eq!(filename, vec![b'a'; PATH_LEN]);
}

#[test]
fn exec_ret_and_truncation_flag() {
    let cases: &[(u16, i32, bool, bool)] = &[
        (0, 0, false, false),
        (FLAG_ARGV_TRUNCATED, 0, true, false),
        (FLAG_PATH_TRUNCATED, -2, false, false),
        (FLAG_ARGV_TRUNCATED | FLAG_PATH_TRUNCATED, -13, true, false),
        (FLAG_ARGV_UNREADABLE, -14, false, true),
    ];
    for &(flags, ret, truncated, unreadable) in cases {
        let mut record = exec_record();
        record.head.header.flags = flags;
        record.head.ret = ret;
        let Details::Exec(Exec {
            argv_truncated,
            argv_unreadable,
            ret: got,
            ..
        }) = details(&exec_bytes(&record))
        else {
            panic!("not an exec");
        };
        assert_eq!(argv_truncated, truncated, "flags {flags:#x}");
        assert_eq!(argv_unreadable, unreadable, "flags {flags:#x}");
        assert_eq!(got, ret, "flags {flags:#x}");
    }
}

#[test]
fn open_path_length_flags_and_syscall() {
    /// (path bytes, path_len, flags, syscall, expected path, truncated, syscall name)
    type Case = (
        &'static [u8],
        u32,
        u16,
        u32,
        &'static [u8],
        bool,
        &'static str,
    );
    let cases: &[Case] = &[
        (
            b"/etc/passwd",
            11,
            0,
            open_syscall::OPENAT,
            b"/etc/passwd",
            false,
            "openat",
        ),
        (
            b"/etc/passwdXYZ",
            11,
            0,
            open_syscall::OPENAT,
            b"/etc/passwd",
            false,
            "openat",
        ),
        (
            b"/etc/passwd",
            4,
            0,
            open_syscall::OPENAT2,
            b"/etc",
            false,
            "openat2",
        ),
        (b"", 0, 0, open_syscall::OPEN, b"", false, "open"),
        (
            b"x",
            1,
            FLAG_PATH_TRUNCATED,
            open_syscall::OPEN,
            b"x",
            true,
            "open",
        ),
        (
            b"x",
            1,
            FLAG_ARGV_TRUNCATED,
            open_syscall::OPENAT,
            b"x",
            false,
            "openat",
        ),
    ];
    for &(raw, len, flags, syscall, path, truncated, name) in cases {
        let mut record = open_record();
        record.path = buf(raw);
        record.head.path_len = len;
        record.head.header.flags = flags;
        record.head.syscall = syscall;
        let Details::Open(Open {
            path: got,
            path_truncated,
            syscall: got_syscall,
            ..
        }) = details(&open_bytes(&record))
        else {
            panic!("not an open");
        };
        assert_eq!(got, path, "{raw:?} len {len}");
        assert_eq!(path_truncated, truncated, "{raw:?} flags {flags:#x}");
        assert_eq!(got_syscall.name(), name, "syscall {syscall}");
    }

    // A path that filled the buffer.
    let mut record = open_record();
    record.path = [b'p'; PATH_LEN];
    record.head.path_len = PATH_LEN as u32;
    record.head.header.flags = FLAG_PATH_TRUNCATED;
    let Details::Open(Open {
        path,
        path_truncated,
        ..
    }) = details(&open_bytes(&record))
    else {
        panic!("not an open");
    };
    assert_eq!(path, vec![b'p'; PATH_LEN]);
    assert!(path_truncated);
}

#[test]
fn open_numbers() {
    let mut record = open_record();
    record.head.ret = -2;
    record.head.dfd = 7;
    record.head.flags = 0o1101;
    record.head.mode = 0o644;
    record.head.latency_ns = u64::MAX;
    let details = details(&open_bytes(&record));
    let Details::Open(Open {
        dfd,
        flags,
        mode,
        ret,
        latency_ns,
        ..
    }) = details
    else {
        panic!("not an open");
    };
    assert_eq!(
        (dfd, flags, mode, ret, latency_ns),
        (7, 0o1101, 0o644, -2, u64::MAX)
    );
}

#[test]
fn socket_addresses_ports_and_unknown_flags() {
    let lv6 = Ipv6Addr::new(0xfe80, 0, 0, 0, 1, 2, 3, 4);
    let rv6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x443);
    let v6 = WireAddrs {
        family: AF_INET6,
        lport: 1,
        rport: 65_535,
        _reserved: 0,
        laddr: lv6.octets(),
        raddr: rv6.octets(),
    };
    // IPv4 uses only the first four bytes: the rest is ignored.
    let mut v4_stale = inet_addrs();
    v4_stale.laddr[4..].fill(0xaa);
    v4_stale.raddr[4..].fill(0xbb);
    let v4_local = v4(10, 0, 0, 1, 40000);
    let v4_remote = v4(93, 184, 216, 34, 443);
    let v6_local = Some((IpAddr::V6(lv6), 1));
    let v6_remote = Some((IpAddr::V6(rv6), 65_535));
    let cases = [
        (inet_addrs(), 0, v4_local, v4_remote),
        (v4_stale, 0, v4_local, v4_remote),
        (v6, 0, v6_local, v6_remote),
        (inet_addrs(), FLAG_LOCAL_ADDR_UNKNOWN, None, v4_remote),
        (inet_addrs(), FLAG_REMOTE_ADDR_UNKNOWN, v4_local, None),
        (
            inet_addrs(),
            FLAG_LOCAL_ADDR_UNKNOWN | FLAG_REMOTE_ADDR_UNKNOWN,
            None,
            None,
        ),
        (v6, FLAG_LOCAL_ADDR_UNKNOWN, None, v6_remote),
        (v6, FLAG_REMOTE_ADDR_UNKNOWN, v6_local, None),
        // Flags that are not about addresses change nothing.
        (inet_addrs(), FLAG_BYTES_UNKNOWN, v4_local, v4_remote),
    ];
    for (addrs, flags, local, remote) in cases {
        for kind in [EventKind::Connect, EventKind::Accept] {
            let mut record = sock_record(kind);
            record.head.addrs = addrs;
            record.head.header.flags = flags;
            let info = sock_info(&sock_bytes(&record));
            assert_eq!(info.addrs.local, local, "kind {kind:?} flags {flags:#x}");
            assert_eq!(info.addrs.remote, remote, "kind {kind:?} flags {flags:#x}");
        }
        let mut record = tcp_close_record();
        record.head.addrs = addrs;
        record.head.header.flags = flags;
        let Details::TcpClose(TcpClose { addrs: got, .. }) = details(&tcp_close_bytes(&record))
        else {
            panic!("not a tcp_close");
        };
        assert_eq!(got.local, local, "tcp_close flags {flags:#x}");
        assert_eq!(got.remote, remote, "tcp_close flags {flags:#x}");
    }
}

#[test]
fn socket_ret_fd_and_latency() {
    let cases: &[(EventKind, i32, i32)] = &[
        (EventKind::Connect, 0, 3),
        (EventKind::Connect, -111, 3),
        (EventKind::Connect, -115, 9),
        (EventKind::Accept, 12, 4),
        (EventKind::Accept, -11, 4),
    ];
    for &(kind, ret, fd) in cases {
        let mut record = sock_record(kind);
        record.head.ret = ret;
        record.head.fd = fd;
        record.head.latency_ns = 123_456;
        let info = sock_info(&sock_bytes(&record));
        assert_eq!((info.ret, info.fd, info.latency_ns), (ret, fd, 123_456));
    }
}

#[test]
fn tcp_close_byte_counters() {
    let cases: &[(u16, Option<u64>, Option<u64>)] = &[
        (0, Some(512), Some(65_536)),
        (FLAG_BYTES_UNKNOWN, None, None),
        (FLAG_LOCAL_ADDR_UNKNOWN, Some(512), Some(65_536)),
        (FLAG_BYTES_UNKNOWN | FLAG_REMOTE_ADDR_UNKNOWN, None, None),
    ];
    for &(flags, tx, rx) in cases {
        let mut record = tcp_close_record();
        record.head.header.flags = flags;
        let Details::TcpClose(TcpClose {
            duration_ns,
            tx_bytes,
            rx_bytes,
            ..
        }) = details(&tcp_close_bytes(&record))
        else {
            panic!("not a tcp_close");
        };
        assert_eq!(duration_ns, 1_500_000);
        assert_eq!(tx_bytes, tx, "flags {flags:#x}");
        assert_eq!(rx_bytes, rx, "flags {flags:#x}");
    }
    // The counters are sequence space: the SYN and FINs they include are not payload
    // (see model::tcp::payload_bytes). A client that closed first: SYN and FIN acked, the
    // peer's FIN received.
    let mut record = tcp_close_record();
    record.head.tx_bytes = 102;
    record.head.rx_bytes = 51;
    record.head.oldstate = crate::model::tcp::state::FIN_WAIT2;
    record.head.opened_actively = 1;
    let Details::TcpClose(TcpClose {
        tx_bytes, rx_bytes, ..
    }) = details(&tcp_close_bytes(&record))
    else {
        panic!("not a tcp_close");
    };
    assert_eq!((tx_bytes, rx_bytes), (Some(100), Some(50)));
    record.head.header.flags = FLAG_BYTES_UNKNOWN;
    let Details::TcpClose(TcpClose {
        tx_bytes, rx_bytes, ..
    }) = details(&tcp_close_bytes(&record))
    else {
        panic!("not a tcp_close");
    };
    assert_eq!((tx_bytes, rx_bytes), (None, None));

    // Zero bytes known is Some(0), not None.
    let mut record = tcp_close_record();
    record.head.tx_bytes = 0;
    record.head.rx_bytes = 0;
    let Details::TcpClose(TcpClose {
        tx_bytes, rx_bytes, ..
    }) = details(&tcp_close_bytes(&record))
    else {
        panic!("not a tcp_close");
    };
    assert_eq!((tx_bytes, rx_bytes), (Some(0), Some(0)));
}

#[test]
fn exit_status_and_fork_child() {
    for status in [0, 3 << 8, 9, 0x80 | 11, 255 << 8, -1] {
        let mut record = exit_record();
        record.head.exit_code = status;
        record.head.lifetime_ns = 42;
        assert_eq!(
            details(&exit_bytes(&record)),
            Details::Exit(Exit {
                status,
                lifetime_ns: 42
            }),
            "{status}"
        );
    }
    let mut record = fork_record();
    record.head.child_pid = u32::MAX;
    record.head.clone_flags = u64::MAX;
    assert_eq!(
        details(&fork_bytes(&record)),
        Details::Fork(Fork {
            child_pid: u32::MAX,
            clone_flags: u64::MAX
        })
    );
}

/// Decodes `record` with its user and kernel stacks set; returns (ustack, kstack).
fn stacks_of(
    kind: EventKind,
    ustack: Stack,
    kstack: Stack,
) -> Result<(Vec<u64>, Vec<u64>), DecodeError> {
    let bytes = record_of(kind, Some(ustack), Some(kstack));
    decode(&bytes, &clock()).map(|event| (event.ustack.into_vec(), event.kstack.into_vec()))
}

#[test]
fn stacks_hold_the_frames_written_in_order() {
    let three = [0x1111, 0x2222, 0x3333];
    let two = [0xaaaa, 0xbbbb];
    let deepest: Vec<u64> = (1..=MAX_STACK_DEPTH as u64).collect();
    for kind in EventKind::ALL {
        let has_user = kind != EventKind::TcpClose;
        let has_kernel = matches!(
            kind,
            EventKind::TcpClose
                | EventKind::Exit
                | EventKind::Fork
                | EventKind::Dns
                | EventKind::Signal
                | EventKind::OomKill
        );
        let (ustack, kstack) = stacks_of(kind, stack(&three), stack(&two)).unwrap();
        let expect_user: &[u64] = if has_user { &three } else { &[] };
        let expect_kernel: &[u64] = if has_kernel { &two } else { &[] };
        assert_eq!(ustack, expect_user, "kind {kind:?} ustack");
        assert_eq!(kstack, expect_kernel, "kind {kind:?} kstack");

        // bytes = 0 (capture off) and negative (capture failed): no frames, not an error,
        // even though the frames array holds (stale) nonzero values.
        for bytes in [0, -14, -1, i32::MIN] {
            let (ustack, kstack) = stacks_of(kind, stack_bytes(bytes), stack_bytes(bytes)).unwrap();
            assert!(ustack.is_empty(), "kind {kind:?} bytes {bytes}");
            assert!(kstack.is_empty(), "kind {kind:?} bytes {bytes}");
        }

        // A partial frame is not a frame.
        let (ustack, kstack) = stacks_of(kind, stack_bytes(8 + 7), stack_bytes(8 + 7)).unwrap();
        if has_user {
            assert_eq!(ustack, [0xdead_0000], "kind {kind:?}");
        }
        if has_kernel {
            assert_eq!(kstack, [0xdead_0000], "kind {kind:?}");
        }

        // The deepest stack fits.
        let (ustack, kstack) = stacks_of(kind, stack(&deepest), stack(&deepest)).unwrap();
        if has_user {
            assert_eq!(ustack, deepest, "kind {kind:?}");
        }
        if has_kernel {
            assert_eq!(kstack, deepest, "kind {kind:?}");
        }

        // More than the deepest stack is corrupt.
        let field = if has_user {
            "user stack"
        } else {
            "kernel stack"
        };
        for bytes in [MAX_STACK_DEPTH as i32 * 8 + 8, 2000, i32::MAX] {
            let result = stacks_of(kind, stack_bytes(bytes), stack_bytes(bytes));
            assert_eq!(
                result,
                Err(DecodeError::LengthOutOfRange {
                    field,
                    len: bytes as usize,
                    max: MAX_STACK_DEPTH * 8,
                }),
                "kind {kind:?} bytes {bytes}"
            );
        }
    }
}

#[test]
fn errors() {
    let clock = clock();
    let header_len = size_of::<RecordHeader>();
    let exec = exec_bytes(&exec_record());
    let mut unknown = fork_bytes(&fork_record());
    unknown[..2].copy_from_slice(&99u16.to_ne_bytes());
    let mut kind_zero = fork_bytes(&fork_record());
    kind_zero[..2].copy_from_slice(&0u16.to_ne_bytes());
    let mut kind_count = fork_bytes(&fork_record());
    kind_count[..2].copy_from_slice(&(KIND_SLOTS as u16).to_ne_bytes());
    let mut header_only = exec[..header_len].to_vec();
    header_only[..2].copy_from_slice(&EventKind::Exit.wire().to_ne_bytes());
    let open_head = size_of::<OpenRecord>();
    let open_cut_in_head = open_bytes(&open_record())[..open_head - 1].to_vec();
    // The fork's tail: 8 bytes of user frames, then 8 of kernel frames.
    let fork = fork_bytes(&fork_record());
    let fork_tail_cut = fork[..size_of::<ForkRecord>() + 15].to_vec();
    // The path's 11 bytes follow 8 bytes of frames; two of them are missing.
    let open_path_cut = open_bytes(&open_record())[..open_head + 8 + 9].to_vec();

    let open_with = |change: fn(&mut OpenRecord)| {
        let mut record = open_record();
        change(&mut record.head);
        open_bytes(&record)
    };
    let exec_with = |change: fn(&mut ExecRecord)| {
        let mut record = exec_record();
        change(&mut record.head);
        exec_bytes(&record)
    };
    let path_5000 = open_with(|head| head.path_len = 5000);
    let path_4097 = open_with(|head| head.path_len = PATH_LEN as u32 + 1);
    let path_huge = open_with(|head| head.path_len = u32::MAX);
    let filename_5000 = exec_with(|head| head.filename_len = 5000);
    let argv_5000 = exec_with(|head| head.argv_len = 5000);
    let stack_2000 = open_bytes(&OpenFields {
        ustack: stack_bytes(2000),
        ..open_record()
    });
    let kstack_2000 = fork_bytes(&ForkFields {
        kstack: stack_bytes(2000),
        ..fork_record()
    });

    let cases: Vec<(&str, &[u8], DecodeError)> = vec![
        ("empty", &[], DecodeError::TooShort { len: 0, min: 64 }),
        (
            "10 bytes",
            &exec[..10],
            DecodeError::TooShort { len: 10, min: 64 },
        ),
        (
            "one short of a header",
            &exec[..header_len - 1],
            DecodeError::TooShort { len: 63, min: 64 },
        ),
        ("unknown kind 99", &unknown, DecodeError::UnknownKind(99)),
        ("kind 0", &kind_zero, DecodeError::UnknownKind(0)),
        (
            "kind KIND_SLOTS",
            &kind_count,
            DecodeError::UnknownKind(KIND_SLOTS as u16),
        ),
        (
            "a header alone",
            &header_only,
            DecodeError::ShorterThanHead {
                kind: "exit",
                len: 64,
                head: size_of::<ExitRecord>(),
            },
        ),
        (
            "an open cut inside its head",
            &open_cut_in_head,
            DecodeError::ShorterThanHead {
                kind: "open",
                len: open_head - 1,
                head: open_head,
            },
        ),
        (
            "a fork cut inside its kernel stack",
            &fork_tail_cut,
            DecodeError::PastTheEnd {
                field: "kernel stack",
                len: 8,
                left: 7,
            },
        ),
        (
            "an open cut inside its path",
            &open_path_cut,
            DecodeError::PastTheEnd {
                field: "path",
                len: 11,
                left: 9,
            },
        ),
        (
            "path_len 5000",
            &path_5000,
            DecodeError::LengthOutOfRange {
                field: "path",
                len: 5000,
                max: PATH_LEN,
            },
        ),
        (
            "path_len 4097",
            &path_4097,
            DecodeError::LengthOutOfRange {
                field: "path",
                len: PATH_LEN + 1,
                max: PATH_LEN,
            },
        ),
        (
            "path_len u32::MAX",
            &path_huge,
            DecodeError::LengthOutOfRange {
                field: "path",
                len: u32::MAX as usize,
                max: PATH_LEN,
            },
        ),
        (
            "filename_len 5000",
            &filename_5000,
            DecodeError::LengthOutOfRange {
                field: "filename",
                len: 5000,
                max: PATH_LEN,
            },
        ),
        (
            "argv_len 5000",
            &argv_5000,
            DecodeError::LengthOutOfRange {
                field: "argv",
                len: 5000,
                max: ARGV_LEN,
            },
        ),
        (
            "ustack bytes 2000",
            &stack_2000,
            DecodeError::LengthOutOfRange {
                field: "user stack",
                len: 2000,
                max: MAX_STACK_DEPTH * 8,
            },
        ),
        (
            "kstack bytes 2000",
            &kstack_2000,
            DecodeError::LengthOutOfRange {
                field: "kernel stack",
                len: 2000,
                max: MAX_STACK_DEPTH * 8,
            },
        ),
    ];
    for (name, bytes, expected) in cases {
        assert_eq!(decode(bytes, &clock), Err(expected), "{name}");
    }
}

#[test]
fn records_take_their_content_and_ignore_the_rings_padding() {
    let clock = clock();
    // An open of an 11-byte path with one user frame: head, 8 bytes of frames, the path,
    // rounded up to 8 bytes.
    let open = open_bytes(&open_record());
    assert_eq!(
        open.len(),
        (size_of::<OpenRecord>() + 8 + 11).next_multiple_of(8)
    );
    // Padding (or anything else) after the last section is not part of the record.
    let mut padded = open.clone();
    padded.extend_from_slice(&[0xee; 24]);
    assert_eq!(
        decode(&padded, &clock).unwrap().details,
        decode(&open, &clock).unwrap().details
    );
    let Details::Open(Open { path, .. }) = details(&padded) else {
        panic!("not an open");
    };
    assert_eq!(&path[..], b"/etc/passwd");
    // The sections follow each other: an exec's argv starts where its filename ends.
    let exec = exec_record();
    let Details::Exec(Exec { filename, argv, .. }) = details(&exec_bytes(&exec)) else {
        panic!("not an exec");
    };
    assert_eq!(&filename[..], b"/bin/ls");
    assert_eq!(argv, vec![b"ls".to_vec(), b"-l".to_vec(), b"/tmp".to_vec()]);
}

/// A user stack copy record as the probes send it: the header, then `stack`.
fn user_stack_bytes(len: u32, stack: &[u8]) -> Vec<u8> {
    let mut bytes = UserStackHeader {
        kind: USER_STACK_KIND,
        flags: FLAG_STACK_TOP_REACHED,
        len,
        pid: 4242,
        tid: 4243,
        key: user_stack::key_of(77),
        _reserved: 0,
        ip: 0x5555_0000_1234,
        sp: 0x7ffc_0000_0000,
        bp: 0,
    }
    .as_bytes()
    .to_vec();
    bytes.extend_from_slice(stack);
    // The ring rounds every record up to 8 bytes.
    bytes.resize(bytes.len().next_multiple_of(8), 0xee);
    bytes
}

#[test]
fn user_stack_copies_decode_with_their_registers_and_only_their_own_bytes() {
    let clock = clock();
    let stack: Vec<u8> = (0..13).collect();
    let Ok(Record::UserStack {
        pid,
        tid,
        key,
        copy,
    }) = decode_record(
        &user_stack_bytes(13, &stack),
        &clock,
        &mut TextArena::default(),
    )
    else {
        panic!("a user stack record");
    };
    assert_eq!((pid, tid, key), (4242, 4243, user_stack::key_of(77)));
    assert_eq!(
        (copy.ip, copy.sp, copy.bp),
        (0x5555_0000_1234, 0x7ffc_0000_0000, 0)
    );
    assert_eq!(
        &copy.bytes[..],
        &stack[..],
        "the ring's padding is not stack"
    );
    assert!(copy.top_reached);

    assert!(matches!(
        decode_record(
            &user_stack_bytes(4000, &stack),
            &clock,
            &mut TextArena::default()
        ),
        Err(DecodeError::LengthOutOfRange {
            field: "user stack copy",
            len: 4000,
            ..
        })
    ));
    let cut = &user_stack_bytes(0, &[])[..20];
    assert!(matches!(
        decode_record(cut, &clock, &mut TextArena::default()),
        Err(DecodeError::TooShort { len: 20, .. })
    ));

    // An event names its copy by key in its user stack's `snapshot`.
    let mut ustack = stack_bytes(16);
    ustack.head.snapshot = user_stack::key_of(77);
    let open = open_bytes(&OpenFields {
        ustack,
        ..open_record()
    });
    let Ok(Record::Event(event, snapshot)) =
        decode_record(&open, &clock, &mut TextArena::default())
    else {
        panic!("an event");
    };
    assert_eq!(event.kind(), EventKind::Open);
    assert_eq!(snapshot, user_stack::key_of(77));
}

#[test]
fn random_bytes_never_panic() {
    let clock = clock();
    let (mut ok, mut failed) = (0, 0);
    for (i, bytes) in random_records(0x5eed_1234_abcd_ef01, 20_000).enumerate() {
        let result =
            std::panic::catch_unwind(|| decode_record(&bytes, &clock, &mut TextArena::default()));
        match result {
            Ok(Ok(_)) => ok += 1,
            Ok(Err(_)) => failed += 1,
            Err(_) => panic!("decode panicked on case {i} ({} bytes)", bytes.len()),
        }
    }
    // The generator reaches both outcomes, so the loop exercises the decoders themselves.
    assert!(ok > 1_000, "{ok} decoded");
    assert!(failed > 1_000, "{failed} rejected");
}
