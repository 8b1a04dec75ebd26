//! ringside in a pseudo-terminal: its output runs through a terminal emulator (vt100) whose
//! screen we poll, and keys are bytes written to the terminal, as a person's typing would be.

use std::{
    io::{Read, Write},
    path::Path,
    sync::{Arc, Mutex, PoisonError},
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};
use portable_pty::{Child, CommandBuilder, MasterPty, PtySize, native_pty_system};

/// How long to wait for the screen to show what we expect.
const PATIENCE: Duration = Duration::from_secs(20);

pub struct Terminal {
    // Kept so the pseudo-terminal stays open while ringside runs.
    _master: Box<dyn MasterPty + Send>,
    writer: Box<dyn Write + Send>,
    child: Box<dyn Child + Send + Sync>,
    parser: Arc<Mutex<vt100::Parser>>,
}

impl Terminal {
    /// Starts `program args` in a `rows`x`cols` pseudo-terminal with TERM=xterm-256color.
    pub fn spawn(program: &Path, args: &[&str], rows: u16, cols: u16) -> Result<Terminal> {
        let pair = native_pty_system()
            .openpty(PtySize {
                rows,
                cols,
                pixel_width: 0,
                pixel_height: 0,
            })
            .context("opening a pseudo-terminal")?;
        let mut command = CommandBuilder::new(program);
        command.args(args);
        command.env("TERM", "xterm-256color");
        let child = pair
            .slave
            .spawn_command(command)
            .with_context(|| format!("starting {} in a pseudo-terminal", program.display()))?;
        let mut reader = pair
            .master
            .try_clone_reader()
            .context("reading the pseudo-terminal")?;
        let writer = pair
            .master
            .take_writer()
            .context("writing to the pseudo-terminal")?;
        let parser = Arc::new(Mutex::new(vt100::Parser::new(rows, cols, 0)));
        let sink = Arc::clone(&parser);
        thread::spawn(move || {
            let mut buffer = [0; 65536];
            while let Ok(n) = reader.read(&mut buffer) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .process(&buffer[..n]);
            }
        });
        Ok(Terminal {
            _master: pair.master,
            writer,
            child,
            parser,
        })
    }

    /// A copy of the screen as it is now.
    pub fn screen(&self) -> vt100::Screen {
        self.parser
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .screen()
            .clone()
    }

    /// Polls the screen until `check` accepts it and returns that screen; fails after
    /// [`PATIENCE`] with the screen's text, or at once if ringside exited.
    pub fn wait_for(
        &mut self,
        what: &str,
        check: impl Fn(&vt100::Screen) -> bool,
    ) -> Result<vt100::Screen> {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let screen = self.screen();
            if check(&screen) {
                return Ok(screen);
            }
            if let Some(status) = self.child.try_wait().context("polling ringside")? {
                bail!(
                    "ringside exited ({status:?}) while we waited for {what}; screen:\n{}",
                    screen.contents()
                );
            }
            if Instant::now() > deadline {
                bail!(
                    "timed out after {}s waiting for {what}; screen:\n{}",
                    PATIENCE.as_secs(),
                    screen.contents()
                );
            }
            thread::sleep(Duration::from_millis(50));
        }
    }

    /// Waits until the screen's text contains every one of `texts`.
    pub fn wait_for_text(&mut self, texts: &[&str]) -> Result<vt100::Screen> {
        let what = texts
            .iter()
            .map(|t| format!("{t:?}"))
            .collect::<Vec<_>>()
            .join(" and ");
        self.wait_for(&what, |screen| {
            let contents = screen.contents();
            texts.iter().all(|text| contents.contains(text))
        })
    }

    /// Types `keys` (bytes as a terminal sends them: "\r" for Enter, "\x1b" for Esc), then
    /// leaves ringside a moment to act on them.
    pub fn keys(&mut self, keys: &str) -> Result<()> {
        self.writer
            .write_all(keys.as_bytes())
            .and_then(|()| self.writer.flush())
            .with_context(|| format!("typing {keys:?}"))?;
        thread::sleep(Duration::from_millis(150));
        Ok(())
    }

    /// Waits up to `timeout` for ringside to exit; fails if it does not, or exits unsuccessfully.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().context("polling ringside")? {
                if !status.success() {
                    bail!("ringside exited unsuccessfully: {status:?}");
                }
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("ringside did not exit within {}s", timeout.as_secs());
            }
            thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Terminal {
    /// On an early return ringside must not stay behind with its probes attached.
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Rows of the rectangle (`top..bottom`, `left..right`) as text, one string per row.
pub fn rows_text(
    screen: &vt100::Screen,
    top: u16,
    bottom: u16,
    left: u16,
    right: u16,
) -> Vec<String> {
    (top..bottom)
        .map(|row| {
            (left..right)
                .map(|col| {
                    screen
                        .cell(row, col)
                        .map_or(" ", |cell| match cell.contents() {
                            "" => " ",
                            text => text,
                        })
                        .to_owned()
                })
                .collect()
        })
        .collect()
}

/// The first row from `top` whose cell at `col` is drawn in reverse video: the selection.
pub fn highlighted_row(screen: &vt100::Screen, top: u16, col: u16) -> Option<u16> {
    let (rows, _) = screen.size();
    (top..rows).find(|&row| screen.cell(row, col).is_some_and(vt100::Cell::inverse))
}
