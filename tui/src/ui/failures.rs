//! The Failures view (`7`): failed events grouped by kind, error and the innermost interesting
//! frame, largest first: `open ENOENT ← read_settings ← start_service ×54`.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::Row;

use crate::app::App;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let Some(built) = app.stack_views() else {
        return;
    };
    let table = &built.failures;
    let title = format!(
        " Failures: {} failed of {} events, {} · Enter: their events ",
        table.events,
        built.stacks.events,
        super::counted(table.rows.len(), "group")
    );
    let columns = [
        ("#", Constraint::Length(4)),
        ("EVENTS", Constraint::Length(9)),
        ("PROCS", Constraint::Length(5)),
        ("WHO", Constraint::Length(super::WHO_WIDTH)),
        ("KIND ERROR ← FRAME ← CALLER", Constraint::Min(20)),
    ];
    super::draw_view_list(
        frame,
        area,
        app,
        title,
        columns,
        &table.rows,
        |index, row, selected| {
            let mut style = Style::new().fg(Color::Red);
            if selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            Row::new(
                [
                    format!("{}", index + 1),
                    format!("×{}", row.count),
                    row.processes.to_string(),
                    super::fit(row.who.describe(), super::WHO_WIDTH),
                    row.describe(),
                ]
                .into_iter()
                .map(Line::from),
            )
            .style(style)
        },
    );
}
