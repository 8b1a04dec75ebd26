//! ringside's screen in the shared pseudo-terminal ([`crate::pty`]), as the screenshots read it:
//! waiting for what we expect to see, typing keys as a person would, and cutting rows out.

use std::{
    thread,
    time::{Duration, Instant},
};

use anyhow::{Context, Result, bail};

use crate::pty::Terminal;

/// How long to wait for the screen to show what we expect.
const PATIENCE: Duration = Duration::from_secs(20);

impl Terminal {
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
            if let Some(status) = self.pty.try_wait().context("polling ringside")? {
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
        self.pty
            .type_keys(keys)
            .with_context(|| format!("typing {keys:?}"))?;
        thread::sleep(Duration::from_millis(150));
        Ok(())
    }

    /// Waits up to `timeout` for ringside to exit; fails if it does not, or exits unsuccessfully.
    pub fn wait_exit(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        loop {
            if let Some(status) = self.pty.try_wait().context("polling ringside")? {
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
