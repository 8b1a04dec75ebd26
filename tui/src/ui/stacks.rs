//! The Stacks view (`5`): one row per distinct stack, most events first, with what its events
//! were, how many failed and why, how many processes and which programs, and the innermost
//! interesting frame.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Row;

use crate::app::App;
use crate::stacks::key_cache::KeyInfo;
use crate::stacks::{StackKeys, StackRow};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(built) = app.stack_views() else {
        return;
    };
    let table = &built.stacks;
    let keys = app.stack_keys();
    let title = format!(
        " Stacks {} of {} events · {} · by {} (s) ",
        table.rows.len(),
        table.events,
        app.grouping().describe(),
        app.stack_sort().name()
    );
    let columns = [
        ("#", Constraint::Length(4)),
        ("EVENTS", Constraint::Length(8)),
        ("TYPES", Constraint::Length(18)),
        ("FAILED", Constraint::Length(16)),
        ("PROCS", Constraint::Length(5)),
        ("WHO", Constraint::Length(super::WHO_WIDTH)),
        ("FRAME", Constraint::Length(28)),
        ("CALLED FROM", Constraint::Min(10)),
    ];
    super::draw_view_list(
        frame,
        area,
        app,
        title,
        columns,
        &table.rows,
        |index, row, selected| line(index, row, keys, selected),
    );
}

fn line(index: usize, row: &StackRow, keys: &StackKeys, selected: bool) -> Row<'static> {
    let info = keys.info(row.key);
    let kinds: Vec<String> = row
        .kinds
        .iter()
        .take(3)
        .map(|k| format!("{} {}", k.kind.name(), k.events))
        .collect();
    let failed = match row.commonest_failure {
        Some((failure, _)) => format!("{} {}", row.failures, failure.name()),
        None => String::new(),
    };
    let mut style = Style::new();
    if row.failures > 0 && row.failures * 2 >= row.count {
        style = style.fg(Color::Red);
    }
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
    }
    let (frame, called_from) = frame_and_callers(info);
    Row::new(
        [
            format!("{}", index + 1),
            row.count.to_string(),
            kinds.join(" "),
            failed,
            row.processes.to_string(),
            super::fit(row.who.describe(), super::WHO_WIDTH),
            frame,
            called_from,
        ]
        .into_iter()
        .map(Line::from),
    )
    .style(style)
}

/// The innermost interesting frame, and the frames outward from it, libc left out unless the
/// frame is in libc itself, and a name repeated by neighbours (a stripped binary's frames)
/// shown once: `read_settings`, `start_service ← main`.
pub fn frame_and_callers(info: &KeyInfo) -> (String, String) {
    if let Some(placeholder) = info.key.placeholder() {
        return (placeholder.to_owned(), String::new());
    }
    let Some(frame) = &info.frame else {
        return (String::new(), String::new());
    };
    let frames = info.key.frames();
    let start = frames.iter().position(|f| f == frame).unwrap_or(0);
    let mut callers: Vec<&str> = Vec::new();
    let mut last = &*frame.name;
    for outer in &frames[start + 1..] {
        if (outer.in_libc && !frame.in_libc) || *outer.name == *last {
            continue;
        }
        last = &outer.name;
        callers.push(last);
    }
    (frame.name.to_string(), callers.join(" ← "))
}
