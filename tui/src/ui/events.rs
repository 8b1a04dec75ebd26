//! The Events pane: a table of the visible events; only the rows on screen are built.

use ratatui::Frame;
use ratatui::layout::{Constraint, Rect};
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::Line;
use ratatui::widgets::{Block, Borders, Row, Table};

use super::border;
use crate::app::{App, Pane};
use crate::model::Event;
use crate::model::event::Details;
use crate::model::names::error_name;
use crate::model::text::printable;
use crate::stacks::Failure;

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let window = app.events_window(area);
    let first = window.first;
    // TIME needs room; COMM and RESULT always stay; UNIT when there is room, or `c`.
    let columns = Columns {
        time: area.width >= 110,
        host: !app.hosts().is_empty(),
        unit: app.unit_column(area.width),
    };
    let body: Vec<Row<'_>> = app
        .visible()
        .range(first.min(app.visible().len())..)
        .take(window.rows)
        .enumerate()
        .filter_map(|(offset, &id)| {
            let event = app.store().get(id)?;
            Some(row(event, first + offset == app.cursor(), columns))
        })
        .collect();
    let widths = columns.widths();
    let header = Row::new(columns.titles());
    let mode = if app.paused() {
        "PAUSED"
    } else if app.follow() {
        "following"
    } else {
        "scrolled"
    };
    let mut title = format!(
        " Events [{}] {}/{} {} ",
        app.tab().name(),
        app.visible().len(),
        app.store().len(),
        mode
    );
    if let Some(scope) = app.scope().filter(|scope| scope.is_stack_scope()) {
        title.push_str(&format!("· scope: {} (Esc: back) ", scope.label()));
    }
    let table = Table::new(body, widths.iter().copied())
        .header(header.style(Style::new().add_modifier(Modifier::BOLD)))
        .block(
            Block::new()
                .borders(Borders::ALL)
                .title(title)
                .border_style(border(app, Pane::Events)),
        );
    frame.render_widget(table, area);
}

/// Which of the optional columns the pane shows.
#[derive(Clone, Copy)]
struct Columns {
    time: bool,
    /// A fleet view: which host.
    host: bool,
    unit: bool,
}

impl Columns {
    fn titles(self) -> Vec<&'static str> {
        let mut titles = Vec::with_capacity(7);
        if self.time {
            titles.push("TIME");
        }
        if self.host {
            titles.push("HOST");
        }
        titles.extend(["PID", "COMM"]);
        if self.unit {
            titles.push("UNIT");
        }
        titles.extend(["TYPE", "SUMMARY", "RESULT"]);
        titles
    }

    fn widths(self) -> Vec<Constraint> {
        let mut widths = Vec::with_capacity(7);
        if self.time {
            widths.push(Constraint::Length(12));
        }
        if self.host {
            widths.push(Constraint::Length(12));
        }
        widths.push(Constraint::Length(7));
        widths.push(Constraint::Length(if self.time { 15 } else { 12 }));
        if self.unit {
            widths.push(Constraint::Length(22));
        }
        widths.extend([
            Constraint::Length(9),
            Constraint::Min(10),
            Constraint::Length(14),
        ]);
        widths
    }
}

/// What the RESULT column says: `✗ ENOENT`, `✗ NXDOMAIN`, `✗ exit 1` or `✗ SIGSEGV` for a
/// failure, the error's name without the mark for a "not yet" (`EINPROGRESS`), the result
/// otherwise (an fd), nothing for kinds without one.
pub(super) fn result_text(details: &Details) -> String {
    if let Details::Signal(signal) = details {
        return signal.result_name().to_owned();
    }
    if let Details::OomKill(_) = details {
        return "✗ OOM kill".to_owned();
    }
    if let Details::Dns(_) | Details::Exit(_) = details {
        return match Failure::of_details(details) {
            Some(failure) => format!("✗ {}", failure.name()),
            None => String::new(),
        };
    }
    match details.ret() {
        Some(ret) => match error_name(ret) {
            Some(error) if details.failed() => format!("✗ {error}"),
            Some(error) => error,
            None => ret.to_string(),
        },
        None => String::new(),
    }
}

fn row(event: &Event, selected: bool, columns: Columns) -> Row<'static> {
    let failed = event.details.failed();
    let result = result_text(&event.details);
    let summary = event.summary();
    let mut cells: Vec<String> = Vec::with_capacity(7);
    if columns.time {
        cells.push(time_of_day(event));
    }
    if columns.host {
        let host = event.host.label();
        cells.push(
            host.as_deref()
                .map(|label| printable(label.as_bytes()).into_owned())
                .unwrap_or_default(),
        );
    }
    cells.push(event.pid.to_string());
    cells.push(printable(&event.comm).into_owned());
    if columns.unit {
        let unit = event.cgroup.as_ref().and_then(|info| info.label.as_deref());
        cells.push(
            unit.map(|u| printable(u.as_bytes()).into_owned())
                .unwrap_or_default(),
        );
    }
    cells.extend([event.kind().name().to_owned(), summary, result]);
    let mut style = Style::new();
    if failed {
        style = style.fg(Color::Red);
    }
    // A signal one process sent another (`kill`): the headline of "who killed it".
    if let Details::Signal(signal) = &event.details
        && signal.sent_by_another_process(event.pid)
    {
        style = style.fg(Color::Yellow).add_modifier(Modifier::BOLD);
    }
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
    }
    Row::new(cells.into_iter().map(Line::from)).style(style)
}

fn time_of_day(event: &Event) -> String {
    let since_epoch = event
        .time
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let secs = since_epoch.as_secs() % 86_400;
    format!(
        "{:02}:{:02}:{:02}.{:03}",
        secs / 3600,
        secs / 60 % 60,
        secs % 60,
        since_epoch.subsec_millis()
    )
}
