//! The real TUI in a pseudo-terminal, driven by keystrokes like a person, read back through a
//! terminal emulator.

mod support;

use std::process::Command;
use std::time::{Duration, Instant};

use support::fixtures::fixtures;
use support::pty::Terminal;
use support::{EXIT_PATIENCE, PATIENCE, kernel_tests_enabled, nonce, path_string, scratch_dir};

impl Terminal {
    /// Types `keys`; the caller waits for what they change, as a person watches the screen.
    fn keys(&mut self, keys: &str) {
        self.pty.type_keys(keys).expect("type");
    }

    /// Waits until the terminal has left the alternate screen.
    fn wait_for_restore(&self, on: &str) {
        let deadline = Instant::now() + PATIENCE;
        while self.screen().alternate_screen() {
            assert!(
                Instant::now() < deadline,
                "the terminal was not restored within {} s of {on}; screen:\n{}",
                PATIENCE.as_secs(),
                self.contents()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until ringside has exited, and returns how.
    fn wait_for_exit(&mut self, on: &str) -> portable_pty::ExitStatus {
        let deadline = Instant::now() + EXIT_PATIENCE;
        loop {
            if let Some(status) = self.pty.try_wait().expect("wait") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "ringside did not exit within {} s of {on}",
                EXIT_PATIENCE.as_secs()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
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
    let mut tui = Terminal::start(50, 200, &["--comm", "nested-c"]);
    // The TUI draws its first frame once its probes are attached: nothing is missed after it.
    tui.wait_for("the TUI", |s| {
        s.contains("Events [All]") && s.contains("Processes")
    });
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
        s.contains(&format!("other-{id}")) && s.contains(&format!("wanted-{id}"))
    });
    // The target's last row is its exit, after it lingered. Until that row is in, the open
    // would be the newest row: a search that lands there leaves the view following, and the
    // exit would take the selection (and the Details pane) away from it.
    let pid_text = pid.to_string();
    tui.wait_for("the target's exit", |s| {
        s.lines().any(|line| {
            // The Events pane's part of the line: TIME PID COMM TYPE SUMMARY RESULT.
            let cells: Vec<&str> = line
                .strip_prefix('│')
                .and_then(|rest| rest.split('│').next())
                .unwrap_or_default()
                .split_whitespace()
                .collect();
            cells.get(1) == Some(&pid_text.as_str()) && cells.get(3) == Some(&"exit")
        })
    });

    tui.keys("f");
    tui.wait_for("the filter prompt", |s| s.contains("filter> "));
    tui.keys(&format!("pid={pid}\r"));
    // The footer is the last line of the frame that applied the filter: once the prompt has
    // left it, the rows above are redrawn too.
    let screen = tui.wait_for("the filter applied", |s| {
        s.contains(&format!("filter: pid={pid}")) && !s.contains("filter> ")
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

    tui.keys("/");
    tui.wait_for("the search prompt", |s| s.contains("search> "));
    tui.keys(&format!("wanted-{id}\r"));
    tui.wait_for("the search prompt to close", |s| !s.contains("search> "));
    // The exec's argv names the path too; `n` steps on to the next match, the open.
    let selected_open = |s: &str| s.contains(&format!("path: {wanted}"));
    if !selected_open(&tui.contents()) {
        tui.keys("n");
    }
    tui.wait_for("the search to select the open", selected_open);
    tui.keys("\r");
    // Lines further down the Details pane may come in a later write than the first frames.
    let details = tui.wait_for("the symbolized stack", |s| {
        ["inner_open", "middle_open", "outer_open", "nested.c:"]
            .iter()
            .all(|name| s.contains(name))
    });
    assert!(details.contains(&format!("path: {wanted}")), "{details}");
    assert!(details.contains("outer_open"), "{details}");
    assert!(details.contains("nested.c:"), "{details}");

    tui.keys("\x1b");
    tui.wait_for("the zoomed details closed", |s| {
        s.contains("Events [All]") && s.contains("Processes")
    });
    tui.resize(24, 80).expect("resize");
    tui.wait_for("a redraw at 80x24", |s| {
        s.contains("Events [All]") && !s.contains("Processes")
    });
    tui.resize(12, 40).expect("resize");
    tui.wait_for("a redraw at 40x12", |s| s.contains("ringside"));

    tui.keys("q");
    // The terminal is restored once the probes are detached, "stopping" on screen meanwhile.
    tui.wait_for_restore("q");
    let screen = tui.screen();
    assert!(!screen.hide_cursor(), "the cursor stayed hidden");
    assert_eq!(
        screen.mouse_protocol_mode(),
        vt100::MouseProtocolMode::None,
        "mouse capture left on"
    );
    // Detaching each tracepoint waits for an RCU grace period, which a loaded machine can
    // stretch to seconds each: the process may take a while to end, but it must end cleanly.
    let status = tui.wait_for_exit("q");
    assert!(status.success(), "{status:?}");
    for child in [&mut target, &mut noise] {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// The Stacks view groups a program's opens by their stack, Enter shows that stack's events in
/// the Events pane, and Esc comes back.
#[test]
fn the_stacks_view_drills_into_a_stack_and_returns() {
    if !kernel_tests_enabled("the_stacks_view_drills_into_a_stack_and_returns") {
        return;
    }
    let program = &fixtures().c;
    let dir = scratch_dir();
    let id = nonce();
    let mut tui = Terminal::start(50, 200, &["--comm", "nested-c"]);
    tui.wait_for("the TUI", |s| s.contains("Events [All]"));
    // Three processes open the same path through the same code: one stack, three events.
    let path = path_string(&dir.path().join(format!("stacked-{id}")));
    for _ in 0..3 {
        let status = Command::new(program)
            .env_remove("LD_LIBRARY_PATH")
            .args(["open", &path])
            .status()
            .expect("fixture");
        assert!(status.success());
    }
    tui.keys("f");
    tui.wait_for("the filter prompt", |s| s.contains("filter> "));
    tui.keys(&format!("path~stacked-{id}\r"));
    tui.wait_for("the three opens", |s| {
        s.contains("Events [All] 3/") && !s.contains("filter> ")
    });
    tui.keys("5");
    // The view regroups once a second, and the stacks are symbolized as they come.
    let stacks = tui.wait_for("one symbolized stack of three events", |s| {
        s.contains("Stacks 1 of 3 events") && s.contains("middle_open ← outer_open")
    });
    assert!(stacks.contains("5 Stacks"), "{stacks}");
    tui.keys("\r");
    let scoped = tui.wait_for("the stack's events", |s| {
        s.contains("scope: stack #1") && s.contains("Events [All] 3/")
    });
    // The Events pane's rows: the process and the path on one line.
    let rows = scoped
        .lines()
        .filter(|l| l.contains("nested-c") && l.contains(&format!("stacked-{id}")));
    assert_eq!(rows.count(), 3, "{scoped}");
    tui.keys("\x1b");
    let back = tui.wait_for("the Stacks view again", |s| {
        s.contains("Stacks 1 of 3 events") && !s.contains("scope: stack")
    });
    assert!(back.contains("middle_open"), "{back}");
    tui.keys("q");
    tui.wait_for_restore("q");
    let status = tui.wait_for_exit("q");
    assert!(status.success(), "{status:?}");
}

/// SIGTERM (and SIGINT, SIGHUP) end the TUI like `q`: the terminal is restored.
#[test]
fn a_terminate_signal_restores_the_terminal() {
    if !kernel_tests_enabled("a_terminate_signal_restores_the_terminal") {
        return;
    }
    let mut tui = Terminal::start(30, 120, &["--events", "exec"]);
    tui.wait_for("the TUI", |s| s.contains("Events [All]"));
    let pid = tui.pty.pid().expect("pid");
    let pid = nix::unistd::Pid::from_raw(i32::try_from(pid).expect("pid fits"));
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    tui.wait_for_restore("SIGTERM");
    let status = tui.wait_for_exit("SIGTERM");
    assert!(status.success(), "{status:?}");
}

/// Drawing frames opens nothing: no `/dev/tty` per frame (a terminal size query), and
/// `/proc/self/stat` only at the status bar's once-a-second refresh. Another ringside watches
/// the TUI's own opens while opens elsewhere keep it redrawing.
#[test]
fn the_tui_opens_no_file_per_frame() {
    if !kernel_tests_enabled("the_tui_opens_no_file_per_frame") {
        return;
    }
    let mut tui = Terminal::start(30, 120, &["--events", "open"]);
    tui.wait_for("the TUI", |s| s.contains("Events [All]"));
    let pid = tui.pty.pid().expect("pid").to_string();
    let watcher =
        support::Ringside::start(&["--events", "open", "--pid", &pid, "--stacks", "none"]);
    let watched = Duration::from_secs(4);
    let started = Instant::now();
    while started.elapsed() < watched {
        // Events for the TUI to show: every batch makes a frame.
        let _ = std::fs::read("/etc/hostname");
        std::thread::sleep(Duration::from_millis(5));
    }
    let opens = watcher.stop().events;
    let opened = |path: &str| {
        opens
            .iter()
            .filter(|e| support::field(e, "path").as_str() == Some(path))
            .count()
    };
    assert_eq!(
        opened("/dev/tty"),
        0,
        "the TUI opened /dev/tty while drawing"
    );
    let stats = opened("/proc/self/stat");
    assert!(
        stats <= watched.as_secs() as usize + 2,
        "/proc/self/stat opened {stats} times in {} s",
        watched.as_secs()
    );
    tui.keys("q");
    tui.wait_for_restore("q");
    let status = tui.wait_for_exit("q");
    assert!(status.success(), "{status:?}");
}
