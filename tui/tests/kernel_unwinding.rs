//! Kernel tests of user stacks through code built without frame pointers: the probes copy the
//! registers and the stack, and ringside unwinds them with the binaries' unwind tables.

mod support;

use std::net::{Ipv4Addr, TcpListener};
use std::process::Command;

use serde_json::Value;
use support::fixtures::fixtures;
use support::stacks::{assert_chain_from, frames, symbols};
use support::{Ringside, field, is_type, kernel_tests_enabled, nonce, path_string, scratch_dir};

const SOURCE: &str = "libc_calls.c";
const LIBC: &str = "/usr/lib/x86_64-linux-gnu/libc.so.6";

fn open_event(ringside: &Ringside, path: &str) -> Value {
    ringside.wait_for("open with a stack", |e| {
        is_type(e, "open") && e["path"] == path
    })
}

/// Runs `program open MARKER` (a fixture built from libc_calls.c) to its end, and returns the
/// open event ringside reported for it.
fn open_by(ringside: &Ringside, program: &std::path::Path, dir: &tempfile::TempDir) -> Value {
    let marker = path_string(&dir.path().join(format!("marker-{}", nonce())));
    let status = Command::new(program)
        .args(["open", &marker])
        .status()
        .expect("fixture");
    assert!(status.success());
    open_event(ringside, &marker)
}

/// Frame 0 is the libc wrapper that made the system call; every frame after `chain` up to the
/// end is libc's start code and the program's entry, and the stack says it is whole. The
/// program's frames were found through libc's and their own unwind tables.
fn assert_whole_stack(event: &Value, program: &str, wrapper: &str, chain: &[(&str, &str)]) {
    assert_whole_stack_found_by(event, program, wrapper, chain, &["unwind_table"; 8]);
}

/// As [`assert_whole_stack`], with `found_by[i]` how frame `i + 1` (of `chain`) was found.
fn assert_whole_stack_found_by(
    event: &Value,
    program: &str,
    wrapper: &str,
    chain: &[(&str, &str)],
    found_by: &[&str],
) {
    let stack = field(event, "ustack");
    let frames = frames(stack);
    let names = symbols(stack);
    assert_eq!(frames[0]["module"], LIBC, "{names:?}");
    assert!(
        names[0].contains(wrapper),
        "frame 0 is {}: {names:?}",
        names[0]
    );
    assert_eq!(frames[0]["found_by"], "registers");
    assert_chain_from(stack, 1, SOURCE, chain);
    for (frame, how) in frames[1..=chain.len()].iter().zip(found_by) {
        assert_eq!(frame["module"], program, "{frame}");
        assert_eq!(frame["found_by"], *how, "{frame}");
    }
    let after_main = &names[chain.len() + 1..];
    assert!(
        after_main
            .iter()
            .any(|n| n.starts_with("__libc_start_main")),
        "no __libc_start_main after main: {names:?}"
    );
    assert_eq!(
        frames.last().expect("frames")["module"],
        program,
        "the outermost frame is the program's entry (_start): {names:?}"
    );
    assert_eq!(event["ustack_end"], "complete", "{names:?}");
}

#[test]
fn stacks_through_code_without_frame_pointers_name_every_caller_while_alive_and_after_exit() {
    if !kernel_tests_enabled(
        "stacks_through_code_without_frame_pointers_name_every_caller_while_alive_and_after_exit",
    ) {
        return;
    }
    let program = &fixtures().no_frame_pointers;
    let dir = scratch_dir();
    let ringside = Ringside::start(&["--events", "open"]);
    for how in ["linger", "exit"] {
        let marker = path_string(&dir.path().join(format!("{how}-{}", nonce())));
        let mut child = Command::new(program)
            .args(["open", &marker, how])
            .spawn()
            .expect("fixture");
        if how == "exit" {
            assert!(child.wait().expect("wait").success());
        }
        let event = open_event(&ringside, &marker);
        assert_whole_stack(
            &event,
            &path_string(program),
            "open",
            &[
                ("load_config", "load_config"),
                ("read_settings", "read_settings"),
                ("start_service", "start_service"),
                ("main", "main_open"),
            ],
        );
        let _ = child.kill();
        let _ = child.wait();
    }
    ringside.stop();
}

#[test]
fn a_mixed_stack_is_whole_frame_pointers_where_tables_are_missing() {
    if !kernel_tests_enabled("a_mixed_stack_is_whole_frame_pointers_where_tables_are_missing") {
        return;
    }
    let program = &fixtures().frame_pointers_no_tables;
    let ringside = Ringside::start(&["--events", "open"]);
    let event = open_by(&ringside, program, &scratch_dir());
    // libc (tables, no frame pointers) finds load_config; the program (frame pointers, no
    // tables) finds its callers and libc's start code.
    assert_whole_stack_found_by(
        &event,
        &path_string(program),
        "open",
        &[
            ("load_config", "load_config"),
            ("read_settings", "read_settings"),
            ("start_service", "start_service"),
            ("main", "main_open"),
        ],
        &[
            "unwind_table",
            "frame_pointer",
            "frame_pointer",
            "frame_pointer",
        ],
    );
    let after_main = &frames(field(&event, "ustack"))[5];
    assert_eq!(after_main["found_by"], "frame_pointer", "{after_main}");
    ringside.stop();
}

#[test]
fn connect_and_exec_through_libc_wrappers_are_whole() {
    if !kernel_tests_enabled("connect_and_exec_through_libc_wrappers_are_whole") {
        return;
    }
    let program = &fixtures().no_frame_pointers;
    let program_path = path_string(program);
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let ringside = Ringside::start(&["--events", "exec,connect"]);

    let connect = Command::new(program)
        .args(["connect", &port.to_string()])
        .status()
        .expect("connect fixture");
    assert!(connect.success());
    let event = ringside.wait_for("connect", |e| is_type(e, "connect") && e["rport"] == port);
    assert_whole_stack(
        &event,
        &program_path,
        "connect",
        &[
            ("dial", "dial"),
            ("reach_backend", "reach_backend"),
            ("main", "main_connect"),
        ],
    );

    // Captured at execve's entry, in the program that asked; /bin/true replaces it.
    let exec = Command::new(program)
        .args(["exec", "/bin/true"])
        .status()
        .expect("exec fixture");
    assert!(exec.success());
    let event = ringside.wait_for("exec of /bin/true by the fixture", |e| {
        is_type(e, "exec")
            && e["filename"] == "/bin/true"
            && symbols(&e["ustack"]).iter().any(|s| s == "run_helper")
    });
    assert_whole_stack(
        &event,
        &program_path,
        "execve",
        &[
            ("run_helper", "run_helper"),
            ("spawn_helper", "spawn_helper"),
            ("main", "main_exec"),
        ],
    );
    ringside.stop();
}

#[test]
fn a_stock_debian_binary_unwinds_to_its_entry_after_it_exited() {
    if !kernel_tests_enabled("a_stock_debian_binary_unwinds_to_its_entry_after_it_exited") {
        return;
    }
    let dir = scratch_dir();
    let file = dir.path().join(format!("cat-{}", nonce()));
    std::fs::write(&file, "hello\n").expect("write");
    let path = path_string(&file);
    let ringside = Ringside::start(&["--events", "open", "--comm", "cat"]);
    // cat lives a millisecond: its stack is unwound long after it is gone.
    let cat = Command::new("/usr/bin/cat")
        .arg(&path)
        .output()
        .expect("cat");
    assert!(cat.status.success());
    let event = open_event(&ringside, &path);
    let stack = field(&event, "ustack");
    let names = symbols(stack);
    let frames = frames(stack);
    assert_eq!(frames[0]["module"], LIBC, "{names:?}");
    assert!(names[0].contains("open"), "{names:?}");
    assert!(
        frames[1..]
            .iter()
            .any(|f| f["module"] == "/usr/bin/cat" && f["unresolved"] == "no symbols"),
        "cat's own (stripped) code is on the stack and says why it has no name: {names:?}"
    );
    assert!(
        names.iter().any(|n| n.starts_with("__libc_start_main")),
        "{names:?}"
    );
    assert_eq!(frames.last().expect("frames")["module"], "/usr/bin/cat");
    assert_eq!(event["ustack_end"], "complete", "{names:?}");

    // Before cat's main runs, ld.so opens its cache: that stack ends at ld.so's own entry.
    let cat_pid = field(&event, "pid").clone();
    let loader = ringside.wait_for("ld.so opening its cache for cat", |e| {
        is_type(e, "open") && e["pid"] == cat_pid && e["path"] == "/etc/ld.so.cache"
    });
    let stack = field(&loader, "ustack");
    let outermost = support::stacks::frames(stack)
        .last()
        .expect("frames")
        .clone();
    assert!(
        outermost["module"]
            .as_str()
            .is_some_and(|m| m.contains("ld-linux")),
        "{stack}"
    );
    assert_eq!(loader["ustack_end"], "complete", "{stack}");
    ringside.stop();
}

#[test]
fn libc_internals_are_named_from_its_debug_file_and_stripped_code_from_dynsym() {
    if !kernel_tests_enabled(
        "libc_internals_are_named_from_its_debug_file_and_stripped_code_from_dynsym",
    ) {
        return;
    }
    let program = &fixtures().dynsym_only;
    let ringside = Ringside::start(&["--events", "open"]);
    let event = open_by(&ringside, program, &scratch_dir());
    let stack = field(&event, "ustack");
    let names = symbols(stack);
    // The stripped program: its exported functions keep their .dynsym names, with no lines.
    assert_eq!(
        names[1..5],
        ["load_config", "read_settings", "start_service", "main"],
        "{names:?}"
    );
    for frame in &frames(stack)[1..5] {
        assert!(
            frame.get("file").is_none(),
            "no debug file, no line: {frame}"
        );
    }
    // libc.so.6 is stripped too, but libc6-dbg's file under /usr/lib/debug (found by build id)
    // names its static functions, with their lines.
    let start = frames(stack)
        .iter()
        .find(|f| f["symbol"] == "__libc_start_call_main")
        .unwrap_or_else(|| panic!("__libc_start_call_main (not in .dynsym) missing: {names:?}"));
    assert!(start["file"].is_string(), "{start}");
    ringside.stop();
}

#[test]
fn a_copy_too_small_for_the_stack_says_so_and_no_copy_means_frame_pointers() {
    if !kernel_tests_enabled(
        "a_copy_too_small_for_the_stack_says_so_and_no_copy_means_frame_pointers",
    ) {
        return;
    }
    let program = &fixtures().no_frame_pointers;
    let dir = scratch_dir();
    for (stack_bytes, end) in [("64", "window_exhausted"), ("0", "frame_pointers_only")] {
        let ringside = Ringside::start(&["--events", "open", "--stack-bytes", stack_bytes]);
        let event = open_by(&ringside, program, &dir);
        let names = symbols(field(&event, "ustack"));
        assert_eq!(
            event["ustack_end"], end,
            "--stack-bytes {stack_bytes}: {names:?}"
        );
        assert!(
            !names.iter().any(|n| n == "main"),
            "--stack-bytes {stack_bytes} cannot reach main: {names:?}"
        );
        ringside.stop();
    }
}

/// A debuginfod server on loopback with one file: `/buildid/<id>/debuginfo` for `build_id`,
/// 404 for anything else. It serves until the test process ends.
fn debuginfod_server(build_id: &[u8], file: Vec<u8>) -> String {
    use std::io::{BufRead as _, BufReader, Write as _};
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    let hex: String = build_id.iter().map(|b| format!("{b:02x}")).collect();
    std::thread::spawn(move || {
        for mut stream in listener.incoming().map_while(Result::ok) {
            let mut request = String::new();
            let _ = BufReader::new(&stream).read_line(&mut request);
            let found = request.starts_with(&format!("GET /buildid/{hex}/debuginfo "));
            let head = if found { "200 OK" } else { "404 Not Found" };
            let body: &[u8] = if found { &file } else { b"" };
            let _ = write!(
                stream,
                "HTTP/1.1 {head}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len()
            );
            let _ = stream.write_all(body);
        }
    });
    url
}

#[test]
fn a_stripped_binary_gets_lines_from_a_debuginfod_server() {
    if !kernel_tests_enabled("a_stripped_binary_gets_lines_from_a_debuginfod_server") {
        return;
    }
    use object::Object as _;
    let built = fixtures();
    let binary = std::fs::read(&built.dynsym_only).expect("fixture");
    let build_id = object::File::parse(&*binary)
        .expect("ELF")
        .build_id()
        .expect("notes")
        .expect("a build id")
        .to_vec();
    let server = debuginfod_server(
        &build_id,
        std::fs::read(&built.dynsym_only_debug).expect("debug file"),
    );
    let cache = scratch_dir();
    let cache_path = path_string(cache.path());
    let ringside = Ringside::start_with_env(
        &["--events", "open"],
        &[
            ("DEBUGINFOD_URLS", &server),
            ("RINGSIDE_DEBUGINFOD_CACHE", &cache_path),
        ],
    );
    let dir = scratch_dir();
    // The first stacks come before the file does (fetching never holds them up); run the
    // program until one has the debug file's lines.
    let deadline = std::time::Instant::now() + support::PATIENCE;
    let event = loop {
        let event = open_by(&ringside, &built.dynsym_only, &dir);
        if event["ustack"][1]["file"].is_string() {
            break event;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no stack got the fetched file's lines within {} s: {event}",
            support::PATIENCE.as_secs()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    };
    assert_chain_from(
        field(&event, "ustack"),
        1,
        SOURCE,
        &[
            ("load_config", "load_config"),
            ("read_settings", "read_settings"),
            ("start_service", "start_service"),
            ("main", "main_open"),
        ],
    );
    let hex: String = build_id[1..].iter().map(|b| format!("{b:02x}")).collect();
    let cached = cache
        .path()
        .join(format!(".build-id/{:02x}/{hex}.debug", build_id[0]));
    assert!(
        cached.is_file(),
        "kept for later runs: {}",
        cached.display()
    );
    ringside.stop();
}
