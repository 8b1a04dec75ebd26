//! Kernel tests of connects on sockets of every family and of DNS lookups: real sockets, a
//! real DNS responder on 127.0.0.1, glibc's own resolver, and the JSON ringside reports.

mod support;

use std::fs::File;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, UdpSocket};
use std::os::fd::OwnedFd;
use std::os::linux::net::SocketAddrExt as _;
use std::os::unix::net::{SocketAddr as UnixAddr, UnixListener, UnixStream};
use std::process::Command;
use std::time::Duration;

use serde_json::Value;
use support::dns_responder::{DnsResponder, query_bytes};
use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

fn my_pid() -> u64 {
    u64::from(std::process::id())
}

fn connect_to(ringside: &Ringside, unix_path: &str) -> Value {
    ringside.wait_for(&format!("connect to {unix_path}"), |e| {
        is_type(e, "connect") && e["unix_path"] == unix_path && e["pid"] == my_pid()
    })
}

#[test]
fn unix_connects_name_their_path_abstract_name_and_error() {
    if !kernel_tests_enabled("unix_connects_name_their_path_abstract_name_and_error") {
        return;
    }
    let dir = scratch_dir();
    let socket_path = dir.path().join("server.sock");
    let missing_path = dir.path().join("missing.sock");
    let abstract_name = format!("ringside-test-{}", nonce());
    let ringside = Ringside::start(&["--events", "connect"]);

    let _listener = UnixListener::bind(&socket_path).expect("bind");
    let _client = UnixStream::connect(&socket_path).expect("connect");
    let connect = connect_to(&ringside, &path_string(&socket_path));
    assert_eq!(field(&connect, "family"), "unix");
    assert_eq!(field(&connect, "socktype"), "stream");
    assert_eq!(field(&connect, "ret"), 0);
    assert!(connect.get("proto").is_none(), "{connect}");

    let refused = UnixStream::connect(&missing_path);
    assert!(refused.is_err());
    let connect = connect_to(&ringside, &path_string(&missing_path));
    assert_eq!(field(&connect, "ret"), -2);
    assert_eq!(field(&connect, "error"), "ENOENT");

    let address = UnixAddr::from_abstract_name(abstract_name.as_bytes()).expect("name");
    let _abstract_listener = UnixListener::bind_addr(&address).expect("bind abstract");
    let _abstract_client = UnixStream::connect_addr(&address).expect("connect abstract");
    let connect = connect_to(&ringside, &format!("@{abstract_name}"));
    assert_eq!(field(&connect, "ret"), 0);

    ringside.stop();
    drop(dir);
}

#[test]
fn a_udp_connect_says_udp() {
    if !kernel_tests_enabled("a_udp_connect_says_udp") {
        return;
    }
    let server = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind server");
    let server_port = server.local_addr().expect("addr").port();
    let ringside = Ringside::start(&["--events", "connect"]);
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind client");
    client
        .connect(server.local_addr().expect("addr"))
        .expect("connect");
    let client_port = client.local_addr().expect("addr").port();
    let connect = ringside.wait_for("udp connect", |e| {
        is_type(e, "connect") && e["rport"] == server_port && e["pid"] == my_pid()
    });
    assert_eq!(field(&connect, "family"), "inet");
    assert_eq!(field(&connect, "proto"), "udp");
    assert_eq!(field(&connect, "socktype"), "dgram");
    assert_eq!(field(&connect, "raddr"), "127.0.0.1");
    assert_eq!(field(&connect, "lport"), client_port);
    assert_eq!(field(&connect, "ret"), 0);
    ringside.stop();
}

fn lookup_of(ringside: &Ringside, name: &str) -> Value {
    ringside.wait_for(&format!("dns lookup of {name}"), |e| {
        is_type(e, "dns") && e["query"] == name
    })
}

fn symbols(stack: &Value) -> Vec<String> {
    stack
        .as_array()
        .map(|frames| {
            frames
                .iter()
                .filter_map(|frame| frame["symbol"].as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn dns_queries_pair_with_their_answers_whichever_call_sends_them() {
    if !kernel_tests_enabled("dns_queries_pair_with_their_answers_whichever_call_sends_them") {
        return;
    }
    let tag = nonce();
    let found = format!("found-{tag}.ringside.test");
    let written = format!("written-{tag}.ringside.test");
    let missing = format!("missing-{tag}.ringside.test");
    // Port 53 is what makes a packet DNS. The glibc test below holds 127.0.0.1:53; tests run
    // side by side, so this one serves another loopback address.
    let responder = DnsResponder::start_on(
        SocketAddr::from((Ipv4Addr::new(127, 0, 83, 1), 53)),
        &[
            (&found, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 7))),
            (&written, IpAddr::V4(Ipv4Addr::new(192, 0, 2, 8))),
        ],
    )
    .expect("a responder on 127.0.83.1:53");
    let server = responder.addr();
    let ringside = Ringside::start(&["--events", "dns"]);

    // sendto() on an unconnected socket, then recvfrom().
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    client
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    client
        .send_to(&query_bytes(0x4242, &found, 1), server)
        .expect("send");
    let mut reply = [0; 512];
    client.recv_from(&mut reply).expect("answer");
    let lookup = lookup_of(&ringside, &found);
    assert_eq!(field(&lookup, "pid"), my_pid());
    assert_eq!(field(&lookup, "qtype"), "A");
    assert_eq!(field(&lookup, "rcode"), "NOERROR");
    assert_eq!(field(&lookup, "answers"), &serde_json::json!(["192.0.2.7"]));
    assert_eq!(field(&lookup, "server"), "127.0.83.1:53");
    assert_eq!(
        field(&lookup, "lport"),
        client.local_addr().expect("addr").port()
    );
    assert!(
        field(&lookup, "latency_ns")
            .as_u64()
            .is_some_and(|ns| ns > 0)
    );
    // The sender's stacks: this test in user space, the UDP send path in the kernel.
    let kernel = symbols(field(&lookup, "kstack"));
    assert!(
        kernel.iter().any(|s| s.contains("udp_sendmsg")),
        "no udp_sendmsg in {kernel:?}"
    );
    assert!(
        !symbols(field(&lookup, "ustack")).is_empty(),
        "no user stack: {lookup}"
    );

    // write() on a connected socket, as Go's resolver sends.
    let connected = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    connected.connect(server).expect("connect");
    connected
        .set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    let reader = connected.try_clone().expect("clone");
    let mut file = File::from(OwnedFd::from(connected));
    file.write_all(&query_bytes(7, &written, 1)).expect("write");
    reader.recv(&mut reply).expect("answer");
    let lookup = lookup_of(&ringside, &written);
    assert_eq!(field(&lookup, "rcode"), "NOERROR");
    assert_eq!(field(&lookup, "answers"), &serde_json::json!(["192.0.2.8"]));
    assert_eq!(field(&lookup, "id"), 7);

    // A name the server does not know.
    client
        .send_to(&query_bytes(9, &missing, 1), server)
        .expect("send");
    client.recv_from(&mut reply).expect("answer");
    let lookup = lookup_of(&ringside, &missing);
    assert_eq!(field(&lookup, "rcode"), "NXDOMAIN");
    assert_eq!(field(&lookup, "answers"), &serde_json::json!([]));

    ringside.stop();
    drop(responder);
}

#[test]
fn a_query_nobody_answers_times_out_after_five_seconds() {
    if !kernel_tests_enabled("a_query_nobody_answers_times_out_after_five_seconds") {
        return;
    }
    let name = format!("silent-{}.ringside.test", nonce());
    let ringside = Ringside::start(&["--events", "dns"]);
    let client = UdpSocket::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    // Port 53 of a loopback address where nothing listens: the query leaves, no answer comes.
    client
        .send_to(
            &query_bytes(1, &name, 28),
            (Ipv4Addr::new(127, 0, 0, 2), 53),
        )
        .expect("send");
    let lookup = lookup_of(&ringside, &name);
    assert_eq!(field(&lookup, "rcode"), "timeout");
    assert_eq!(field(&lookup, "qtype"), "AAAA");
    assert!(lookup.get("latency_ns").is_none(), "{lookup}");
    ringside.stop();
}

#[test]
fn glibc_s_resolver_is_seen_asking_and_getting_its_answer() {
    if !kernel_tests_enabled("glibc_s_resolver_is_seen_asking_and_getting_its_answer") {
        return;
    }
    let name = format!("glibc-{}.ringside.test", nonce());
    let responder = DnsResponder::start_on(
        SocketAddr::from((Ipv4Addr::LOCALHOST, 53)),
        &[
            (&name, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 9))),
            (
                &name,
                IpAddr::V6(Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 9)),
            ),
        ],
    )
    .expect("a responder on 127.0.0.1:53 (is another DNS server bound there?)");
    let dir = scratch_dir();
    let resolv = dir.path().join("resolv.conf");
    std::fs::write(
        &resolv,
        "nameserver 127.0.0.1\noptions attempts:1 timeout:2\n",
    )
    .expect("resolv.conf");
    let ringside = Ringside::start(&["--events", "dns"]);
    // In a mount namespace of its own, glibc reads our resolv.conf instead of the host's.
    let script = format!(
        "mount --bind {} /etc/resolv.conf && exec getent hosts {name}",
        path_string(&resolv)
    );
    let output = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "sh", "-c", &script])
        .output()
        .expect("unshare");
    let printed = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success() && printed.contains(&name),
        "getent failed: {printed} {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let lookup = lookup_of(&ringside, &name);
    assert_eq!(field(&lookup, "comm"), "getent");
    assert_eq!(field(&lookup, "rcode"), "NOERROR");
    assert_eq!(field(&lookup, "server"), "127.0.0.1:53");
    let answers = field(&lookup, "answers").to_string();
    assert!(
        answers.contains("198.51.100.9") || answers.contains("2001:db8::9"),
        "{lookup}"
    );
    ringside.stop();
    drop(responder);
}
