//! The Details pane: every field of the selected event and its stacks, symbolized as they
//! arrive; syscall-entry and tracing frames are folded into one line.

use ratatui::Frame;
use ratatui::layout::{Margin, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{
    Block, Borders, Paragraph, Scrollbar, ScrollbarOrientation, ScrollbarState, Wrap,
};

use super::border;
use crate::app::{App, Pane, View};
use crate::model::Event;
use crate::model::event::{Details, Exec};
use crate::model::frame::{Fold, FoundBy, Frame as StackFrame, StackEnd};
use crate::model::text::printable;
use crate::output::json::event_to_json;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let lines = match app.detail_event() {
        Some(event) => lines(event),
        None => vec![Line::from("No event selected.")],
    };
    let block = Block::new()
        .borders(Borders::ALL)
        .title(match app.view() {
            View::Stacks | View::Failures => " Details: the newest event of the selected row ",
            View::Events | View::Flame if app.zoom_details() => " Details (Enter or Esc: back) ",
            View::Events | View::Flame => " Details (Enter: zoom) ",
        })
        .border_style(border(app, Pane::Details));
    let total = lines.len();
    let paragraph = Paragraph::new(lines)
        .block(block)
        .wrap(Wrap { trim: false })
        .scroll((app.detail_scroll(), 0));
    frame.render_widget(paragraph, area);
    // Where the view is in the event's lines (wrapped lines count once: close enough to
    // show there is more, and how far down the view is).
    let visible = usize::from(area.height.saturating_sub(2));
    if total > visible {
        let mut state = ScrollbarState::new(total.saturating_sub(visible))
            .position(usize::from(app.detail_scroll()));
        frame.render_stateful_widget(
            Scrollbar::new(ScrollbarOrientation::VerticalRight),
            area.inner(Margin::new(0, 1)),
            &mut state,
        );
    }
}

/// The event as key: value lines, then its stacks.
pub fn lines(event: &Event) -> Vec<Line<'static>> {
    let key = Style::new().fg(Color::Cyan);
    let mut lines = Vec::new();
    // The JSON object is the one definition of an event's fields: show the same here.
    if let serde_json::Value::Object(fields) = event_to_json(event) {
        for (name, value) in fields {
            // The stacks follow, each ending with its own verdict.
            if matches!(name.as_str(), "ustack" | "kstack" | "ustack_end") {
                continue;
            }
            let text = match value {
                serde_json::Value::String(s) => printable(s.as_bytes()).into_owned(),
                serde_json::Value::Array(items) => items
                    .iter()
                    .map(|item| match item {
                        serde_json::Value::String(s) => printable(s.as_bytes()).into_owned(),
                        other => other.to_string(),
                    })
                    .collect::<Vec<_>>()
                    .join(" "),
                other => other.to_string(),
            };
            lines.push(Line::from(vec![
                Span::styled(format!("{name:>12}: "), key),
                Span::raw(text),
            ]));
        }
    }
    if let Details::Exec(Exec { argv, .. }) = &event.details {
        for (index, arg) in argv.iter().enumerate() {
            lines.push(Line::from(vec![
                Span::styled(format!("{:>12}: ", format!("argv[{index}]")), key),
                Span::raw(printable(arg).into_owned()),
            ]));
        }
    }
    let stacks = event.stacks.as_deref();
    let pending = stacks.is_none();
    for (title, raw, frames) in [
        ("user stack", &event.ustack, stacks.map(|s| &s.user)),
        ("kernel stack", &event.kstack, stacks.map(|s| &s.kernel)),
    ] {
        if raw.is_empty() && frames.is_none_or(|f| f.is_empty()) {
            continue;
        }
        lines.push(Line::from(Span::styled(
            format!("{title}{}", if pending { " (symbolizing…)" } else { "" }),
            Style::new().add_modifier(Modifier::BOLD),
        )));
        match frames {
            Some(frames) => lines.extend(frame_lines(frames)),
            None => lines.extend(
                raw.iter()
                    .enumerate()
                    .map(|(i, addr)| Line::from(format!("  #{i:<2} {addr:#x}"))),
            ),
        }
        if title == "user stack"
            && let Some(end) = stacks.and_then(|s| s.user_end)
        {
            lines.push(stack_end_line(end));
        }
    }
    lines
}

/// The line under a user stack that says whether it is whole.
fn stack_end_line(end: StackEnd) -> Line<'static> {
    let color = match end {
        StackEnd::Complete => Color::Green,
        _ => Color::Yellow,
    };
    Line::styled(format!("  └ {}", end.explain()), Style::new().fg(color))
}

fn frame_lines(frames: &[StackFrame]) -> Vec<Line<'static>> {
    let mut lines = Vec::new();
    let mut index = 0;
    while index < frames.len() {
        let Some(frame) = frames.get(index) else {
            break;
        };
        if let Some(fold) = frame.folded {
            let run = frames[index..]
                .iter()
                .take_while(|f| f.folded == Some(fold))
                .count();
            let what = match fold {
                Fold::SyscallEntry => "syscall entry",
                Fold::Tracing => "tracing",
            };
            lines.push(Line::styled(
                format!("  ⋯ {}", super::counted(run, &format!("{what} frame"))),
                Style::new().fg(Color::DarkGray),
            ));
            index += run;
            continue;
        }
        lines.push(frame_line(index, frame));
        for inlined in frame.inlined.iter().rev() {
            let at = location(inlined.file.as_deref(), inlined.line);
            lines.push(Line::styled(
                format!("      ↳ inlined {}{at}", inlined.symbol),
                Style::new().fg(Color::Magenta),
            ));
        }
        index += 1;
    }
    lines
}

fn frame_line(index: usize, frame: &StackFrame) -> Line<'static> {
    let dim = Style::new().fg(Color::DarkGray);
    let mut module = frame
        .module
        .as_deref()
        .map(|m| format!("  [{}]", m.rsplit('/').next().unwrap_or(m)))
        .unwrap_or_default();
    // Frames an unwind table could not vouch for: worth knowing when a stack looks odd.
    if frame.found_by == Some(FoundBy::FramePointer) {
        module.push_str(" (frame pointer)");
    }
    match (&frame.symbol, frame.unresolved) {
        (Some(symbol), _) => {
            let at = location(frame.file.as_deref(), frame.line);
            Line::from(vec![
                Span::raw(format!("  #{index:<2} ")),
                Span::styled(symbol.to_string(), Style::new().fg(Color::Yellow)),
                Span::raw(format!("+{:#x}{at}", frame.offset.unwrap_or(0))),
                Span::styled(module, dim),
            ])
        }
        (None, why) => Line::styled(
            format!(
                "  #{index:<2} {:#x}  ({}){module}",
                frame.addr,
                why.map_or("unresolved", |w| w.as_str())
            ),
            dim,
        ),
    }
}

fn location(file: Option<&str>, line: Option<u32>) -> String {
    match (file, line) {
        (Some(file), Some(line)) => {
            format!("  {}:{line}", file.rsplit('/').next().unwrap_or(file))
        }
        (Some(file), None) => format!("  {file}"),
        _ => String::new(),
    }
}
