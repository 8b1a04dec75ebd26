//! The real TUI in a pseudo-terminal, read back through a terminal emulator; each test adds
//! the helpers it needs in an `impl Tui` of its own.

use std::io::{Read, Write};
use std::sync::{Arc, Mutex};

use portable_pty::{CommandBuilder, MasterPty, PtySize, native_pty_system};

use super::{nonce, path_string};

pub struct Tui {
    pub master: Box<dyn MasterPty + Send>,
    pub writer: Box<dyn Write + Send>,
    pub child: Box<dyn portable_pty::Child + Send + Sync>,
    pub screen: Arc<Mutex<vt100::Parser>>,
}

impl Tui {
    /// Starts `ringside ARGS` in a `rows` x `cols` pseudo-terminal.
    pub fn start(rows: u16, cols: u16, args: &[&str]) -> Tui {
        let pty = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .expect("openpty");
        let mut command = CommandBuilder::new(env!("CARGO_BIN_EXE_ringside"));
        let log = std::env::temp_dir().join(format!("ringside-tui-{}.log", nonce()));
        command.args(["--log-file", &path_string(&log)]);
        command.args(args);
        command.env("TERM", "xterm-256color");
        let child = pty
            .slave
            .spawn_command(command)
            .expect("spawn ringside in a pty");
        let mut reader = pty.master.try_clone_reader().expect("reader");
        let writer = pty.master.take_writer().expect("writer");
        let screen = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let sink = Arc::clone(&screen);
        std::thread::spawn(move || {
            let mut buffer = [0; 65536];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock().expect("lock").process(&buffer[..n]);
            }
        });
        Tui {
            master: pty.master,
            writer,
            child,
            screen,
        }
    }

    pub fn contents(&self) -> String {
        self.screen.lock().expect("lock").screen().contents()
    }
}

/// A failed test leaves no ringside behind.
impl Drop for Tui {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
