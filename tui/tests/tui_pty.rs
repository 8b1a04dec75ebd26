//! The real TUI in a pseudo-terminal, driven by keystrokes like a person, read back through a
//! terminal emulator.

mod support;

use std::io::Write;
use std::process::Command;
use std::time::{Duration, Instant};

use portable_pty::PtySize;
use support::fixtures::fixtures;
use support::pty::Tui;
use support::{kernel_tests_enabled, nonce, path_string, scratch_dir};

impl Tui {
    fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let text = self.contents();
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out waiting for {what}; screen:\n{text}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn keys(&mut self, keys: &str) {
        self.writer.write_all(keys.as_bytes()).expect("type");
        self.writer.flush().expect("flush");
        std::thread::sleep(Duration::from_millis(150));
    }

    fn resize(&mut self, rows: u16, cols: u16) {
        self.master
            .resize(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("resize");
        self.screen
            .lock()
            .expect("lock")
            .screen_mut()
            .set_size(rows, cols);
    }
}

#[test]
fn filter_search_details_resize_and_quit_like_a_person() {
    if !kernel_tests_enabled("filter_search_details_resize_and_quit_like_a_person") {
        return;
    }
    let program = &fixtures().c;
    let dir = scratch_dir();
    let id = nonce();
    let wanted = path_string(&dir.path().join(format!("wanted-{id}")));
    let other = path_string(&dir.path().join(format!("other-{id}")));

    // Scoped to the fixtures from the start, so a busy machine cannot scroll them away; the
    // filter typed below still has two processes to tell apart.
    let mut tui = Tui::start(50, 200, &["--comm", "nested-c"]);
    tui.wait_for("the TUI", |s| {
        s.contains("Events [All]") && s.contains("Processes")
    });
    // Let the probes attach before the workload runs.
    std::thread::sleep(Duration::from_secs(1));
    let run = |marker: &str| {
        let mut command = Command::new(program);
        command
            .env_remove("LD_LIBRARY_PATH")
            .args(["open", marker, "linger"]);
        command.spawn().expect("fixture")
    };
    let mut target = run(&wanted);
    let mut noise = run(&other);
    let pid = target.id();
    tui.wait_for("both opens", |s| {
        s.contains(&format!("other-{id}")) || s.contains(&format!("wanted-{id}"))
    });

    tui.keys("f");
    tui.keys(&format!("pid={pid}\r"));
    let screen = tui.wait_for("the filter applied", |s| {
        s.contains(&format!("filter: pid={pid}"))
    });
    // Event rows start with their time of day; the Details pane below has other lines.
    let is_row = |line: &&str| {
        line.strip_prefix('│')
            .is_some_and(|rest| rest.starts_with(|c: char| c.is_ascii_digit()))
    };
    let rows: Vec<&str> = screen.lines().filter(is_row).collect();
    assert!(!rows.is_empty(), "no rows after filtering:\n{screen}");
    for row in &rows {
        assert!(
            row.contains(&pid.to_string()),
            "a row of another process: {row}\n{screen}"
        );
    }
    assert!(!screen.contains(&format!("other-{id}")), "{screen}");

    tui.keys(&format!("/wanted-{id}\r"));
    tui.keys("\r");
    let details = tui.wait_for("the symbolized stack", |s| {
        s.contains("inner_open") && s.contains("middle_open")
    });
    assert!(details.contains(&format!("path: {wanted}")), "{details}");
    assert!(details.contains("outer_open"), "{details}");
    assert!(details.contains("nested.c:"), "{details}");

    tui.keys("\x1b");
    tui.resize(24, 80);
    tui.wait_for("a redraw at 80x24", |s| {
        s.contains("Events [All]") && !s.contains("Processes")
    });
    tui.resize(12, 40);
    tui.wait_for("a redraw at 40x12", |s| s.contains("ringside"));

    tui.keys("q");
    // The terminal is restored at once, before the probes are detached.
    let deadline = Instant::now() + Duration::from_secs(10);
    while tui.screen.lock().expect("lock").screen().alternate_screen() {
        assert!(
            Instant::now() < deadline,
            "the terminal was not restored on q; screen:\n{}",
            tui.contents()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    {
        let parser = tui.screen.lock().expect("lock");
        let screen = parser.screen();
        assert!(!screen.hide_cursor(), "the cursor stayed hidden");
        let mouse = screen.mouse_protocol_mode();
        assert_eq!(
            mouse,
            vt100::MouseProtocolMode::None,
            "mouse capture left on"
        );
    }
    // Detaching each tracepoint waits for an RCU grace period, which a loaded machine can
    // stretch to seconds each: the process may take a while to end, but it must end cleanly.
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = tui.child.try_wait().expect("wait") {
            break status;
        }
        assert!(Instant::now() < deadline, "ringside did not exit after q");
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
    for child in [&mut target, &mut noise] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// SIGTERM (and SIGINT, SIGHUP) end the TUI like `q`: the terminal is restored.
#[test]
fn a_terminate_signal_restores_the_terminal() {
    if !kernel_tests_enabled("a_terminate_signal_restores_the_terminal") {
        return;
    }
    let mut tui = Tui::start(30, 120, &["--events", "exec"]);
    tui.wait_for("the TUI", |s| s.contains("Events [All]"));
    let pid = tui.child.process_id().expect("pid");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    let deadline = Instant::now() + Duration::from_secs(10);
    while tui.screen.lock().expect("lock").screen().alternate_screen() {
        assert!(
            Instant::now() < deadline,
            "the terminal was not restored on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    let deadline = Instant::now() + Duration::from_secs(180);
    let status = loop {
        if let Some(status) = tui.child.try_wait().expect("wait") {
            break status;
        }
        assert!(
            Instant::now() < deadline,
            "ringside did not exit on SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(status.success(), "{status:?}");
}
