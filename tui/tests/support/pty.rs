//! A program in a pseudo-terminal: what it writes goes to a reader thread, keys are bytes written
//! to the terminal, as a person's typing would be, and it is killed if it outlives its handle.
//!
//! The one harness for the TUI's pty tests and for xtask's bench and screenshots: xtask takes this
//! file in with `#[path]` (a test's support file is no crate to depend on), so it uses only
//! crates both have: anyhow, portable-pty and vt100. Callers add the waits and reads they need in
//! an `impl Terminal` or a wrapper of their own.

use std::io::{self, Read, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::thread;

use anyhow::{Context, Result};
use portable_pty::{Child, CommandBuilder, ExitStatus, MasterPty, PtySize, native_pty_system};

/// A running program in a pseudo-terminal of its own.
pub struct Pty {
    master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
}

impl Pty {
    /// Starts `command` in a `rows` x `cols` pseudo-terminal with TERM=xterm-256color; a thread
    /// hands each read of its output to `output`, until the program exits.
    pub fn spawn(
        mut command: CommandBuilder,
        rows: u16,
        cols: u16,
        mut output: impl FnMut(&[u8]) + Send + 'static,
    ) -> Result<Pty> {
        let pair = native_pty_system()
            .openpty(size(rows, cols))
            .context("opening a pseudo-terminal")?;
        let shown = command
            .get_argv()
            .iter()
            .map(|arg| arg.to_string_lossy())
            .collect::<Vec<_>>()
            .join(" ");
        command.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(command)
            .with_context(|| format!("starting `{shown}` in a pseudo-terminal"))?;
        // Only the child holds the terminal's other end now: the reader sees the end when it exits.
        drop(pair.slave);
        let mut reader = pair
            .master
            .try_clone_reader()
            .context("reading the pseudo-terminal")?;
        let writer = pair
            .master
            .take_writer()
            .context("writing to the pseudo-terminal")?;
        thread::spawn(move || {
            let mut buffer = vec![0; 1 << 16];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                output(&buffer[..n]);
            }
        });
        Ok(Pty {
            master: pair.master,
            writer,
            child,
        })
    }

    pub fn pid(&self) -> Option<u32> {
        self.child.process_id()
    }

    /// Writes `keys` (bytes as a terminal sends them: "\r" for Enter, "\x1b" for Esc).
    pub fn type_keys(&mut self, keys: &str) -> io::Result<()> {
        self.writer.write_all(keys.as_bytes())?;
        self.writer.flush()
    }

    /// The program's exit status, if it has exited.
    pub fn try_wait(&mut self) -> io::Result<Option<ExitStatus>> {
        self.child.try_wait()
    }

    pub fn wait(&mut self) -> io::Result<ExitStatus> {
        self.child.wait()
    }
}

impl Drop for Pty {
    /// A failed test or an early return must not leave the program behind (for ringside: with
    /// its probes attached).
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn size(rows: u16, cols: u16) -> PtySize {
    PtySize {
        rows,
        cols,
        pixel_width: 0,
        pixel_height: 0,
    }
}

/// A program in a pseudo-terminal whose output runs through a terminal emulator (vt100), so its
/// screen can be read back.
pub struct Terminal {
    pub pty: Pty,
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Terminal {
    /// Starts `command` in a `rows` x `cols` pseudo-terminal read by a terminal emulator.
    pub fn spawn(command: CommandBuilder, rows: u16, cols: u16) -> Result<Terminal> {
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let sink = Arc::clone(&parser);
        let pty = Pty::spawn(command, rows, cols, move |bytes| {
            sink.lock()
                .unwrap_or_else(PoisonError::into_inner)
                .process(bytes);
        })?;
        Ok(Terminal { pty, parser })
    }

    /// A copy of the screen as it is now.
    pub fn screen(&self) -> vt100::Screen {
        self.parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .screen()
            .clone()
    }

    /// The screen's text.
    pub fn contents(&self) -> String {
        self.parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .screen()
            .contents()
    }

    /// Resizes the terminal, as a person dragging the window's corner, and the emulator's screen.
    pub fn resize(&mut self, rows: u16, cols: u16) -> Result<()> {
        self.pty
            .master
            .resize(size(rows, cols))
            .context("resizing the pseudo-terminal")?;
        self.parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .screen_mut()
            .set_size(rows, cols);
        Ok(())
    }
}
