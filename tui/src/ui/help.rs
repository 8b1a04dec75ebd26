//! The `?` overlay: every key, drawn from the bindings table the dispatcher uses.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

use crate::app::bindings::{self, Context, MOUSE_HELP};

/// The help's lines: a heading per context, then its keys.
pub fn lines() -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    for context in Context::SHOWN {
        lines.push(Line::styled(
            context.heading(),
            Style::new().add_modifier(Modifier::BOLD),
        ));
        for binding in bindings::of(context) {
            lines.push(key_line(&bindings::keys_label(binding), binding.help));
        }
        if context == Context::Anywhere {
            lines.push(key_line(MOUSE_HELP.0, MOUSE_HELP.1));
        }
    }
    lines.push(Line::styled(
        "The status bar",
        Style::new().add_modifier(Modifier::BOLD),
    ));
    lines.extend(STATUS_TERMS.iter().map(|(term, what)| key_line(term, what)));
    lines
}

/// What the status bar's counters mean: each is a loss or a wait someone will ask about.
const STATUS_TERMS: [(&str, &str); 6] = [
    (
        "open 120/s ✗3",
        "events a second; ✗ events the kernel lost (its ring buffer was full)",
    ),
    (
        "evicted",
        "the oldest events let go of to stay within --max-events",
    ),
    (
        "maps lost",
        "mapping records the kernel overwrote: some stacks may not resolve",
    ),
    (
        "stack copies lost",
        "user stack copies with no room in the ring: those stacks follow frame pointers only, and may stop short",
    ),
    ("malformed", "records that did not decode, skipped"),
    ("symbolizing", "stacks waiting for their symbols"),
];

fn key_line(keys: &str, what: &str) -> Line<'static> {
    Line::from(format!("  {keys:<14} {what}"))
}

pub fn draw(frame: &mut Frame<'_>, screen: Rect, scroll: u16) {
    let lines = lines();
    let width = 90.min(screen.width);
    let height = (lines.len() as u16 + 2).min(screen.height);
    let area = Rect::new(
        screen.x + (screen.width - width) / 2,
        screen.y + (screen.height - height) / 2,
        width,
        height,
    );
    // Never past the last line: the end of the help stays in view.
    let last_top = (lines.len() as u16).saturating_sub(height.saturating_sub(2));
    let scroll = scroll.min(last_top);
    let title = if last_top > 0 {
        format!(" Keys ({}/{}) ↓↑ scroll ", scroll + 1, last_top + 1)
    } else {
        " Keys ".to_owned()
    };
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines)
            .scroll((scroll, 0))
            .block(Block::new().borders(Borders::ALL).title(title)),
        area,
    );
}
