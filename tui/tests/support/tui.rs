//! The real TUI in the shared pseudo-terminal, for the tests that drive it like a person.

use std::time::{Duration, Instant};

use portable_pty::CommandBuilder;

use super::pty::Terminal;
use super::{PATIENCE, nonce, path_string};

impl Terminal {
    /// Starts `ringside ARGS` in a `rows` x `cols` pseudo-terminal, logging to a file of its own.
    pub fn start(rows: u16, cols: u16, args: &[&str]) -> Terminal {
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_ringside"));
        let log = std::env::temp_dir().join(format!("ringside-tui-{}.log", nonce()));
        command.args(["--log-file", &path_string(&log)]);
        command.args(args);
        Terminal::spawn(command, rows, cols).expect("spawn ringside in a pty")
    }

    /// Waits (up to [`PATIENCE`]) for a screen that passes `check`, and returns it.
    ///
    /// A frame reaches the terminal in several writes, top to bottom: a check that its last
    /// lines (the footer) changed too sees the whole frame.
    pub fn wait_for(&self, what: &str, check: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let text = self.contents();
            if check(&text) {
                return text;
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {} s waiting for {what}; screen:\n{text}",
                PATIENCE.as_secs()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}
