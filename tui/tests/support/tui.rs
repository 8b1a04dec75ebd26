//! The real TUI in the shared pseudo-terminal, for the tests that drive it like a person.

use portable_pty::CommandBuilder;

use super::pty::Terminal;
use super::{nonce, path_string};

impl Terminal {
    /// Starts `ringside ARGS` in a `rows` x `cols` pseudo-terminal, logging to a file of its own.
    pub fn start(rows: u16, cols: u16, args: &[&str]) -> Terminal {
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_ringside"));
        let log = std::env::temp_dir().join(format!("ringside-tui-{}.log", nonce()));
        command.args(["--log-file", &path_string(&log)]);
        command.args(args);
        Terminal::spawn(command, rows, cols).expect("spawn ringside in a pty")
    }
}
