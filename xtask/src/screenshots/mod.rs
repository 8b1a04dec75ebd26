//! `cargo xtask screenshots`: the README's pictures of the TUI, taken from the real thing.
//!
//! ringside (release build) runs in a 200x50 pseudo-terminal while a small workload runs beside
//! it: the unwinding tests' C fixture (built as most of a server is, without frame pointers) opening a file, failing to open one, exec'ing, connecting to a
//! loopback listener and to a closed port, and a shell loop of `ls` and `cat`. A scripted session
//! types keys like a person, waits for the expected text on the emulated screen before each
//! capture, and draws each screen into a PNG under `screenshots/`: the overview, an event's
//! details, a filter, a process scope, the help, and the Stacks, Flame and Failures views.

mod render;
mod screen;

use std::{
    env, fs,
    net::{Ipv4Addr, TcpListener},
    path::{Path, PathBuf},
    process::{Child, Command, Stdio},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use portable_pty::CommandBuilder;

use crate::pty::Terminal;
use crate::{cmd, setup};
use render::Renderer;
use screen::{highlighted_row, rows_text};

const ROWS: u16 = 50;
const COLS: u16 = 200;
/// The file the fixture opens, and whose open event the details view shows.
const MARKER: &str = "/etc/hostname";
/// The fixture's command name (its binary's name).
const FIXTURE: &str = "libc-calls";
const FILTER: &str = "comm=libc-calls and ret<0";

pub fn screenshots() -> Result<()> {
    if !cmd::is_root()? {
        bail!(
            "`cargo xtask screenshots` needs root: ringside loads eBPF probes (CAP_BPF, \
             CAP_PERFMON). Run it again as root."
        );
    }
    setup::setup()?;
    eprintln!("screenshots: building ringside (release)");
    cmd::run(cmd::cargo().args(["build", "--release", "-p", "ringside"]))?;
    let target = target_dir();
    let binary = target.join("release/ringside");
    let scratch = target.join("screenshots");
    fs::create_dir_all(&scratch).with_context(|| format!("creating {}", scratch.display()))?;
    let fixture = build_fixture(&scratch)?;
    let out = cmd::workspace_root().join("screenshots");
    fs::create_dir_all(&out).with_context(|| format!("creating {}", out.display()))?;
    // Fonts are checked before ringside starts, so a missing one fails fast.
    let renderer = Renderer::new()?;

    let log = env::temp_dir().join(format!("ringside-screenshots-{}.log", std::process::id()));
    let log_arg = log.to_str().context("the temp dir's path is not UTF-8")?;
    let mut command = CommandBuilder::new(&binary);
    command.args(["--log-file", log_arg]);
    let mut terminal = Terminal::spawn(command, ROWS, COLS)?;
    let mut session = Session {
        terminal: &mut terminal,
        renderer: &renderer,
        fixture: &fixture,
        out: &out,
        workload: Vec::new(),
    };
    let result = session.run();
    session.stop_workload();
    drop(terminal);
    match result {
        Ok(()) => {
            let _ = fs::remove_file(&log);
            Ok(())
        }
        Err(error) => Err(error.context(format!("ringside's log: {}", log.display()))),
    }
}

/// Where cargo put the build: CARGO_TARGET_DIR (relative to the workspace root, where we ran
/// cargo) or the workspace's target/.
fn target_dir() -> PathBuf {
    let root = cmd::workspace_root();
    env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), |dir| root.join(dir))
}

/// The stack tests' C program, with frame pointers and debug info so its stacks resolve to
/// `inner_open → middle_open → outer_open → main` with lines. Its name is its `comm`.
fn build_fixture(dir: &Path) -> Result<PathBuf> {
    let source = cmd::workspace_root().join("tui/tests/fixtures/libc_calls.c");
    let binary = dir.join(FIXTURE);
    cmd::run(
        Command::new("cc")
            .args(["-O2", "-g", "-fomit-frame-pointer", "-o"])
            .arg(&binary)
            .arg(&source),
    )?;
    Ok(binary)
}

struct Session<'a> {
    terminal: &'a mut Terminal,
    renderer: &'a Renderer,
    fixture: &'a Path,
    out: &'a Path,
    workload: Vec<Child>,
}

/// The Events pane's geometry, read off the screen: its header row and the columns of TYPE
/// and SUMMARY.
struct EventsTable {
    header: u16,
    type_col: usize,
    summary_col: usize,
}

/// The Processes pane's box on screen: the rows between its borders, and its columns.
struct ProcessesPane {
    top: u16,
    bottom: u16,
    left: u16,
    right: u16,
}

impl Session<'_> {
    fn run(&mut self) -> Result<()> {
        self.terminal
            .wait_for_text(&["Events [All]", "Processes"])?;
        // Let the probes attach before the workload runs.
        thread::sleep(Duration::from_secs(1));

        self.workload()?;
        self.capture("overview", "the fixtures' events", |s| {
            s.contains("following") && s.contains(FIXTURE) && s.contains("ECONNREFUSED")
        })?;

        self.details()?;
        self.filter()?;

        let second = self.workload()?;
        self.processes(second)?;
        self.stack_views()?;

        self.terminal.keys("?")?;
        self.capture("help", "the help overlay", |s| {
            s.contains("Keys (") && s.contains("this help")
        })?;
        self.terminal.keys("\x1b")?;

        self.terminal.keys("q")?;
        // Detaching each tracepoint waits for an RCU grace period: seconds on a loaded machine.
        self.terminal.wait_exit(Duration::from_secs(30))?;
        Ok(())
    }

    /// Waits for `ready` on the screen's text, then writes the screen to `name`.png.
    fn capture(&mut self, name: &str, what: &str, ready: impl Fn(&str) -> bool) -> Result<()> {
        let screen = self
            .terminal
            .wait_for(what, |screen| ready(&screen.contents()))?;
        let path = self.out.join(format!("{name}.png"));
        self.renderer.write_png(&screen, &path)?;
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        eprintln!(
            "screenshots: wrote {} ({} KiB)",
            path.display(),
            size.div_ceil(1024)
        );
        Ok(())
    }

    /// A search for the marker path, then steps through the matches to the fixture's open event
    /// (its exec's argv matches too), and zooms into its details.
    fn details(&mut self) -> Result<()> {
        self.terminal.keys("g")?;
        self.terminal.keys("/")?;
        self.terminal.keys(MARKER)?;
        self.terminal.keys("\r")?;
        let mut found = false;
        for _ in 0..50 {
            let screen = self.terminal.screen();
            let table = events_table(&screen)?;
            let selected = highlighted_row(&screen, table.header + 1, 1)
                .map(|row| rows_text(&screen, row, row + 1, 1, COLS)[0].clone());
            if let Some(row) = selected {
                let chars: Vec<char> = row.chars().collect();
                let field = |from: usize, to: usize| -> String {
                    chars
                        .get(from.min(chars.len())..to.min(chars.len()))
                        .map(|c| c.iter().collect::<String>())
                        .unwrap_or_default()
                };
                let kind = field(table.type_col - 1, table.summary_col - 1);
                if kind.trim() == "open" && row.contains(FIXTURE) && row.contains(MARKER) {
                    found = true;
                    break;
                }
            }
            self.terminal.keys("n")?;
        }
        if !found {
            bail!(
                "searching for {MARKER} never selected the fixture's open event; screen:\n{}",
                self.terminal.contents()
            );
        }
        self.terminal.keys("\r")?;
        self.capture("details", "the unwound, symbolized user stack", |s| {
            [
                "load_config",
                "read_settings",
                "start_service",
                "main",
                "libc_calls.c:",
                "_start",
                "complete: unwound to the program's entry",
            ]
            .iter()
            .all(|t| s.contains(t))
                && !s.contains("symbolizing…")
        })?;
        self.terminal.keys("\x1b")?;
        Ok(())
    }

    /// The fixture's failures only: the ENOENT open and the refused connect.
    fn filter(&mut self) -> Result<()> {
        self.terminal.keys("f")?;
        self.terminal.keys(FILTER)?;
        self.terminal.keys("\r")?;
        self.terminal
            .wait_for_text(&[&format!("filter: {FILTER}")])?;
        // Select the newest event, so Details shows one of the failures.
        self.terminal.keys("G")?;
        self.capture("filter", "the filtered view", |s| {
            s.contains("ENOENT") && s.contains("ECONNREFUSED") && s.contains("/nonexistent/config")
        })?;
        // Back to everything: the prompt starts with the current text.
        self.terminal.keys("f")?;
        self.terminal.keys(&"\x7f".repeat(FILTER.chars().count()))?;
        self.terminal.keys("\r")?;
        self.terminal.wait_for_text(&["filter: none"])?;
        Ok(())
    }

    /// Tab to the Processes pane, jump to the fixture's process (`/` and its pid) and scope
    /// the events to it.
    fn processes(&mut self, pid: u32) -> Result<()> {
        self.terminal.keys("\t")?;
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            self.terminal.keys(&format!("/{pid}\r"))?;
            thread::sleep(Duration::from_millis(300));
            let screen = self.terminal.screen();
            let pane = processes_pane(&screen).context("no Processes pane on the screen")?;
            let rows = pane_rows(&screen, &pane);
            let target = rows.iter().position(|row| names_process(row, pid));
            let cursor = highlighted_row(&screen, pane.top, pane.left + 1)
                .filter(|row| *row < pane.bottom)
                .map(|row| usize::from(row - pane.top));
            if target.is_some() && target == cursor {
                break;
            }
            if Instant::now() > deadline {
                bail!(
                    "could not select process {pid} in the Processes pane; screen:\n{}",
                    screen.contents()
                );
            }
        }
        self.terminal.keys("\r")?;
        let scope = format!("scope: tree {pid}");
        self.capture("processes", "the events scoped to the fixture", |s| {
            s.contains(&scope) && s.contains(MARKER)
        })?;
        // Clear the scope, and Tab round (Details, Events) to the Events pane.
        self.terminal.keys("\x1b")?;
        self.terminal.keys("\t\t")?;
        Ok(())
    }

    /// The stack views (`5`, `6`, `7`) of the fixture's events: its opens group under
    /// `load_config ← read_settings ← start_service`, the failing one among them.
    fn stack_views(&mut self) -> Result<()> {
        let filter = format!("comm={FIXTURE}");
        self.terminal.keys("f")?;
        self.terminal.keys(&filter)?;
        self.terminal.keys("\r")?;
        self.terminal
            .wait_for_text(&[&format!("filter: {filter}")])?;
        self.terminal.keys("5")?;
        self.capture("stacks", "the Stacks view", |s| {
            s.contains(" Stacks ") && s.contains("load_config") && s.contains("read_settings ←")
        })?;
        self.terminal.keys("6")?;
        // Down from the root (`_start`, then the loader's start), and over to the program's.
        self.terminal.keys("jjl")?;
        self.capture("flame", "the flame graph", |s| {
            s.contains("Flame graph") && s.contains("▶ __libc_start_main_impl")
        })?;
        self.terminal.keys("7")?;
        self.capture("failures", "the Failures view", |s| {
            s.contains("Failures:") && s.contains("open ENOENT ← load_config ← read_settings")
        })?;
        self.terminal.keys("1")?;
        self.terminal.keys("f")?;
        self.terminal.keys(&"\x7f".repeat(filter.chars().count()))?;
        self.terminal.keys("\r")?;
        self.terminal.wait_for_text(&["filter: none"])?;
        Ok(())
    }

    /// Starts the workload and returns the pid of the fixture that opens [`MARKER`]. The
    /// fixtures linger 3 s after their event; they are reaped at the end.
    fn workload(&mut self) -> Result<u32> {
        let listener =
            TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).context("listening on a loopback port")?;
        let port = listener.local_addr()?.port();
        // A port nobody listens on: bound, then closed again.
        let closed = TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
            .and_then(|l| l.local_addr())
            .context("finding a closed loopback port")?
            .port();
        serve_once(listener)?;

        let mut shell = Command::new("sh");
        shell.args([
            "-c",
            "for i in 1 2 3; do ls /usr > /dev/null; cat /etc/os-release > /dev/null; \
             sleep 0.3; done",
        ]);
        // The shell loop first, then the fixtures, so that the newest rows are theirs.
        let loop_done = self.start(&mut shell)?;
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline && !self.exited(loop_done)? {
            thread::sleep(Duration::from_millis(50));
        }
        let port = port.to_string();
        let closed = closed.to_string();
        let runs: [&[&str]; 4] = [
            &["open", "/nonexistent/config", "linger"],
            &["exec", "/bin/true"],
            &["connect", &port],
            &["connect", &closed],
        ];
        for args in runs {
            self.start(Command::new(self.fixture).args(args))?;
            thread::sleep(Duration::from_millis(150));
        }
        // Last, so that it is still alive (for its 3 s) when the Processes pane is captured.
        self.start(Command::new(self.fixture).args(["open", MARKER, "linger"]))
    }

    fn start(&mut self, command: &mut Command) -> Result<u32> {
        let child = command
            .env_remove("LD_LIBRARY_PATH")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting `{}`", cmd::show(command)))?;
        let pid = child.id();
        self.workload.push(child);
        Ok(pid)
    }

    /// Whether the workload's child `pid` has exited.
    fn exited(&mut self, pid: u32) -> Result<bool> {
        match self.workload.iter_mut().find(|child| child.id() == pid) {
            Some(child) => Ok(child
                .try_wait()
                .context("polling a workload process")?
                .is_some()),
            None => Ok(true),
        }
    }

    fn stop_workload(&mut self) {
        for mut child in self.workload.drain(..) {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Accepts one connection on `listener` (for at most 30 s), says hello and closes it.
fn serve_once(listener: TcpListener) -> Result<()> {
    listener
        .set_nonblocking(true)
        .context("making the loopback listener non-blocking")?;
    thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            match listener.accept() {
                Ok((mut stream, _)) => {
                    use std::io::Write as _;
                    let _ = stream.write_all(b"hello\n");
                    return;
                }
                Err(_) => thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    Ok(())
}

fn events_table(screen: &vt100::Screen) -> Result<EventsTable> {
    let (rows, _) = screen.size();
    for row in 0..rows {
        let text = &rows_text(screen, row, row + 1, 0, COLS)[0];
        let chars: Vec<char> = text.chars().collect();
        let find = |word: &str| {
            let word: Vec<char> = word.chars().collect();
            chars.windows(word.len()).position(|w| w == word.as_slice())
        };
        if let (Some(type_col), Some(summary_col)) = (find("TYPE "), find("SUMMARY ")) {
            return Ok(EventsTable {
                header: row,
                type_col,
                summary_col,
            });
        }
    }
    bail!(
        "no Events table header on the screen:\n{}",
        screen.contents()
    )
}

/// The Processes pane's box, found by its title in the top border.
fn processes_pane(screen: &vt100::Screen) -> Option<ProcessesPane> {
    let (rows, cols) = screen.size();
    let at = |row: u16, col: u16| {
        screen
            .cell(row, col)
            .map(|c| c.contents().to_owned())
            .unwrap_or_default()
    };
    for row in 0..rows {
        let text: Vec<char> = rows_text(screen, row, row + 1, 0, cols)[0]
            .chars()
            .collect();
        let title: Vec<char> = " Processes ".chars().collect();
        let Some(col) = text
            .windows(title.len())
            .position(|w| w == title.as_slice())
        else {
            continue;
        };
        let left = u16::try_from(col).ok()?.checked_sub(1)?;
        if at(row, left) != "┌" {
            continue;
        }
        let bottom = (row + 1..rows).find(|&r| at(r, left) == "└")?;
        let right = (left + 1..cols).find(|&c| at(row, c) == "┐")?;
        return Some(ProcessesPane {
            top: row + 1,
            bottom,
            left,
            right,
        });
    }
    None
}

fn pane_rows(screen: &vt100::Screen, pane: &ProcessesPane) -> Vec<String> {
    rows_text(screen, pane.top, pane.bottom, pane.left + 1, pane.right)
}

/// Whether a Processes row is `pid`'s: "<marker><pid> <indent><comm> ...".
fn names_process(row: &str, pid: u32) -> bool {
    let pid = pid.to_string();
    row.match_indices(&pid).any(|(at, _)| {
        let before = row[..at].chars().next_back();
        let after = row[at + pid.len()..].trim_start_matches(' ');
        !before.is_some_and(|c| c.is_ascii_digit())
            && row[at + pid.len()..].starts_with(' ')
            && after.starts_with(FIXTURE)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_process_row_names_its_pid_exactly() {
        assert!(names_process(
            &format!("    ✝4242 {FIXTURE} ▁▂ open 3"),
            4242
        ));
        assert!(names_process(&format!(" 4242 {FIXTURE}"), 4242));
        assert!(names_process(
            &format!("✝ 4242     {FIXTURE}  ▁ open 3"),
            4242
        ));
        assert!(!names_process(&format!(" 14242 {FIXTURE}"), 4242));
        assert!(!names_process(" 4242 bash", 4242));
    }

    #[test]
    fn panes_are_found_on_the_screen() {
        let mut parser = vt100::Parser::new(6, COLS, 0);
        // Two 24-column boxes side by side, as ratatui draws them.
        let lines = [
            format!(
                "┌ Events {}┐┌ Processes 2 {}┐",
                "─".repeat(14),
                "─".repeat(9)
            ),
            format!("│{:<22}││{:<22}│", "PID TYPE SUMMARY", " 1 init"),
            format!("│{:<22}││{:<22}│", "", format!("   42 {FIXTURE}")),
            format!("└{}┘└{}┘", "─".repeat(22), "─".repeat(22)),
        ];
        parser.process(lines.join("\r\n").as_bytes());
        let screen = parser.screen();
        let pane = processes_pane(screen).expect("the Processes pane");
        assert_eq!((pane.top, pane.bottom), (1, 3));
        let rows = pane_rows(screen, &pane);
        assert!(names_process(&rows[1], 42), "{rows:?}");
        let table = events_table(screen).expect("the Events header");
        assert_eq!(
            (table.header, table.type_col, table.summary_col),
            (1, 5, 10)
        );
    }
}
