//! Kernel tests of what the kernel-side filters and loss accounting promise.

mod support;

use std::process::Command;

use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

/// Every open a traced process made is either delivered or counted as dropped, even when a tiny
/// ring buffer overflows: delivered + dropped == produced, exactly.
#[test]
fn a_small_ring_loses_nothing_silently() {
    if !kernel_tests_enabled("a_small_ring_loses_nothing_silently") {
        return;
    }
    const OPENS: usize = 20_000;
    let dir = scratch_dir();
    let go = path_string(&dir.path().join("go"));
    // dash opens /dev/null for each redirection without forking; waiting uses only stat.
    let script = format!(
        "while [ ! -e {go} ]; do sleep 0.02; done; i=0; \
         while [ $i -lt {OPENS} ]; do : < /dev/null; i=$((i+1)); done"
    );
    let mut load = Command::new("/bin/dash")
        .args(["-c", &script])
        .spawn()
        .expect("dash");
    let pid = load.id().to_string();
    let ringside = Ringside::start(&["--pid", &pid, "--events", "open", "--ring-size", "64K"]);
    std::fs::write(&go, "").expect("go");
    assert!(load.wait().expect("wait").success());
    let finished = ringside.stop();

    let delivered = finished
        .events
        .iter()
        .filter(|e| e["path"] == "/dev/null")
        .count();
    let others: Vec<_> = finished
        .events
        .iter()
        .filter(|e| e["path"] != "/dev/null")
        .collect();
    assert!(
        others.is_empty(),
        "the traced shell opened something else: {others:?}"
    );
    let summary = finished
        .stderr
        .iter()
        .find_map(|line| line.strip_prefix("ringside: open delivered="))
        .unwrap_or_else(|| panic!("no open summary: {:?}", finished.stderr));
    let (reported, dropped) = summary.split_once(" dropped=").expect("summary format");
    let (reported, dropped): (usize, usize) = (
        reported.parse().expect("delivered"),
        dropped.parse().expect("dropped"),
    );
    assert_eq!(
        reported, delivered,
        "the summary must count what was written"
    );
    assert_eq!(
        delivered + dropped,
        OPENS,
        "delivered {delivered} + dropped {dropped}"
    );
    eprintln!("64 KiB ring, {OPENS} opens: delivered {delivered}, dropped {dropped}");
}

/// `--comm` passes a command by the name it has after exec, and nothing else.
#[test]
fn comm_filter_passes_only_that_command() {
    if !kernel_tests_enabled("comm_filter_passes_only_that_command") {
        return;
    }
    let dir = scratch_dir();
    let id = nonce();
    let name = format!("rs{id}");
    let program = dir.path().join(&name);
    std::fs::copy("/bin/cat", &program).expect("copy cat");
    let target = path_string(&dir.path().join("target"));
    std::fs::write(&target, "x").expect("write");
    let comm: String = name.chars().take(15).collect();

    let ringside = Ringside::start(&["--comm", &comm, "--events", "exec,open"]);
    let traced = Command::new(&program)
        .arg(&target)
        .output()
        .expect("run copy");
    assert!(traced.status.success());
    let untraced = Command::new("/bin/cat")
        .arg(&target)
        .output()
        .expect("run cat");
    assert!(untraced.status.success());

    let exec = ringside.wait_for("exec of the named command", |e| {
        is_type(e, "exec") && e["comm"] == comm.as_str()
    });
    let pid = field(&exec, "pid").clone();
    ringside.wait_for("its open", |e| {
        is_type(e, "open") && e["path"] == target && e["pid"] == pid
    });
    let finished = ringside.stop();
    let strays: Vec<_> = finished
        .events
        .iter()
        .filter(|e| e["comm"] != comm.as_str())
        .collect();
    assert!(strays.is_empty(), "events of other commands: {strays:?}");
}

/// `--filter`: its pid part is enforced in the kernel, the rest (here `ret<0`) in userspace;
/// an invalid expression is refused with its column before anything is loaded.
#[test]
fn filter_expressions_narrow_the_stream() {
    if !kernel_tests_enabled("filter_expressions_narrow_the_stream") {
        return;
    }
    let dir = scratch_dir();
    let go = path_string(&dir.path().join("go"));
    let present = path_string(&dir.path().join("present"));
    let missing = path_string(&dir.path().join("missing"));
    std::fs::write(&present, "x").expect("write");
    let script =
        format!("while [ ! -e {go} ]; do sleep 0.02; done; : < {present}; : < {missing}; true");
    let mut shell = Command::new("/bin/dash")
        .args(["-c", &script])
        .spawn()
        .expect("dash");
    let pid = shell.id();
    let expression = format!("pid={pid} and type=open and ret<0");
    let ringside = Ringside::start(&["--filter", &expression]);
    std::fs::write(&go, "").expect("go");
    let _ = shell.wait();
    ringside.wait_for("the failed open", |e| e["path"] == missing.as_str());
    let finished = ringside.stop();
    let strays: Vec<_> = finished
        .events
        .iter()
        .filter(|e| {
            e["pid"] != pid || e["type"] != "open" || e["ret"].as_i64().is_none_or(|r| r >= 0)
        })
        .collect();
    assert!(strays.is_empty(), "events outside the filter: {strays:?}");
    assert!(
        !finished
            .events
            .iter()
            .any(|e| e["path"] == present.as_str())
    );

    let refused = Command::new(env!("CARGO_BIN_EXE_ringside"))
        .args([
            "--json",
            "--filter",
            "pid=1 and pdi=2",
            "--log-file",
            "/dev/null",
        ])
        .output()
        .expect("ringside runs");
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(
        stderr.contains("column 11") && stderr.contains("pdi"),
        "{stderr}"
    );
}

/// An address prefix in the filter goes into the kernel's LPM tries: a connect to another
/// address is not even delivered (userspace has nothing to filter out).
#[test]
fn address_prefixes_are_enforced_in_the_kernel() {
    if !kernel_tests_enabled("address_prefixes_are_enforced_in_the_kernel") {
        return;
    }
    use std::net::{Ipv4Addr, Ipv6Addr, TcpListener, TcpStream};
    let v4 = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind v4");
    let v6 = TcpListener::bind((Ipv6Addr::LOCALHOST, 0)).expect("bind v6");
    let ringside = Ringside::start(&["--events", "connect", "--filter", "addr=::1/128"]);
    let _a = TcpStream::connect(v4.local_addr().expect("addr")).expect("connect v4");
    let _b = TcpStream::connect(v6.local_addr().expect("addr")).expect("connect v6");
    let v6_port = v6.local_addr().expect("addr").port();
    ringside.wait_for("the IPv6 connect", |e| e["rport"] == v6_port);
    let finished = ringside.stop();
    let strays: Vec<_> = finished
        .events
        .iter()
        .filter(|e| e["raddr"] != "::1")
        .collect();
    assert!(strays.is_empty(), "{strays:?}");
    assert!(
        !finished
            .stderr
            .iter()
            .any(|l| l.starts_with("ringside: filtered_out=")),
        "the IPv4 connect reached userspace: {:?}",
        finished.stderr
    );
}
