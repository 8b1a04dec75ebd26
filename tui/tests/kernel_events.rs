//! Kernel tests: load the real probes through the real binary, cause real events from this test
//! process and its children, and assert on the JSON that arrives.

mod support;

use std::io::{Read, Write};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::process::Command;

use serde_json::{Value, json};
use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

fn my_pid() -> u64 {
    u64::from(std::process::id())
}

#[test]
fn exec_success_and_failures_arrive_with_argv_and_errno() {
    if !kernel_tests_enabled("exec_success_and_failures_arrive_with_argv_and_errno") {
        return;
    }
    let dir = scratch_dir();
    let id = nonce();
    let program = dir.path().join(format!("true-{id}"));
    std::fs::copy("/bin/true", &program).expect("copy /bin/true");
    let not_executable = dir.path().join(format!("noexec-{id}"));
    std::fs::write(&not_executable, "#!/bin/sh\n").expect("write");
    std::fs::set_permissions(&not_executable, std::fs::Permissions::from_mode(0o644))
        .expect("chmod");
    let missing = dir.path().join(format!("missing-{id}"));
    let (program, missing, not_executable) = (
        path_string(&program),
        path_string(&missing),
        path_string(&not_executable),
    );
    let marker = format!("--marker-{id}");

    let ringside = Ringside::start(&["--events", "exec"]);
    let mut child = Command::new(&program)
        .args([marker.as_str(), "second arg"])
        .spawn()
        .expect("exec");
    let child_pid = u64::from(child.id());
    assert!(child.wait().expect("wait").success());
    assert!(Command::new(&missing).spawn().is_err());
    assert!(Command::new(&not_executable).spawn().is_err());

    let ok = ringside.wait_for("successful exec", |e| {
        is_type(e, "exec") && e["filename"] == program
    });
    assert_eq!(field(&ok, "pid"), child_pid);
    assert_eq!(field(&ok, "tid"), child_pid);
    assert_eq!(field(&ok, "ppid"), my_pid());
    assert_eq!(field(&ok, "uid"), 0);
    assert_eq!(field(&ok, "argv"), &json!([program, marker, "second arg"]));
    assert_eq!(field(&ok, "ret"), 0);
    assert!(ok.get("error").is_none(), "{ok}");
    let expected_comm: String = format!("true-{id}").chars().take(15).collect();
    assert_eq!(field(&ok, "comm"), &json!(expected_comm));
    assert!(
        field(&ok, "time")
            .as_str()
            .is_some_and(|t| t.ends_with('Z')),
        "{ok}"
    );

    let enoent = ringside.wait_for("ENOENT exec", |e| {
        is_type(e, "exec") && e["filename"] == missing
    });
    assert_eq!(field(&enoent, "ret"), -2);
    assert_eq!(field(&enoent, "error"), "ENOENT");
    assert_eq!(field(&enoent, "ppid"), my_pid());
    let eacces = ringside.wait_for("EACCES exec", |e| {
        is_type(e, "exec") && e["filename"] == not_executable
    });
    assert_eq!(field(&eacces, "error"), "EACCES");

    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
    assert!(
        finished
            .stderr
            .iter()
            .any(|l| l.starts_with("ringside: exec delivered=") && l.ends_with("dropped=0")),
        "no exec summary line: {:?}",
        finished.stderr
    );
    assert!(
        finished.events.iter().all(|e| is_type(e, "exec")),
        "--events exec let other types through"
    );
}

/// bcc #2627, Tracee #724: a child that calls exec right after fork has not touched the pages
/// of its string literals, so they cannot be read at the exec's entry. The new image has them.
#[test]
fn a_forked_child_s_exec_of_string_literals_keeps_its_filename_and_argv() {
    if !kernel_tests_enabled("a_forked_child_s_exec_of_string_literals_keeps_its_filename_and_argv")
    {
        return;
    }
    let program = &support::fixtures::fixtures().fork_execl;
    let arg = format!("runtime-{}", nonce());

    let ringside = Ringside::start(&["--events", "exec"]);
    let mut parent = Command::new(program)
        .arg(&arg)
        .stdout(std::process::Stdio::null())
        .spawn()
        .expect("run fork_execl");
    let parent_pid = u64::from(parent.id());
    assert!(parent.wait().expect("wait").success());

    let echo = ringside.wait_for("the forked child's exec", |e| {
        is_type(e, "exec") && e["ppid"] == parent_pid
    });
    assert_eq!(field(&echo, "filename"), "/bin/echo", "{echo}");
    assert_eq!(
        field(&echo, "argv"),
        &json!(["echo", "x", arg, "third arg with spaces"]),
        "{echo}"
    );
    assert_eq!(field(&echo, "ret"), 0);
    assert!(echo.get("argv_truncated").is_none(), "{echo}");
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
}

/// An argv that cannot be read is flagged, never passed off as an empty command line.
#[test]
fn an_exec_whose_argv_cannot_be_read_says_so() {
    if !kernel_tests_enabled("an_exec_whose_argv_cannot_be_read_says_so") {
        return;
    }
    let dir = scratch_dir();
    let missing = path_string(&dir.path().join(format!("missing-{}", nonce())));
    let path = std::ffi::CString::new(missing.clone()).expect("path");
    // The first argument's string at an address no process maps.
    let argv: [*const libc::c_char; 2] = [std::ptr::dangling(), std::ptr::null()];
    let envp: [*const libc::c_char; 1] = [std::ptr::null()];

    let ringside = Ringside::start(&["--events", "exec"]);
    // SAFETY: the arrays are NUL-terminated and outlive the call; the path does not exist, so
    // execve returns instead of replacing this process, and only the kernel looks at argv.
    let ret = unsafe { libc::execve(path.as_ptr(), argv.as_ptr(), envp.as_ptr()) };
    assert_eq!(ret, -1);

    let failed = ringside.wait_for("the failed exec", |e| {
        is_type(e, "exec") && e["filename"] == missing
    });
    assert_eq!(field(&failed, "argv_unreadable"), true, "{failed}");
    assert_eq!(field(&failed, "argv"), &json!([]), "{failed}");
    assert!(
        field(&failed, "ret").as_i64().is_some_and(|r| r < 0),
        "{failed}"
    );
    let finished = ringside.stop();
    assert!(finished.success, "{:?}", finished.stderr);
}

#[test]
fn opens_arrive_with_path_flags_result_and_latency() {
    if !kernel_tests_enabled("opens_arrive_with_path_flags_result_and_latency") {
        return;
    }
    let dir = scratch_dir();
    let id = nonce();
    let created = path_string(&dir.path().join(format!("created-{id}")));
    let missing = path_string(&dir.path().join(format!("missing-{id}")));

    let ringside = Ringside::start(&["--events", "open"]);
    std::fs::File::create(&created).expect("create");
    assert!(std::fs::File::open(&missing).is_err());
    let tid = u64::from(nix::unistd::gettid().as_raw() as u32);

    let create = ringside.wait_for("create open", |e| {
        is_type(e, "open") && e["path"] == created
    });
    assert_eq!(field(&create, "pid"), my_pid());
    assert_eq!(field(&create, "tid"), tid);
    assert_eq!(
        field(&create, "flags"),
        "O_WRONLY|O_CREAT|O_TRUNC|O_CLOEXEC"
    );
    assert_eq!(field(&create, "mode"), "0666");
    assert!(
        field(&create, "ret").as_i64().is_some_and(|fd| fd >= 0),
        "{create}"
    );
    assert!(create.get("error").is_none());
    assert!(
        field(&create, "latency_ns")
            .as_u64()
            .is_some_and(|ns| ns > 0)
    );

    let failed = ringside.wait_for("missing open", |e| {
        is_type(e, "open") && e["path"] == missing
    });
    assert_eq!(field(&failed, "ret"), -2);
    assert_eq!(field(&failed, "error"), "ENOENT");
    assert_eq!(field(&failed, "flags"), "O_RDONLY|O_CLOEXEC");
    ringside.stop();
}

/// One client/server exchange over loopback; returns (client port, server port).
fn exchange(listener: &TcpListener) -> (u16, u16) {
    let server_port = listener.local_addr().expect("addr").port();
    let mut client = TcpStream::connect(listener.local_addr().expect("addr")).expect("connect");
    let (mut server, _) = listener.accept().expect("accept");
    client.write_all(&[7; 100]).expect("client write");
    let mut buffer = [0; 100];
    server.read_exact(&mut buffer).expect("server read");
    server.write_all(&[9; 50]).expect("server write");
    client.read_exact(&mut buffer[..50]).expect("client read");
    let client_port = client.local_addr().expect("addr").port();
    drop(client);
    // Read the client's FIN so the server side closes cleanly too.
    let _ = server.read(&mut buffer);
    drop(server);
    (client_port, server_port)
}

fn check_tcp(ringside: &Ringside, family: &str, ip: &str, client_port: u16, server_port: u16) {
    let with_ports = |e: &Value, kind: &str, lport: u16, rport: u16| {
        is_type(e, kind) && e["lport"] == lport && e["rport"] == rport && e["family"] == family
    };
    let connect = ringside.wait_for("connect", |e| {
        with_ports(e, "connect", client_port, server_port)
    });
    assert_eq!(field(&connect, "pid"), my_pid());
    assert_eq!(field(&connect, "ret"), 0);
    assert_eq!(field(&connect, "laddr"), ip);
    assert_eq!(field(&connect, "raddr"), ip);

    let accept = ringside.wait_for("accept", |e| {
        with_ports(e, "accept", server_port, client_port)
    });
    assert_eq!(field(&accept, "pid"), my_pid());
    assert!(
        field(&accept, "ret").as_i64().is_some_and(|fd| fd >= 0),
        "{accept}"
    );
    assert_eq!(field(&accept, "raddr"), ip);

    let client_end = ringside.wait_for("client tcp_close", |e| {
        with_ports(e, "tcp_close", client_port, server_port)
    });
    assert_eq!(field(&client_end, "pid"), my_pid());
    assert_eq!(field(&client_end, "tx_bytes"), 100);
    assert_eq!(field(&client_end, "rx_bytes"), 50);
    assert!(
        field(&client_end, "duration_ns")
            .as_u64()
            .is_some_and(|ns| ns > 0)
    );

    let server_end = ringside.wait_for("server tcp_close", |e| {
        with_ports(e, "tcp_close", server_port, client_port)
    });
    assert_eq!(field(&server_end, "pid"), my_pid());
    assert_eq!(field(&server_end, "tx_bytes"), 50);
    assert_eq!(field(&server_end, "rx_bytes"), 100);
}

#[test]
fn tcp_connect_accept_and_close_over_ipv4_and_ipv6() {
    if !kernel_tests_enabled("tcp_connect_accept_and_close_over_ipv4_and_ipv6") {
        return;
    }
    let ringside = Ringside::start(&["--events", "connect,accept,tcp_close"]);

    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind v4");
    let (client, server) = exchange(&v4);
    check_tcp(&ringside, "inet", "127.0.0.1", client, server);

    let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).expect("bind v6");
    let (client, server) = exchange(&v6);
    check_tcp(&ringside, "inet6", "::1", client, server);

    // A port bound but not listening: the connect is refused. The port stays bound meanwhile,
    // so no other program's listener can take it, nor can the client's own ephemeral port be
    // it (a connect to oneself succeeds).
    let closed = tokio::net::TcpSocket::new_v4().expect("socket");
    closed
        .bind(SocketAddr::from((Ipv4Addr::LOCALHOST, 0)))
        .expect("bind");
    let closed_port = closed.local_addr().expect("addr").port();
    let refused = TcpStream::connect(SocketAddr::from((Ipv4Addr::LOCALHOST, closed_port)));
    assert!(refused.is_err());
    drop(closed);
    let event = ringside.wait_for("refused connect", |e| {
        is_type(e, "connect") && e["rport"] == closed_port
    });
    assert_eq!(field(&event, "ret"), -111);
    assert_eq!(field(&event, "error"), "ECONNREFUSED");
    assert_eq!(field(&event, "pid"), my_pid());
    ringside.stop();
}

#[test]
fn pid_tree_filter_follows_descendants_and_excludes_others() {
    if !kernel_tests_enabled("pid_tree_filter_follows_descendants_and_excludes_others") {
        return;
    }
    let dir = scratch_dir();
    let id = nonce();
    let go = path_string(&dir.path().join("go"));
    let inside = path_string(&dir.path().join(format!("inside-{id}")));
    let outside = path_string(&dir.path().join(format!("outside-{id}")));
    std::fs::write(&inside, "in").expect("write");
    std::fs::write(&outside, "out").expect("write");

    // The traced root waits for `go`, then a grandchild born after ringside started opens `inside`.
    let script =
        format!("while [ ! -e {go} ]; do sleep 0.02; done; sh -c 'cat {inside}' > /dev/null");
    let mut root = Command::new("/bin/sh")
        .args(["-c", &script])
        .spawn()
        .expect("spawn root");
    let root_id = root.id();
    let root_pid = root_id.to_string();
    let ringside = Ringside::start(&["--pid", &root_pid, "--tree", "--events", "open,exec,fork"]);

    std::fs::write(&go, "").expect("go");
    assert!(root.wait().expect("wait").success());
    let outsider = Command::new("/bin/cat")
        .arg(&outside)
        .output()
        .expect("cat outside");
    assert!(outsider.status.success());

    let opened = ringside.wait_for("open in the tree", |e| {
        is_type(e, "open") && e["path"] == inside
    });
    let cat_pid = field(&opened, "pid").clone();
    assert_ne!(
        cat_pid.to_string(),
        root_pid,
        "the open should come from a descendant"
    );
    let cat_exec = ringside.wait_for("cat exec", |e| is_type(e, "exec") && e["pid"] == cat_pid);
    assert_eq!(field(&cat_exec, "filename"), "/usr/bin/cat");

    let finished = ringside.stop();
    let strays: Vec<_> = finished
        .events
        .iter()
        .filter(|e| {
            e["path"] == outside || e["pid"] == my_pid() || e["argv"].to_string().contains(&outside)
        })
        .collect();
    assert!(
        strays.is_empty(),
        "events from outside the tree: {strays:?}"
    );
    let foreign: Vec<_> = finished
        .events
        .iter()
        .filter(|e| e["ppid"] == my_pid() && e["pid"] != u64::from(root_id))
        .collect();
    assert!(
        foreign.is_empty(),
        "events from the test's other children: {foreign:?}"
    );
}
