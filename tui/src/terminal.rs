//! Entering and leaving the TUI's terminal mode. The terminal is restored on every way out:
//! the guard on return and error, the panic hook on panic; signals end the loop normally.

use std::io::stdout;

use crossterm::cursor::Show;
use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use crossterm::terminal::EnterAlternateScreen;
use ratatui::layout::Rect;
use ratatui::{DefaultTerminal, TerminalOptions, Viewport};

/// Restores the terminal when dropped.
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

/// A fixed viewport, resized on the terminal's resize events: a full-screen one asks the
/// terminal its size before every frame, opening `/dev/tty` thirty times a second where any
/// tracer of the host sees it.
pub fn enter() -> anyhow::Result<(DefaultTerminal, TerminalGuard)> {
    install_panic_hook();
    let (width, height) = crossterm::terminal::size()?;
    // Unlike `ratatui::try_init`, this leaves the screen as it is: the alternate screen is
    // ours to enter.
    let terminal = ratatui::try_init_with_options(TerminalOptions {
        viewport: Viewport::Fixed(Rect::new(0, 0, width, height)),
    })?;
    execute!(stdout(), EnterAlternateScreen)?;
    let guard = TerminalGuard;
    execute!(stdout(), EnableMouseCapture)?;
    Ok((terminal, guard))
}

/// Follows a resize event.
pub fn resize(terminal: &mut DefaultTerminal, width: u16, height: u16) -> anyhow::Result<()> {
    terminal.resize(Rect::new(0, 0, width, height))?;
    Ok(())
}

fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture, Show);
    ratatui::restore();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
