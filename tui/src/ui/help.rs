//! The `?` overlay: every key.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Clear, Paragraph};

const KEYS: &[(&str, &str)] = &[
    ("↑ ↓  j k", "move"),
    ("g G  Home End", "first / last (G follows new events)"),
    ("Ctrl-d Ctrl-u", "half page down / up"),
    ("PgDn PgUp", "page down / up"),
    ("Tab  Shift-Tab", "next / previous pane"),
    (
        "Enter",
        "details full screen; in Processes: scope to the process or unit",
    ),
    (
        "Esc",
        "leave details / clear the scope (back to the stack view) / cancel a prompt",
    ),
    ("t", "scope to the process's whole tree, or to it alone"),
    (
        "u",
        "Processes by unit/container (Enter on one scopes every pane)",
    ),
    ("c", "show / hide the Events pane's unit/container column"),
    (
        "s",
        "sort Processes: tree / events / failures / rate / name",
    ),
    ("1 2 3 4", "events: all / exec / files / network"),
    (
        "5 6 7",
        "Stacks, Flame graph, Failures; Enter: its events (Flame: zoom); Esc: back",
    ),
    (
        "s u + -",
        "in Stacks: sort; user stacks only; group by fewer / more innermost frames",
    ),
    ("/  n N", "search (incremental), next / previous match"),
    (
        "f",
        "edit the filter, e.g. tree=4242 and type=open and ret<0",
    ),
    (
        "space  p",
        "pause / resume the view (events are still collected)",
    ),
    (
        "r",
        "start / stop recording what the filter passes (ringside-<time>.rsrec)",
    ),
    ("mouse", "click selects, wheel scrolls"),
    ("q  Ctrl-c", "quit"),
    ("?", "this help; any key closes it"),
];

pub fn draw(frame: &mut Frame<'_>, screen: Rect) {
    let width = 96.min(screen.width);
    let height = (KEYS.len() as u16 + 2).min(screen.height);
    let area = Rect::new(
        screen.x + (screen.width - width) / 2,
        screen.y + (screen.height - height) / 2,
        width,
        height,
    );
    let lines: Vec<Line<'_>> = KEYS
        .iter()
        .map(|(key, what)| Line::from(format!(" {key:<16} {what}")))
        .collect();
    frame.render_widget(Clear, area);
    frame.render_widget(
        Paragraph::new(lines).block(Block::new().borders(Borders::ALL).title(" Keys ")),
        area,
    );
}
