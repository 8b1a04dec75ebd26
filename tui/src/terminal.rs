//! Entering and leaving the TUI's terminal mode. The terminal is restored on every way out:
//! the guard on return and error, the panic hook on panic; signals end the loop normally.

use std::io::stdout;

use crossterm::event::{DisableMouseCapture, EnableMouseCapture};
use crossterm::execute;
use ratatui::DefaultTerminal;

/// Restores the terminal when dropped.
pub struct TerminalGuard;

impl Drop for TerminalGuard {
    fn drop(&mut self) {
        restore();
    }
}

pub fn enter() -> anyhow::Result<(DefaultTerminal, TerminalGuard)> {
    install_panic_hook();
    let terminal = ratatui::try_init()?;
    let guard = TerminalGuard;
    execute!(stdout(), EnableMouseCapture)?;
    Ok((terminal, guard))
}

fn restore() {
    let _ = execute!(stdout(), DisableMouseCapture);
    ratatui::restore();
}

fn install_panic_hook() {
    let previous = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        restore();
        previous(info);
    }));
}
