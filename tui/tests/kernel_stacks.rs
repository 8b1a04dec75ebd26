//! Kernel tests of stacks: real events from purpose-built programs whose call chains are
//! known, symbolized while the process lives and after it is gone.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use serde_json::Value;
use support::fixtures::fixtures;
use support::stacks::{assert_chain, symbols};
use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

fn open_event(ringside: &Ringside, path: &str) -> Value {
    ringside.wait_for("open with a stack", |e| {
        is_type(e, "open") && e["path"] == path
    })
}

#[test]
fn user_stacks_name_the_callers_in_order_while_alive_and_after_exit() {
    if !kernel_tests_enabled("user_stacks_name_the_callers_in_order_while_alive_and_after_exit") {
        return;
    }
    let program = &fixtures().c;
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open"]);
    for how in ["linger", "exit"] {
        let marker = path_string(&dir.path().join(format!("{how}-{}", nonce())));
        let mut child = Command::new(program)
            .args(["open", &marker, how])
            .spawn()
            .expect("fixture");
        let pid = child.id();
        if how == "exit" {
            assert!(child.wait().expect("wait").success());
        }
        let event = open_event(&ringside, &marker);
        assert_eq!(field(&event, "pid"), u64::from(pid));
        let stack = field(&event, "ustack");
        assert_chain(
            stack,
            "nested.c",
            &[
                ("inner_open", "inner_open"),
                ("middle_open", "middle_open"),
                ("outer_open", "outer_open"),
            ],
        );
        assert!(
            symbols(stack).iter().any(|s| s == "main"),
            "{how}: no main in {stack}"
        );
        let module = stack[0]["module"].as_str().unwrap_or_default();
        assert_eq!(module, path_string(program), "{how}");
        let _ = child.kill();
        let _ = child.wait();
    }
    ringside.stop();
}

#[test]
fn exec_stacks_are_the_caller_s_and_connect_stacks_reach_tcp_connect() {
    if !kernel_tests_enabled("exec_stacks_are_the_caller_s_and_connect_stacks_reach_tcp_connect") {
        return;
    }
    let program = &fixtures().c;
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port_number = listener.local_addr().expect("addr").port();
    let port = port_number.to_string();
    let ringside = Ringside::start(&["--events", "exec,connect"]);

    let exec = Command::new(program)
        .args(["exec", "/bin/true"])
        .status()
        .expect("exec fixture");
    assert!(exec.success());
    let event = ringside.wait_for("exec of /bin/true", |e| {
        is_type(e, "exec")
            && e["filename"] == "/bin/true"
            && e["ustack"][0]["symbol"] == "inner_exec"
    });
    // Captured at execve's entry: the program that asked, not /bin/true that replaced it.
    assert_chain(
        field(&event, "ustack"),
        "nested.c",
        &[
            ("inner_exec", "inner_exec"),
            ("middle_exec", "middle_exec"),
            ("outer_exec", "outer_exec"),
        ],
    );

    let connect = Command::new(program)
        .args(["connect", &port])
        .status()
        .expect("connect fixture");
    assert!(connect.success());
    let event = ringside.wait_for("connect", |e| {
        is_type(e, "connect") && e["rport"] == port_number
    });
    assert_chain(
        field(&event, "ustack"),
        "nested.c",
        &[
            ("inner_connect", "inner_connect"),
            ("middle_connect", "middle_connect"),
        ],
    );
    let kernel = symbols(field(&event, "kstack"));
    assert!(
        kernel.iter().any(|s| s == "tcp_v4_connect"),
        "no tcp_v4_connect in {kernel:?}"
    );
    assert!(
        kernel.iter().any(|s| s.contains("sys_connect")),
        "no sys_connect in {kernel:?}"
    );
    let entry = field(&event, "kstack")
        .as_array()
        .expect("frames")
        .iter()
        .filter(|f| f["folded"] == "syscall_entry")
        .count();
    assert!(
        entry > 0,
        "the syscall entry frames are not marked: {kernel:?}"
    );
    ringside.stop();
}

#[test]
fn rust_and_cpp_names_are_demangled_and_stripped_binaries_say_why() {
    if !kernel_tests_enabled("rust_and_cpp_names_are_demangled_and_stripped_binaries_say_why") {
        return;
    }
    let built = fixtures();
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open"]);

    let rust_marker = path_string(&dir.path().join(format!("rust-{}", nonce())));
    assert!(
        Command::new(&built.rust)
            .arg(&rust_marker)
            .status()
            .expect("rust fixture")
            .success()
    );
    let event = open_event(&ringside, &rust_marker);
    assert_chain(
        field(&event, "ustack"),
        "nested.rs",
        &[
            ("nested::inner_open", "rust_inner_open"),
            ("nested::middle_open", "rust_middle_open"),
            ("nested::outer_open", "rust_outer_open"),
        ],
    );
    for symbol in symbols(field(&event, "ustack")) {
        assert!(
            !symbol.starts_with("_ZN") && !symbol.starts_with("_R"),
            "mangled: {symbol}"
        );
    }

    let cpp_marker = path_string(&dir.path().join(format!("cpp-{}", nonce())));
    let _ = Command::new(&built.cpp)
        .arg(&cpp_marker)
        .status()
        .expect("c++ fixture");
    let event = open_event(&ringside, &cpp_marker);
    let names = symbols(field(&event, "ustack"));
    assert!(names[0].starts_with("fixture::Opener::inner("), "{names:?}");
    assert!(
        names[1].starts_with("fixture::Opener::middle("),
        "{names:?}"
    );
    assert!(names[2].starts_with("fixture::outer("), "{names:?}");

    let stripped_marker = path_string(&dir.path().join(format!("stripped-{}", nonce())));
    let stripped = Command::new(&built.c_stripped)
        .args(["open", &stripped_marker])
        .status();
    assert!(stripped.expect("stripped fixture").success());
    let event = open_event(&ringside, &stripped_marker);
    let frames = field(&event, "ustack").as_array().expect("frames").clone();
    for frame in &frames[..3] {
        assert_eq!(
            frame["unresolved"], "no symbols",
            "junk instead of a reason: {frame}"
        );
        assert!(frame.get("symbol").is_none(), "{frame}");
        assert!(
            frame["addr"].as_str().is_some_and(|a| a.starts_with("0x")),
            "{frame}"
        );
        assert_eq!(frame["module"], path_string(&built.c_stripped));
    }
    ringside.stop();
}

/// 1,000 processes that each live a millisecond or so: every delivered open must have its
/// program's frames resolved, although each process was gone long before anyone asked.
#[test]
fn a_burst_of_short_lived_processes_resolves() {
    if !kernel_tests_enabled("a_burst_of_short_lived_processes_resolves") {
        return;
    }
    const PROCESSES: usize = 1000;
    let program = &fixtures().c;
    let dir = scratch_dir();
    let marker = path_string(&dir.path().join(format!("burst-{}", nonce())));
    // Only the fixture's events: the rest of the machine is not what this test measures.
    let ringside = Ringside::start(&["--events", "open", "--comm", "nested-c"]);
    for _ in 0..PROCESSES / 4 {
        let children: Vec<_> = (0..4)
            .map(|_| {
                // cargo's LD_LIBRARY_PATH makes ld.so probe dozens of directories per process.
                let mut command = Command::new(program);
                command
                    .env_remove("LD_LIBRARY_PATH")
                    .args(["open", &marker]);
                command.spawn().expect("fixture")
            })
            .collect();
        for mut child in children {
            assert!(child.wait().expect("wait").success());
        }
    }
    ringside.wait_for_count(PROCESSES, |e| e["path"] == marker);
    let finished = ringside.stop();
    let opens: Vec<_> = finished
        .events
        .iter()
        .filter(|e| e["path"] == marker)
        .collect();
    let resolved = opens
        .iter()
        .filter(|e| {
            let names = symbols(&e["ustack"]);
            names.len() >= 4 && names[..3] == ["inner_open", "middle_open", "outer_open"]
        })
        .count();
    eprintln!(
        "{PROCESSES} short-lived processes: {} opens delivered, {resolved} resolved",
        opens.len()
    );
    eprintln!("{}", finished.stderr.join("\n"));
    for open in opens.iter().filter(|e| {
        let names = symbols(&e["ustack"]);
        names.len() < 4 || names[..3] != ["inner_open", "middle_open", "outer_open"]
    }) {
        eprintln!("unresolved: {open}");
    }
    assert_eq!(opens.len(), PROCESSES);
    assert_eq!(
        resolved, PROCESSES,
        "unresolved stacks among short-lived processes"
    );
}
