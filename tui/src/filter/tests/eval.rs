//! Filters against synthetic events of every kind.

use std::collections::BTreeMap;
use std::net::Ipv4Addr;

use super::support::{Tree, event, exec, exit, fork, open, sock, tcp_close, v4_addrs, v6_addrs};
use crate::filter::Filter;
use crate::model::event::{Details, Event, SockAddrs};

/// One event of every kind, plus failed variants, all from pid 4242 (`worker`, uid 1000).
fn events() -> Vec<(&'static str, Event)> {
    vec![
        ("exec", event(exec("/bin/ls", 0))),
        ("exec_fail", event(exec("/usr/bin/nope", -2))),
        ("open", event(open("/etc/passwd", 3))),
        ("open_fail", event(open("/etc/shadow", -13))),
        ("connect", event(Details::Connect(sock(v4_addrs(), -111)))),
        ("accept", event(Details::Accept(sock(v6_addrs(), 6)))),
        ("tcp_close", event(tcp_close(v4_addrs()))),
        ("exit", event(exit(0))),
        ("fork", event(fork(4300))),
    ]
}

/// 4242's parent is 100, whose parent is 1.
fn tree() -> Tree {
    Tree(BTreeMap::from([(4242, 100), (100, 1)]))
}

fn matching(text: &str, events: &[(&'static str, Event)]) -> Vec<&'static str> {
    let filter = Filter::parse(text).unwrap_or_else(|error| panic!("{text:?}: {error}"));
    events
        .iter()
        .filter(|(_, event)| filter.matches(event, &tree()))
        .map(|(name, _)| *name)
        .collect()
}

#[test]
fn every_kind() {
    const ALL: &[&str] = &[
        "exec",
        "exec_fail",
        "open",
        "open_fail",
        "connect",
        "accept",
        "tcp_close",
        "exit",
        "fork",
    ];
    let cases: &[(&str, &[&str])] = &[
        ("", ALL),
        ("  ", ALL),
        ("type=exec", &["exec", "exec_fail"]),
        ("type=open", &["open", "open_fail"]),
        ("type=files", &["open", "open_fail"]),
        ("type=connect", &["connect"]),
        ("type=accept", &["accept"]),
        ("type=tcp_close", &["tcp_close"]),
        ("type=exit", &["exit"]),
        ("type=fork", &["fork"]),
        ("type=network", &["connect", "accept", "tcp_close"]),
        ("type=process", &["exec", "exec_fail", "exit", "fork"]),
        (
            "type!=network",
            &["exec", "exec_fail", "open", "open_fail", "exit", "fork"],
        ),
        // Results: events without one never match, not even `!=`.
        ("ret<0", &["exec_fail", "open_fail", "connect"]),
        ("ret=0", &["exec"]),
        (
            "ret!=0",
            &["exec_fail", "open", "open_fail", "connect", "accept"],
        ),
        ("ret>=3", &["open", "accept"]),
        ("ret>3", &["accept"]),
        ("ret<=-13", &["open_fail", "connect"]),
        ("ret=-111", &["connect"]),
        (
            "not ret<0",
            &["exec", "open", "accept", "tcp_close", "exit", "fork"],
        ),
        ("error=ENOENT", &["exec_fail"]),
        ("error=enoent", &["exec_fail"]),
        ("error=E2", &["exec_fail"]),
        ("error=EACCES", &["open_fail"]),
        ("error=ECONNREFUSED", &["connect"]),
        ("error!=ENOENT", &["open_fail", "connect"]),
        ("error~CONN", &["connect"]),
        ("error~conn", &["connect"]),
        ("error~e*", &["exec_fail", "open_fail", "connect"]),
        ("error~E?CCES", &["open_fail"]),
        ("error=EPERM", &[]),
        // Paths: open's path and exec's filename.
        ("path=/etc/passwd", &["open"]),
        ("path=/bin/ls", &["exec"]),
        ("path=/etc", &[]),
        ("path~etc", &["open", "open_fail"]),
        ("path~/etc/*", &["open", "open_fail"]),
        ("path~/bin/l?", &["exec"]),
        ("path~*/nope", &["exec_fail"]),
        ("path~bin", &["exec", "exec_fail"]),
        ("path!=/etc/passwd", &["exec", "exec_fail", "open_fail"]),
        // Addresses and ports: either end.
        ("addr=10.0.0.0/8", &["connect", "tcp_close"]),
        ("addr=10.0.0.1", &["connect", "tcp_close"]),
        ("addr=93.184.216.34", &["connect", "tcp_close"]),
        ("addr=93.184.216.0/24", &["connect", "tcp_close"]),
        ("addr=192.168.0.0/16", &["accept"]),
        ("addr=::ffff:192.168.1.5", &["accept"]),
        ("addr=::1", &["accept"]),
        ("addr=::/0", &["accept"]),
        ("addr=0.0.0.0/0", &["connect", "accept", "tcp_close"]),
        ("addr!=127.0.0.0/8", &["connect", "accept", "tcp_close"]),
        ("addr!=10.0.0.0/8", &["accept"]),
        ("addr=127.0.0.1", &[]),
        ("port=443", &["connect", "tcp_close"]),
        ("port=40000", &["connect", "tcp_close"]),
        ("port=8080", &["accept"]),
        ("port!=443", &["accept"]),
        ("port>50000", &["accept"]),
        ("port<1024", &["connect", "tcp_close"]),
        // Each comparison may pick either end: 40000 >= 8080 and 443 <= 8080.
        (
            "port>=8080 and port<=8080",
            &["connect", "accept", "tcp_close"],
        ),
        ("port>=8080 and port<=8080 and not port=40000", &["accept"]),
        // Identity.
        ("pid=4242", ALL),
        ("pid!=4242", &[]),
        ("pid>4000 and pid<=4242", ALL),
        ("pid<4242", &[]),
        ("ppid=1", ALL),
        ("uid=1000", ALL),
        ("uid=0", &[]),
        ("comm=worker", ALL),
        ("comm=work", &[]),
        ("comm=WORKER", &[]),
        ("comm~ork", ALL),
        ("comm~w*r", ALL),
        ("comm~w*k", &[]),
        ("comm!=worker", &[]),
        ("tree=4242", ALL),
        ("tree=100", ALL),
        ("tree=1", ALL),
        ("tree=99", &[]),
        ("tree!=99", ALL),
        ("tree!=100", &[]),
        // Combinations and precedence.
        (
            "type=open and ret<0 or type=connect",
            &["open_fail", "connect"],
        ),
        ("type=open and (ret<0 or type=connect)", &["open_fail"]),
        (
            "not (type=open or type=exec)",
            &["connect", "accept", "tcp_close", "exit", "fork"],
        ),
        (
            "!type=open && !type=exec",
            &["connect", "accept", "tcp_close", "exit", "fork"],
        ),
        ("not not type=exit", &["exit"]),
        (
            "tree=4242 and (type=open or type=connect) and ret<0",
            &["open_fail", "connect"],
        ),
        ("type=network and not addr=10.0.0.0/8", &["accept"]),
    ];
    let events = events();
    for &(text, expected) in cases {
        assert_eq!(matching(text, &events), expected, "{text:?}");
    }
}

#[test]
fn tree_follows_the_ancestry() {
    let tree = Tree(BTreeMap::from([(7, 5), (5, 3), (9, 3), (3, 1)]));
    let cases: &[(u32, &str, bool)] = &[
        (7, "tree=7", true),
        (7, "tree=5", true),
        (7, "tree=3", true),
        (7, "tree=1", true),
        (7, "tree=9", false),
        (9, "tree=5", false),
        (9, "tree=3", true),
        (3, "tree=5", false),
        (42, "tree=1", false),
        (42, "tree!=1", true),
    ];
    for &(pid, text, expected) in cases {
        let mut event = event(exit(0));
        event.pid = pid;
        let filter = Filter::parse(text).unwrap();
        assert_eq!(filter.matches(&event, &tree), expected, "pid {pid}: {text}");
    }
}

#[test]
fn comm_compares_what_the_kernel_keeps() {
    let cases: &[(&[u8], &str, bool)] = &[
        // The kernel keeps 15 bytes of a name, and so does `comm=`.
        (b"systemd-journal", "comm=systemd-journald", true),
        (b"systemd-journal", "comm=systemd-journal", true),
        (b"systemd-journal", "comm=systemd-journ", false),
        (b"systemd-journal", "comm!=systemd-journald", false),
        (b"systemd-journal", "comm~journald", false),
        // Names are bytes: `=` never equals invalid UTF-8, `~` sees it as U+FFFD.
        (b"a\xffb", "comm=\"a\u{fffd}b\"", false),
        (b"a\xffb", "comm!=\"a\u{fffd}b\"", true),
        (b"a\xffb", "comm~\"\u{fffd}\"", true),
        (b"a\xffb", "comm~a?b", true),
        (b"caf\xc3\xa9", "comm=café", true),
        (b"caf\xc3\xa9", "comm~caf?", true),
        (b"", "comm=\"\"", true),
        (b"x", "comm~\"\"", true),
    ];
    for &(comm, text, expected) in cases {
        let mut event = event(exit(0));
        event.comm = comm.to_vec().into();
        let filter = Filter::parse(text).unwrap();
        assert_eq!(
            filter.matches(&event, &tree()),
            expected,
            "{comm:?}: {text}"
        );
    }
}

#[test]
fn errors_are_named_like_the_json_output() {
    let cases: &[(i32, &str, bool)] = &[
        (-11, "error=EAGAIN", true),
        (-11, "error=EWOULDBLOCK", true),
        (-95, "error=ENOTSUP", true),
        (-512, "error=ERESTARTSYS", true),
        (-600, "error=E600", true),
        (-600, "error~E6", true),
        (i32::MIN, "error=E2147483648", true),
        (0, "error~E", false),
        (0, "error!=ENOENT", false),
        (5, "error!=ENOENT", false),
    ];
    for &(ret, text, expected) in cases {
        let event = event(open("/x", ret));
        let filter = Filter::parse(text).unwrap();
        assert_eq!(
            filter.matches(&event, &tree()),
            expected,
            "ret {ret}: {text}"
        );
    }
}

/// Exits that succeeded, failed with a code, and were killed (one dumping core), beside an
/// open without either field.
fn exit_events() -> Vec<(&'static str, Event)> {
    vec![
        ("ok", event(exit(0))),
        ("code1", event(exit(1 << 8))),
        ("code255", event(exit(255 << 8))),
        ("killed", event(exit(libc::SIGKILL))),
        ("segv_core", event(exit(libc::SIGSEGV | 0x80))),
        ("realtime", event(exit(40))),
        ("open", event(open("/etc/passwd", 3))),
    ]
}

#[test]
fn exit_code_and_signal_select_how_processes_ended() {
    let events = exit_events();
    let cases: &[(&str, &[&str])] = &[
        // A killed process's code is 0; other kinds have no code at all.
        ("exit_code!=0", &["code1", "code255"]),
        ("exit_code=0", &["ok", "killed", "segv_core", "realtime"]),
        ("exit_code>1", &["code255"]),
        ("not exit_code=0", &["code1", "code255", "open"]),
        ("signal=SIGKILL", &["killed"]),
        ("signal=kill", &["killed"]),
        ("signal=9", &["killed"]),
        ("signal=SIGSEGV", &["segv_core"]),
        ("signal=40", &["realtime"]),
        ("signal=SIG40", &["realtime"]),
        ("signal!=SIGKILL", &["segv_core", "realtime"]),
        ("signal~SEGV", &["segv_core"]),
        ("signal~*", &["killed", "segv_core", "realtime"]),
        (
            "exit_code!=0 or signal~*",
            &["code1", "code255", "killed", "segv_core", "realtime"],
        ),
    ];
    for (text, expected) in cases {
        assert_eq!(matching(text, &events), *expected, "{text}");
    }
}

#[test]
fn unknown_ends_are_skipped() {
    let remote_only = SockAddrs {
        local: None,
        remote: Some((Ipv4Addr::new(1, 2, 3, 4).into(), 53)),
    };
    let neither = SockAddrs {
        local: None,
        remote: None,
    };
    let cases: &[(&SockAddrs, &str, bool)] = &[
        (&remote_only, "addr=1.2.3.4", true),
        (&remote_only, "addr!=1.2.3.4", false),
        (&remote_only, "addr!=10.0.0.0/8", true),
        (&remote_only, "port=53", true),
        (&remote_only, "port!=53", false),
        (&remote_only, "port=0", false),
        // Nothing known: no comparison holds, `!=` included.
        (&neither, "addr=0.0.0.0/0", false),
        (&neither, "addr!=10.0.0.0/8", false),
        (&neither, "port!=1", false),
        (&neither, "not port=1", true),
    ];
    for &(addrs, text, expected) in cases {
        let event = event(Details::Connect(sock(addrs.clone(), 0)));
        let filter = Filter::parse(text).unwrap();
        assert_eq!(
            filter.matches(&event, &tree()),
            expected,
            "{addrs:?}: {text}"
        );
    }
}

#[test]
fn match_all_matches_everything() {
    let filter = Filter::match_all();
    for (name, event) in events() {
        assert!(filter.matches(&event, &tree()), "{name}");
    }
}

/// A unix connect to `path`, and a DNS lookup of `name`.
fn socket_and_dns_events() -> Vec<(&'static str, Event)> {
    let unix = |addr: &[u8]| {
        Details::Connect(crate::model::event::SockInfo {
            socket: crate::model::event::Socket {
                family: 1,
                proto: 0,
                sock_type: 1,
                unix_addr: Some(addr.into()),
            },
            ..sock(
                SockAddrs {
                    local: None,
                    remote: None,
                },
                0,
            )
        })
    };
    let dns = |name: &str, rcode| {
        Details::Dns(Box::new(crate::model::event::Dns {
            addrs: v4_addrs(),
            id: 1,
            query: name.to_owned(),
            qtype: 1,
            outcome: crate::model::event::DnsOutcome::Answered(rcode),
            answers: Vec::new(),
            answers_cut: false,
            latency_ns: Some(1),
        }))
    };
    vec![
        ("nscd", event(unix(b"/run/nscd/socket\0"))),
        ("abstract", event(unix(b"\0/tmp/.X11-unix/X0"))),
        ("open", event(open("/run/nscd/socket", 3))),
        ("found", event(dns("api.example.com", 0))),
        ("nxdomain", event(dns("nope.example.org", 3))),
    ]
}

#[test]
fn unix_matches_socket_paths_and_path_does_not() {
    let events = socket_and_dns_events();
    let cases: &[(&str, &[&str])] = &[
        ("unix=/run/nscd/socket", &["nscd"]),
        ("unix~/run/*", &["nscd"]),
        ("unix~@*", &["abstract"]),
        ("unix=@/tmp/.X11-unix/X0", &["abstract"]),
        ("path=/run/nscd/socket", &["open"]),
        ("type=network and not unix~*", &["found", "nxdomain"]),
    ];
    for (text, expected) in cases {
        assert_eq!(matching(text, &events), *expected, "{text}");
    }
}

#[test]
fn query_matches_the_name_a_lookup_asked_for() {
    let events = socket_and_dns_events();
    let cases: &[(&str, &[&str])] = &[
        ("query=api.example.com", &["found"]),
        ("query~*.example.*", &["found", "nxdomain"]),
        ("query~*.org", &["nxdomain"]),
        ("type=dns", &["found", "nxdomain"]),
        ("query!=api.example.com", &["nxdomain"]),
    ];
    for (text, expected) in cases {
        assert_eq!(matching(text, &events), *expected, "{text}");
    }
}

/// Events of a service, of a docker container, of a process whose cgroup is gone, and of one
/// whose cgroup is unknown.
fn cgroup_events() -> Vec<(&'static str, Event)> {
    use crate::cgroups::CgroupInfo;
    use std::sync::Arc;
    let in_cgroup = |path: &str| {
        let mut e = event(open("/etc/hosts", 3));
        e.cgroup = Some(Arc::new(CgroupInfo::of_path(path)));
        e
    };
    let id = "0123456789abcdef".repeat(4);
    let mut gone = event(open("/etc/hosts", 3));
    gone.cgroup = Some(Arc::new(CgroupInfo::default()));
    vec![
        ("nginx", in_cgroup("/system.slice/nginx.service")),
        (
            "docker",
            in_cgroup(&format!("/system.slice/docker-{id}.scope")),
        ),
        ("gone", gone),
        ("unknown", event(open("/etc/hosts", 3))),
    ]
}

#[test]
fn cgroup_unit_and_container_match_what_the_path_names() {
    let events = cgroup_events();
    let cases: &[(&str, &[&str])] = &[
        ("unit=nginx.service", &["nginx"]),
        ("unit~docker-*", &["docker"]),
        ("cgroup=/system.slice/nginx.service", &["nginx"]),
        ("cgroup~/system.slice/*", &["nginx", "docker"]),
        // A prefix of 12 hex digits is enough; fewer is not.
        ("container=0123456789ab", &["docker"]),
        ("container=0123456789a", &[]),
        ("unit!=nginx.service", &["docker"]),
        // A cgroup whose path is unknown has none of the fields.
        ("not unit~*", &["gone", "unknown"]),
    ];
    for (text, expected) in cases {
        assert_eq!(matching(text, &events), *expected, "{text}");
    }
}
