//! Rendering: a pure read of `App`, one file per pane. Nothing here mutates state or does I/O.

pub mod details;
pub mod events;
mod failures;
mod flame;
mod help;
pub mod processes;
mod stacks;
mod status;

#[cfg(test)]
mod exit_tests;
#[cfg(test)]
mod key_table_tests;
#[cfg(test)]
mod signal_view_tests;
#[cfg(test)]
mod stack_view_tests;
#[cfg(test)]
mod tests;
#[cfg(test)]
mod usability_tests;

use ratatui::Frame;
use ratatui::style::{Color, Modifier, Style};

use crate::app::layout::Areas;
use crate::app::{App, Pane, View};

pub fn draw(frame: &mut Frame<'_>, app: &App) {
    let size = frame.area();
    let fleet = !app.hosts().is_empty();
    let areas = Areas::of(
        size.width,
        size.height,
        app.zoom_details(),
        app.view(),
        fleet,
    );
    status::title(frame, areas.title, app);
    match app.view() {
        View::Flame => flame::draw(frame, areas.events, app),
        _ if app.zoom_details() => {}
        View::Events => events::draw(frame, areas.events, app),
        View::Stacks => stacks::draw(frame, areas.events, app),
        View::Failures => failures::draw(frame, areas.events, app),
    }
    if areas.processes.width > 0 {
        processes::draw(frame, areas.processes, app);
    }
    if areas.details.height > 0 {
        details::draw(frame, areas.details, app);
    }
    status::status_bar(frame, areas.status, app);
    if fleet {
        status::hosts_line(frame, areas.hosts, app);
    }
    status::footer(frame, areas.footer, app);
    if app.show_help() {
        help::draw(frame, size, app.help_scroll());
    }
}

/// A stack view's list in `area`: the rows on screen of `items` (each drawn by `row`, given
/// its index and whether it is selected) in a bordered table with a bold header, titled with
/// the scope in force, focused as the Events pane whose place it takes.
fn draw_view_list<T, const N: usize>(
    frame: &mut Frame<'_>,
    area: ratatui::layout::Rect,
    app: &App,
    mut title: String,
    columns: [(&'static str, ratatui::layout::Constraint); N],
    items: &[T],
    row: impl Fn(usize, &T, bool) -> ratatui::widgets::Row<'static>,
) {
    use ratatui::widgets::{Block, Borders, Row, Table};
    let window = app.view_window(area);
    let rows: Vec<Row<'_>> = items
        .iter()
        .enumerate()
        .skip(window.first)
        .take(window.rows)
        .map(|(index, item)| {
            let selected = index == app.view_cursor() && app.focus() == Pane::Events;
            row(index, item, selected)
        })
        .collect();
    if let Some(scope) = app.scope() {
        title.push_str(&format!("· scope: {} ", scope.label()));
    }
    let header =
        Row::new(columns.map(|(name, _)| name)).style(Style::new().add_modifier(Modifier::BOLD));
    let table = Table::new(rows, columns.map(|(_, width)| width))
        .header(header)
        .block(
            Block::new()
                .borders(Borders::ALL)
                .title(title)
                .border_style(border(app, Pane::Events)),
        );
    frame.render_widget(table, area);
}

/// The WHO column of the Stacks and Failures views: room for two names and their counts.
const WHO_WIDTH: u16 = 24;

/// `text` cut to `width` characters, with `…` where it was cut, so a cut name does not read as
/// a whole one.
fn fit(text: String, width: u16) -> String {
    let width = usize::from(width);
    if text.chars().count() <= width {
        return text;
    }
    let mut cut: String = text.chars().take(width.saturating_sub(1)).collect();
    cut.push('…');
    cut
}

/// The border style of a pane: the focused one stands out.
fn border(app: &App, pane: Pane) -> Style {
    if app.focus() == pane {
        Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD)
    } else {
        Style::new().fg(Color::DarkGray)
    }
}

/// `1 group`, `2 groups`: a count with its noun, singular for one.
pub fn counted(n: usize, noun: &str) -> String {
    if n == 1 {
        format!("1 {noun}")
    } else {
        format!("{n} {noun}s")
    }
}
