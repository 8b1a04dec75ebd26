use std::net::{Ipv4Addr, Ipv6Addr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::*;
use crate::model::event::*;
use crate::model::sample::{event, time};
use serde_json::json;

fn exec(argv: &[&[u8]], argv_truncated: bool, ret: i32) -> Details {
    Details::Exec(exec_details(argv, argv_truncated, ret))
}

fn exec_details(argv: &[&[u8]], argv_truncated: bool, ret: i32) -> Exec {
    Exec {
        abs_filename: None,
        filename: b"/bin/ls".to_vec().into(),
        filename_truncated: false,
        argv: argv.iter().map(|a| a.to_vec().into()).collect(),
        argv_truncated,
        argv_unreadable: false,
        ret,
    }
}

fn open(flags: u32, ret: i32) -> Details {
    Details::Open(Open {
        abs_path: None,
        path: b"/etc/passwd".to_vec().into(),
        path_truncated: false,
        dfd: -100,
        flags,
        mode: 0o644,
        ret,
        latency_ns: 5_000,
        syscall: crate::model::event::OpenSyscall::Openat,
    })
}

fn v4_addrs() -> SockAddrs {
    SockAddrs {
        local: Some((Ipv4Addr::new(10, 0, 0, 1).into(), 40000)),
        remote: Some((Ipv4Addr::new(93, 184, 216, 34).into(), 443)),
    }
}

fn v6_addrs() -> SockAddrs {
    SockAddrs {
        local: Some((Ipv6Addr::LOCALHOST.into(), 1)),
        remote: Some((
            Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 0x443).into(),
            65_535,
        )),
    }
}

fn sock(addrs: SockAddrs, ret: i32) -> SockInfo {
    let v6 = addrs.family() == "inet6";
    SockInfo {
        addrs,
        ret,
        fd: 5,
        latency_ns: 7_000,
        socket: Socket::tcp(v6),
    }
}

fn tcp_close(addrs: SockAddrs, tx: Option<u64>, rx: Option<u64>) -> Details {
    Details::TcpClose(TcpClose {
        addrs,
        duration_ns: 1_500_000,
        tx_bytes: tx,
        rx_bytes: rx,
    })
}

fn exit(status: i32) -> Details {
    Details::Exit(Exit {
        status,
        lifetime_ns: 2_000,
    })
}

fn fork() -> Details {
    Details::Fork(Fork {
        child_pid: 4300,
        clone_flags: 0x1200011,
    })
}

fn json_of(details: Details) -> Value {
    event_to_json(&event(details))
}

fn keys(value: &Value) -> Vec<&str> {
    value
        .as_object()
        .unwrap()
        .keys()
        .map(String::as_str)
        .collect()
}

/// The line as the NDJSON writer would print it.
fn line(value: &Value) -> String {
    serde_json::to_string(value).unwrap()
}

const COMMON: [&str; 8] = ["type", "time", "pid", "tid", "ppid", "uid", "comm", "cpu"];

/// A 9-digit-fraction RFC 3339 UTC time, e.g. `2023-11-14T22:13:20.123456789Z`.
fn assert_rfc3339_nanos(time: &str) {
    let bytes = time.as_bytes();
    assert_eq!(bytes.len(), 30, "{time}");
    for (i, &b) in bytes.iter().enumerate() {
        let expected = match i {
            4 | 7 => b'-',
            10 => b'T',
            13 | 16 => b':',
            19 => b'.',
            29 => b'Z',
            _ => {
                assert!(b.is_ascii_digit(), "{time}: byte {i}");
                continue;
            }
        };
        assert_eq!(b, expected, "{time}: byte {i}");
    }
    assert!(humantime::parse_rfc3339(time).is_ok(), "{time}");
}

fn time_of(time: &str) -> SystemTime {
    humantime::parse_rfc3339(time).unwrap()
}

fn every_kind() -> Vec<(&'static str, Details)> {
    vec![
        ("exec", exec(&[b"ls"], false, 0)),
        ("open", open(0, 3)),
        ("connect", Details::Connect(sock(v4_addrs(), 0))),
        ("accept", Details::Accept(sock(v4_addrs(), 6))),
        ("tcp_close", tcp_close(v4_addrs(), Some(1), Some(2))),
        ("exit", exit(0)),
        ("fork", fork()),
    ]
}

#[test]
fn non_utf8_bytes_survive_as_hex_beside_the_readable_text() {
    let mut e = event(Details::Open(Open {
        abs_path: None,
        path: b"/tmp/\xff\xfe\x1b".to_vec().into(),
        path_truncated: false,
        dfd: -100,
        flags: 0,
        mode: 0,
        ret: 3,
        latency_ns: 1,
        syscall: crate::model::event::OpenSyscall::Openat,
    }));
    e.comm = b"ok".to_vec().into();
    let json = event_to_json(&e);
    assert_eq!(json["path"], "/tmp/\u{fffd}\u{fffd}\u{1b}");
    assert_eq!(json["path_hex"], "2f746d702ffffe1b");
    assert!(
        json.get("comm_hex").is_none(),
        "valid UTF-8 needs no hex: {json}"
    );
    let exec = event_to_json(&event(Details::Exec(Exec {
        abs_filename: None,
        filename: b"/bin/x".to_vec().into(),
        filename_truncated: false,
        argv: vec![b"x".to_vec().into(), b"\xc3".to_vec().into()],
        argv_truncated: false,
        argv_unreadable: false,
        ret: 0,
    })));
    assert_eq!(exec["argv_hex"], json!(["78", "c3"]));
    assert!(exec.get("filename_hex").is_none());
}

#[test]
fn every_event_has_the_common_fields_first() {
    for (kind, details) in every_kind() {
        let json = json_of(details);
        assert_eq!(keys(&json)[..COMMON.len()], COMMON, "{kind}");
        assert_eq!(json["type"], kind);
        assert_eq!(json["time"], "2023-11-14T22:13:20.123456789Z", "{kind}");
        assert_eq!(json["pid"], 4242, "{kind}");
        assert_eq!(json["tid"], 4243, "{kind}");
        assert_eq!(json["ppid"], 1, "{kind}");
        assert_eq!(json["uid"], 1000, "{kind}");
        assert_eq!(json["comm"], "worker", "{kind}");
        assert_eq!(json["cpu"], 2, "{kind}");
    }
}

#[test]
fn time_is_rfc3339_utc_with_nine_fraction_digits() {
    let cases: &[(SystemTime, &str)] = &[
        (time(), "2023-11-14T22:13:20.123456789Z"),
        // Whole seconds and small fractions keep all nine digits.
        (
            UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            "2023-11-14T22:13:20.000000000Z",
        ),
        (
            UNIX_EPOCH + Duration::new(1_700_000_000, 1),
            "2023-11-14T22:13:20.000000001Z",
        ),
        (
            UNIX_EPOCH + Duration::new(1_700_000_000, 100_000_000),
            "2023-11-14T22:13:20.100000000Z",
        ),
        (UNIX_EPOCH, "1970-01-01T00:00:00.000000000Z"),
        // A leap day.
        (
            UNIX_EPOCH + Duration::new(1_709_210_096, 999_999_999),
            "2024-02-29T12:34:56.999999999Z",
        ),
    ];
    for &(at, expected) in cases {
        let json = event_to_json(&Event {
            time: at,
            ..event(fork())
        });
        let text = json["time"].as_str().unwrap();
        assert_eq!(text, expected);
        assert_rfc3339_nanos(text);
        assert_eq!(time_of(text), at);
    }
    // A time from a live clock, like decode produces.
    let clock = crate::clock::WallClock::now().unwrap();
    let json = event_to_json(&Event {
        time: clock.wall(123_456_789_012),
        ..event(fork())
    });
    let text = json["time"].as_str().unwrap();
    assert_rfc3339_nanos(text);
    assert_eq!(time_of(text), clock.wall(123_456_789_012));
}

#[test]
fn keys_per_type_in_the_documented_order() {
    let cases: Vec<(Details, &[&str])> = vec![
        (exec(&[b"ls"], false, 0), &["filename", "argv", "ret"]),
        (
            exec(&[b"ls"], true, -2),
            &["filename", "argv", "argv_truncated", "ret", "error"],
        ),
        (
            open(0, 3),
            &[
                "path",
                "flags",
                "mode",
                "dfd",
                "syscall",
                "ret",
                "latency_ns",
            ],
        ),
        (
            Details::Open(Open {
                abs_path: None,
                path: b"/x".to_vec().into(),
                path_truncated: true,
                dfd: 3,
                flags: 0,
                mode: 0,
                ret: -2,
                latency_ns: 1,
                syscall: crate::model::event::OpenSyscall::Openat2,
            }),
            &[
                "path",
                "path_truncated",
                "flags",
                "mode",
                "dfd",
                "syscall",
                "ret",
                "error",
                "latency_ns",
            ],
        ),
        (
            Details::Connect(sock(v4_addrs(), -115)),
            &[
                "family",
                "proto",
                "socktype",
                "laddr",
                "lport",
                "raddr",
                "rport",
                "fd",
                "ret",
                "error",
                "latency_ns",
            ],
        ),
        (
            Details::Accept(sock(v4_addrs(), 6)),
            &[
                "family",
                "proto",
                "socktype",
                "laddr",
                "lport",
                "raddr",
                "rport",
                "fd",
                "ret",
                "latency_ns",
            ],
        ),
        (
            tcp_close(v4_addrs(), Some(1), Some(2)),
            &[
                "family",
                "laddr",
                "lport",
                "raddr",
                "rport",
                "duration_ns",
                "tx_bytes",
                "rx_bytes",
            ],
        ),
        (exit(3 << 8), &["exit_code", "lifetime_ns"]),
        (
            exit(0x80 | 11),
            &["exit_code", "signal", "core_dumped", "lifetime_ns"],
        ),
        (fork(), &["child_pid"]),
        (
            dns(DnsOutcome::Answered(0), Some(12_000_000)),
            &[
                "family",
                "laddr",
                "lport",
                "server",
                "id",
                "query",
                "qtype",
                "rcode",
                "answers",
                "latency_ns",
            ],
        ),
    ];
    for (details, expected) in cases {
        let json = json_of(details.clone());
        assert_eq!(keys(&json)[COMMON.len()..], *expected, "{details:?}");
    }
}

#[test]
fn stacks_are_frames_innermost_first_with_keys_only_when_known() {
    use crate::model::frame::{Fold, FoundBy, Frame, InlinedFrame, StackEnd, Stacks, Unresolved};
    let mut e = event(fork());
    e.ustack = vec![0x401000, 0x402000].into();
    e.kstack = vec![0xffff_ffff_8100_0000].into();
    let unanswered = event_to_json(&e);
    assert_eq!(
        unanswered["ustack"],
        json!([
            {"addr": "0x401000", "unresolved": "symbolization timed out"},
            {"addr": "0x402000", "unresolved": "symbolization timed out"}
        ])
    );
    e.stacks = Some(std::sync::Arc::new(Stacks {
        user: vec![
            Frame {
                addr: 0x401000,
                symbol: Some("inner".into()),
                offset: Some(4),
                module: Some("/bin/app".into()),
                file: Some("app.c".into()),
                line: Some(10),
                column: Some(3),
                inlined: vec![InlinedFrame {
                    symbol: "helper".into(),
                    file: Some("app.h".into()),
                    line: Some(2),
                    column: None,
                }],
                found_by: Some(FoundBy::Registers),
                ..Frame::default()
            },
            Frame {
                found_by: Some(FoundBy::FramePointer),
                ..Frame::unresolved(0x402000, Unresolved::NoSymbols)
            },
        ],
        kernel: vec![Frame {
            addr: 0xffff_ffff_8100_0000,
            symbol: Some("do_syscall_64".into()),
            offset: Some(0x70),
            folded: Some(Fold::SyscallEntry),
            ..Frame::default()
        }],
        user_end: Some(StackEnd::WindowExhausted),
    }));
    let answered = event_to_json(&e);
    assert_eq!(
        answered["ustack"],
        json!([
            {"addr": "0x401000", "symbol": "inner", "offset": 4, "module": "/bin/app",
             "file": "app.c", "line": 10, "column": 3,
             "inlined": [{"symbol": "helper", "file": "app.h", "line": 2}],
             "found_by": "registers"},
            {"addr": "0x402000", "unresolved": "no symbols", "found_by": "frame_pointer"}
        ])
    );
    assert_eq!(answered["ustack_end"], "window_exhausted");
    assert!(
        unanswered.get("ustack_end").is_none(),
        "no verdict before the stack is unwound"
    );
    assert_eq!(
        answered["kstack"],
        json!([{"addr": "0xffffffff81000000", "symbol": "do_syscall_64", "offset": 112,
                "folded": "syscall_entry"}])
    );
}

#[test]
fn exec_fields() {
    let cases: Vec<(Details, Value)> = vec![
        (
            exec(&[b"ls", b"-l", b"/tmp"], false, 0),
            json!({"filename": "/bin/ls", "argv": ["ls", "-l", "/tmp"], "ret": 0}),
        ),
        (
            exec(&[], false, 0),
            json!({"filename": "/bin/ls", "argv": [], "ret": 0}),
        ),
        (
            exec(&[b"ls", b""], true, 0),
            json!({"filename": "/bin/ls", "argv": ["ls", ""], "argv_truncated": true, "ret": 0}),
        ),
        (
            exec(&[b"ls"], false, -2),
            json!({"filename": "/bin/ls", "argv": ["ls"], "ret": -2, "error": "ENOENT"}),
        ),
        (
            Details::Exec(Exec {
                argv_unreadable: true,
                ..exec_details(&[], false, -14)
            }),
            json!({"filename": "/bin/ls", "argv": [], "argv_unreadable": true, "ret": -14, "error": "EFAULT"}),
        ),
        (
            exec(&[b"ls"], false, -13),
            json!({"filename": "/bin/ls", "argv": ["ls"], "ret": -13, "error": "EACCES"}),
        ),
    ];
    for (details, expected) in cases {
        assert_fields(&json_of(details), &expected);
    }
}

/// Every key of `expected` is in `json` with that value, and `json` has no other keys
/// beyond the common ones.
fn assert_fields(json: &Value, expected: &Value) {
    let object = json.as_object().unwrap();
    let expected = expected.as_object().unwrap();
    for (key, value) in expected {
        assert_eq!(object.get(key), Some(value), "{key} in {json}");
    }
    for key in object.keys() {
        assert!(
            COMMON.contains(&key.as_str()) || expected.contains_key(key),
            "unexpected {key} in {json}"
        );
    }
}

#[test]
fn ret_and_error() {
    let cases: &[(i32, Option<&str>)] = &[
        (0, None),
        (3, None),
        (i32::MAX, None),
        (-1, Some("EPERM")),
        (-2, Some("ENOENT")),
        (-13, Some("EACCES")),
        (-111, Some("ECONNREFUSED")),
        (-115, Some("EINPROGRESS")),
        (-512, Some("ERESTARTSYS")),
        // Unnamed codes are "E<n>".
        (-4000, Some("E4000")),
        (-41, Some("E41")),
    ];
    for &(ret, error) in cases {
        for details in [
            exec(&[], false, ret),
            open(0, ret),
            Details::Connect(sock(v4_addrs(), ret)),
            Details::Accept(sock(v4_addrs(), ret)),
        ] {
            let json = json_of(details);
            assert_eq!(json["ret"], ret, "{json}");
            assert_eq!(json.get("error").and_then(Value::as_str), error, "{json}");
        }
    }
}

#[test]
fn ret_of_i32_min_is_an_unnamed_code() {
    // A corrupt record can carry any ret; the README says an unnamed code becomes "E<n>".
    let json = json_of(Details::Connect(sock(v4_addrs(), i32::MIN)));
    assert_eq!(json["ret"], i32::MIN);
    assert_eq!(json["error"], "E2147483648");
}

#[test]
fn open_fields() {
    let cases: Vec<(Details, Value)> = vec![
        (
            open(0o1101, 3),
            json!({
                "path": "/etc/passwd", "flags": "O_WRONLY|O_CREAT|O_TRUNC", "mode": "0644",
                "dfd": -100, "syscall": "openat", "ret": 3, "latency_ns": 5_000,
            }),
        ),
        (
            open(
                (libc::O_RDONLY | libc::O_CLOEXEC | libc::O_DIRECTORY) as u32,
                -2,
            ),
            json!({
                "path": "/etc/passwd", "flags": "O_RDONLY|O_DIRECTORY|O_CLOEXEC",
                "mode": "0644", "dfd": -100, "syscall": "openat", "ret": -2,
                "error": "ENOENT", "latency_ns": 5_000,
            }),
        ),
        (
            Details::Open(Open {
                abs_path: None,
                path: b"rel".to_vec().into(),
                path_truncated: true,
                dfd: 7,
                flags: libc::O_RDWR as u32,
                mode: 0o4755,
                ret: -13,
                latency_ns: u64::MAX,
                syscall: crate::model::event::OpenSyscall::Open,
            }),
            json!({
                "path": "rel", "path_truncated": true, "flags": "O_RDWR", "mode": "4755",
                "dfd": 7, "syscall": "open", "ret": -13, "error": "EACCES",
                "latency_ns": u64::MAX,
            }),
        ),
    ];
    for (details, expected) in cases {
        assert_fields(&json_of(details), &expected);
    }
}

#[test]
fn connect_and_accept_fields() {
    let v4_local = Some((Ipv4Addr::new(10, 0, 0, 1).into(), 40000));
    let v4_remote = Some((Ipv4Addr::new(93, 184, 216, 34).into(), 443));
    let v6_remote = v6_addrs().remote;
    let cases: Vec<(SockAddrs, i32, Value)> = vec![
        (
            v4_addrs(),
            0,
            json!({
                "family": "inet", "proto": "tcp", "socktype": "stream", "laddr": "10.0.0.1", "lport": 40000,
                "raddr": "93.184.216.34", "rport": 443, "fd": 5, "ret": 0, "latency_ns": 7_000,
            }),
        ),
        (
            v6_addrs(),
            -111,
            json!({
                "family": "inet6", "proto": "tcp", "socktype": "stream", "laddr": "::1", "lport": 1, "raddr": "2001:db8::443",
                "rport": 65_535, "fd": 5, "ret": -111, "error": "ECONNREFUSED",
                "latency_ns": 7_000,
            }),
        ),
        (
            SockAddrs {
                local: None,
                remote: v4_remote,
            },
            -115,
            json!({
                "family": "inet", "proto": "tcp", "socktype": "stream", "raddr": "93.184.216.34", "rport": 443, "fd": 5,
                "ret": -115, "error": "EINPROGRESS", "latency_ns": 7_000,
            }),
        ),
        (
            // The family comes from whichever end is known.
            SockAddrs {
                local: None,
                remote: v6_remote,
            },
            0,
            json!({
                "family": "inet6", "proto": "tcp", "socktype": "stream", "raddr": "2001:db8::443", "rport": 65_535, "fd": 5,
                "ret": 0, "latency_ns": 7_000,
            }),
        ),
        (
            SockAddrs {
                local: v4_local,
                remote: None,
            },
            -11,
            json!({
                "family": "inet", "proto": "tcp", "socktype": "stream", "laddr": "10.0.0.1", "lport": 40000, "fd": 5, "ret": -11,
                "error": "EAGAIN", "latency_ns": 7_000,
            }),
        ),
        (
            // Port 0 (nothing bound) is a port, not an absent one.
            SockAddrs {
                local: Some((Ipv4Addr::UNSPECIFIED.into(), 0)),
                remote: v4_remote,
            },
            0,
            json!({
                "family": "inet", "proto": "tcp", "socktype": "stream", "laddr": "0.0.0.0", "lport": 0, "raddr": "93.184.216.34",
                "rport": 443, "fd": 5, "ret": 0, "latency_ns": 7_000,
            }),
        ),
        (
            // An IPv4-mapped IPv6 address stays IPv6 text.
            SockAddrs {
                local: Some((Ipv4Addr::new(127, 0, 0, 1).to_ipv6_mapped().into(), 80)),
                remote: None,
            },
            0,
            json!({
                "family": "inet6", "proto": "tcp", "socktype": "stream", "laddr": "::ffff:127.0.0.1", "lport": 80, "fd": 5,
                "ret": 0, "latency_ns": 7_000,
            }),
        ),
    ];
    for (addrs, ret, expected) in cases {
        let connect = json_of(Details::Connect(sock(addrs.clone(), ret)));
        assert_eq!(connect["type"], "connect");
        assert_fields(&connect, &expected);
        let accept = json_of(Details::Accept(sock(addrs, ret)));
        assert_eq!(accept["type"], "accept");
        assert_fields(&accept, &expected);
    }
}

#[test]
fn connects_of_other_families_name_their_socket() {
    let unix = |addr: &[u8], sock_type| Socket {
        family: 1,
        proto: 0,
        sock_type,
        unix_addr: Some(addr.into()),
    };
    let no_ends = SockAddrs {
        local: None,
        remote: None,
    };
    let connect = |socket: Socket, addrs: SockAddrs, ret: i32| {
        json_of(Details::Connect(SockInfo {
            socket,
            ..sock(addrs, ret)
        }))
    };
    let cases = [
        (
            connect(unix(b"/run/nscd/socket\0", 1), no_ends.clone(), -2),
            json!({
                "family": "unix", "socktype": "stream", "unix_path": "/run/nscd/socket",
                "fd": 5, "ret": -2, "error": "ENOENT", "latency_ns": 7_000,
            }),
        ),
        (
            connect(unix(b"\0ringside-test", 2), no_ends.clone(), 0),
            json!({
                "family": "unix", "socktype": "dgram", "unix_path": "@ringside-test",
                "fd": 5, "ret": 0, "latency_ns": 7_000,
            }),
        ),
        (
            connect(
                Socket {
                    family: 2,
                    proto: 17,
                    sock_type: 2,
                    unix_addr: None,
                },
                v4_addrs(),
                0,
            ),
            json!({
                "family": "inet", "proto": "udp", "socktype": "dgram", "laddr": "10.0.0.1",
                "lport": 40000, "raddr": "93.184.216.34", "rport": 443, "fd": 5, "ret": 0,
                "latency_ns": 7_000,
            }),
        ),
        (
            // A bad fd: nothing is known of the socket but the family the caller asked for.
            connect(
                Socket {
                    family: 16,
                    ..Socket::default()
                },
                no_ends,
                -9,
            ),
            json!({
                "family": "netlink", "fd": 5, "ret": -9, "error": "EBADF", "latency_ns": 7_000,
            }),
        ),
    ];
    for (json, expected) in cases {
        assert_fields(&json, &expected);
    }
}

fn dns(outcome: DnsOutcome, latency_ns: Option<u64>) -> Details {
    Details::Dns(Box::new(Dns {
        addrs: v4_addrs(),
        id: 7,
        query: "example.com".to_owned(),
        qtype: 28,
        outcome,
        answers: vec!["www.example.com".to_owned(), "2001:db8::1".to_owned()],
        answers_cut: false,
        latency_ns,
    }))
}

#[test]
fn dns_fields() {
    let cases = [
        (
            dns(DnsOutcome::Answered(0), Some(12_000_000)),
            json!({
                "family": "inet", "laddr": "10.0.0.1", "lport": 40000,
                "server": "93.184.216.34:443", "id": 7, "query": "example.com", "qtype": "AAAA",
                "rcode": "NOERROR", "answers": ["www.example.com", "2001:db8::1"],
                "latency_ns": 12_000_000,
            }),
        ),
        (
            dns(DnsOutcome::Answered(3), Some(1_000)),
            json!({
                "family": "inet", "laddr": "10.0.0.1", "lport": 40000,
                "server": "93.184.216.34:443", "id": 7, "query": "example.com", "qtype": "AAAA",
                "rcode": "NXDOMAIN", "answers": ["www.example.com", "2001:db8::1"],
                "latency_ns": 1_000,
            }),
        ),
        (
            dns(DnsOutcome::Timeout, None),
            json!({
                "family": "inet", "laddr": "10.0.0.1", "lport": 40000,
                "server": "93.184.216.34:443", "id": 7, "query": "example.com", "qtype": "AAAA",
                "rcode": "timeout", "answers": ["www.example.com", "2001:db8::1"],
            }),
        ),
    ];
    for (details, expected) in cases {
        let json = json_of(details);
        assert_eq!(json["type"], "dns");
        assert_fields(&json, &expected);
    }
}

#[test]
fn tcp_close_fields() {
    let cases: Vec<(Details, Value)> = vec![
        (
            tcp_close(v4_addrs(), Some(512), Some(65_536)),
            json!({
                "family": "inet", "laddr": "10.0.0.1", "lport": 40000,
                "raddr": "93.184.216.34", "rport": 443, "duration_ns": 1_500_000,
                "tx_bytes": 512, "rx_bytes": 65_536,
            }),
        ),
        (
            // Zero bytes is known, so present.
            tcp_close(v6_addrs(), Some(0), Some(0)),
            json!({
                "family": "inet6", "laddr": "::1", "lport": 1, "raddr": "2001:db8::443",
                "rport": 65_535, "duration_ns": 1_500_000, "tx_bytes": 0, "rx_bytes": 0,
            }),
        ),
        (
            tcp_close(v4_addrs(), None, None),
            json!({
                "family": "inet", "laddr": "10.0.0.1", "lport": 40000,
                "raddr": "93.184.216.34", "rport": 443, "duration_ns": 1_500_000,
            }),
        ),
        (
            tcp_close(
                SockAddrs {
                    local: None,
                    remote: None,
                },
                Some(u64::MAX),
                None,
            ),
            json!({
                "family": "inet", "duration_ns": 1_500_000, "tx_bytes": u64::MAX,
            }),
        ),
    ];
    for (details, expected) in cases {
        assert_fields(&json_of(details), &expected);
    }
}

#[test]
fn exit_status() {
    let cases: &[(i32, Value)] = &[
        (0, json!({"exit_code": 0, "lifetime_ns": 2_000})),
        (3 << 8, json!({"exit_code": 3, "lifetime_ns": 2_000})),
        (255 << 8, json!({"exit_code": 255, "lifetime_ns": 2_000})),
        (
            9,
            json!({"exit_code": 0, "signal": "SIGKILL", "lifetime_ns": 2_000}),
        ),
        (
            15,
            json!({"exit_code": 0, "signal": "SIGTERM", "lifetime_ns": 2_000}),
        ),
        (
            0x80 | 11,
            json!({
                "exit_code": 0, "signal": "SIGSEGV", "core_dumped": true, "lifetime_ns": 2_000,
            }),
        ),
        (
            0x80 | 6,
            json!({
                "exit_code": 0, "signal": "SIGABRT", "core_dumped": true, "lifetime_ns": 2_000,
            }),
        ),
        // Real-time signals have no fixed name.
        (
            34,
            json!({"exit_code": 0, "signal": "SIG34", "lifetime_ns": 2_000}),
        ),
    ];
    for (status, expected) in cases {
        assert_fields(&json_of(exit(*status)), expected);
    }
}

#[test]
fn fork_fields() {
    assert_fields(&json_of(fork()), &json!({"child_pid": 4300}));
    let json = json_of(Details::Fork(Fork {
        child_pid: u32::MAX,
        clone_flags: 0,
    }));
    assert_eq!(json["child_pid"], u32::MAX);
}

#[test]
fn strings_are_escaped_and_lossy() {
    let cases: &[(&[u8], &str)] = &[
        (b"worker", "worker"),
        (b"", ""),
        (b"\x1b[2Jevil", "\u{1b}[2Jevil"),
        (b"a\nb", "a\nb"),
        (b"tab\there", "tab\there"),
        (b"q\"uote\\", "q\"uote\\"),
        (b"\xffab", "\u{fffd}ab"),
        (b"ab\xc3", "ab\u{fffd}"),
        ("caf\u{e9}".as_bytes(), "caf\u{e9}"),
        (b"nul\0inside", "nul\0inside"),
    ];
    for &(raw, expected) in cases {
        let mut event = event(Details::Exec(Exec {
            abs_filename: None,
            filename: raw.to_vec().into(),
            filename_truncated: false,
            argv: vec![raw.to_vec().into(), b"x".to_vec().into()],
            argv_truncated: false,
            argv_unreadable: false,
            ret: 0,
        }));
        event.comm = raw.to_vec().into();
        let json = event_to_json(&event);
        // A command name is a C string in the kernel: it ends at a NUL.
        let comm = expected.split('\0').next().unwrap_or_default();
        assert_eq!(json["comm"], comm, "{raw:?}");
        assert_eq!(json["filename"], expected, "{raw:?}");
        assert_eq!(json["argv"], json!([expected, "x"]), "{raw:?}");
        let mut open = event.clone();
        open.details = Details::Open(Open {
            abs_path: None,
            path: raw.to_vec().into(),
            path_truncated: false,
            dfd: -100,
            flags: 0,
            mode: 0,
            ret: 3,
            latency_ns: 0,
            syscall: crate::model::event::OpenSyscall::Openat,
        });
        assert_eq!(event_to_json(&open)["path"], expected, "{raw:?}");

        // The printed line holds no control character: a terminal or a line-based reader
        // sees one line, and no escape sequence runs.
        for value in [json, event_to_json(&open)] {
            let text = line(&value);
            assert!(!text.bytes().any(|b| b < 0x20), "{text:?}");
            assert_eq!(serde_json::from_str::<Value>(&text).unwrap(), value);
        }
    }

    let mut evil = event(fork());
    evil.comm = b"\x1b[2Jevil".to_vec().into();
    let text = line(&event_to_json(&evil));
    assert!(text.contains(r#""comm":"\u001b[2Jevil""#), "{text}");
    assert!(!text.contains('\u{1b}'), "{text:?}");
}

#[test]
fn decoded_random_records_always_render() {
    use crate::ingest::decode::decode;
    use crate::ingest::test_records::random_records;

    let clock = crate::clock::WallClock::now().unwrap();
    let mut rendered = 0;
    for bytes in random_records(0x0bad_cafe_f00d_1234, 20_000) {
        let Ok(event) = decode(&bytes, &clock) else {
            continue;
        };
        let json = event_to_json(&event);
        assert_eq!(json["type"], event.kind().name());
        assert_rfc3339_nanos(json["time"].as_str().unwrap());
        let text = line(&json);
        assert!(!text.bytes().any(|b| b < 0x20), "{text:?}");
        rendered += 1;
    }
    assert!(rendered > 1_000, "{rendered} rendered");
}

#[test]
fn cgroup_fields_name_the_unit_and_container_or_say_the_path_is_unknown() {
    let id = "4f1b2c3d".repeat(8);
    let docker = crate::cgroups::CgroupInfo::of_path(&format!("/system.slice/docker-{id}.scope"));
    let json = event_to_json(&Event {
        cgroup_id: 4242,
        cgroup: Some(std::sync::Arc::new(docker)),
        ..event(fork())
    });
    assert_eq!(json["cgroup_id"], 4242);
    assert_eq!(json["cgroup"], format!("/system.slice/docker-{id}.scope"));
    assert_eq!(json["unit"], format!("docker-{id}.scope"));
    assert_eq!(json["container"], id);
    assert_eq!(json["container_runtime"], "docker");
    assert!(json.get("pod").is_none(), "{json}");

    let service = crate::cgroups::CgroupInfo::of_path("/system.slice/nginx.service");
    let json = event_to_json(&Event {
        cgroup_id: 7,
        cgroup: Some(std::sync::Arc::new(service)),
        ..event(fork())
    });
    assert_eq!(json["unit"], "nginx.service");
    assert!(json.get("container").is_none(), "{json}");

    // A cgroup gone before it was looked up: its id, and a word that the path is unknown.
    let json = event_to_json(&Event {
        cgroup_id: 99,
        cgroup: Some(std::sync::Arc::new(crate::cgroups::CgroupInfo::default())),
        ..event(fork())
    });
    assert_eq!(json["cgroup_id"], 99);
    assert_eq!(json["cgroup_unknown"], true);
    assert!(json.get("cgroup").is_none(), "{json}");
    let keys = keys(&json);
    let at = |key: &str| keys.iter().position(|k| *k == key).unwrap();
    assert!(at("cpu") < at("cgroup_id") && at("cgroup_id") < at("child_pid"));
}
