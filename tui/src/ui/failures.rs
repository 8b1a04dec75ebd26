//! The Failures view (`7`): failed events grouped by kind, error and the innermost interesting
//! frame, largest first: `open ENOENT ← read_settings ← start_service ×54`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Row, Table};

use super::border;
use crate::app::{App, Pane};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(built) = app.stack_views() else {
        return;
    };
    let table = &built.failures;
    let window = app.view_window(area);
    let rows: Vec<Row<'_>> = table
        .rows
        .iter()
        .enumerate()
        .skip(window.first)
        .take(window.rows)
        .map(|(index, row)| {
            let mut style = Style::new().fg(Color::Red);
            if index == app.view_cursor() && app.focus() == Pane::Events {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(
                [
                    format!("{}", index + 1),
                    format!("×{}", row.count),
                    row.processes.to_string(),
                    row.describe(),
                ]
                .into_iter()
                .map(Line::from),
            )
            .style(style)
        })
        .collect();
    let mut title = format!(
        " Failures: {} failed of {} events, {} groups · Enter: their events ",
        table.events,
        built.stacks.events,
        table.rows.len()
    );
    if let Some(scope) = app.scope() {
        title.push_str(&format!("· scope: {} ", scope.label()));
    }
    let header = Row::new(["#", "EVENTS", "PROCS", "KIND ERROR ← FRAME ← CALLER"])
        .style(Style::new().add_modifier(Modifier::BOLD));
    let widths = [
        Constraint::Length(4),
        Constraint::Length(9),
        Constraint::Length(5),
        Constraint::Min(20),
    ];
    let widget = Table::new(rows, widths).header(header).block(
        Block::new()
            .borders(Borders::ALL)
            .title(title)
            .border_style(border(app, Pane::Events)),
    );
    frame.render_widget(widget, area);
}
