//! The Processes pane: the tree of processes seen, or the processes under their unit or
//! container (`u`), with counts and a rate sparkline.

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::border;
use crate::app::processes::Process;
use crate::app::{App, Pane, ProcessRow, ProcessSort, Scope};
use crate::model::text::printable;
use crate::model::{EventKind, Group};

const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let window = app.processes_window(area);
    let rows = app.process_rows();
    let shown: Vec<(usize, &ProcessRow)> = rows
        .iter()
        .enumerate()
        .skip(window.first)
        .take(window.rows)
        .collect();
    // The name column is as wide as the longest name shown (at most half the pane), so the
    // sparklines and counts line up whatever the names.
    let name_width = shown
        .iter()
        .filter_map(|(_, row)| match row {
            ProcessRow::Process { depth, host, pid } => {
                let process = app.processes().get(*host, *pid)?;
                let on = host.label().map_or(0, |label| label.chars().count() + 1);
                Some(on + 2 * (*depth).min(12) + printable(&process.comm).chars().count())
            }
            ProcessRow::Unit(_) => None,
        })
        .max()
        .unwrap_or(0)
        .min(usize::from(area.width / 2));
    let pid_width = shown
        .iter()
        .filter_map(|(_, row)| match row {
            ProcessRow::Process { pid, .. } => Some(pid.to_string().len()),
            ProcessRow::Unit(_) => None,
        })
        .max()
        .unwrap_or(1);
    let lines: Vec<Line<'_>> = shown
        .into_iter()
        .filter_map(|(index, row)| {
            let selected = Some(index) == app.process_cursor() && app.focus() == Pane::Processes;
            let (depth, host, pid) = match row {
                ProcessRow::Unit(unit) => return Some(unit_line(app, unit.as_deref(), selected)),
                ProcessRow::Process { depth, host, pid } => (*depth, *host, *pid),
            };
            let process = app.processes().get(host, pid)?;
            let mut style = Style::new();
            if process.exited_ticks.is_some() {
                style = style.fg(Color::DarkGray);
            }
            if matches!(app.scope(), Some(Scope::Process(h, p) | Scope::Tree(h, p)) if *h == host && *p == pid)
            {
                style = style.fg(Color::Yellow);
            }
            if selected {
                style = style.add_modifier(Modifier::REVERSED);
            }
            let marker = if process.exited_ticks.is_some() {
                "✝"
            } else {
                " "
            };
            let indent = "  ".repeat(depth.min(12));
            let on = host
                .label()
                .map(|label| format!("{} ", printable(label.as_bytes())))
                .unwrap_or_default();
            let name: String = format!("{on}{indent}{}", printable(&process.comm))
                .chars()
                .take(name_width)
                .collect();
            let counts: Vec<String> = Group::ALL
                .into_iter()
                .map(|group| counter(process, group))
                .filter(|&(_, n)| n > 0)
                .map(|(what, n)| format!("{what} {n}"))
                .collect();
            let counts = counts.join(" ");
            Some(Line::from(vec![
                Span::styled(
                    format!("{marker}{pid:>pid_width$} {name:<name_width$} "),
                    style,
                ),
                Span::styled(sparkline(&process.history), Style::new().fg(Color::Green)),
                Span::styled(format!(" {counts}"), Style::new().fg(Color::Gray)),
            ]))
        })
        .collect();
    // A stack or failure scope narrows the Events pane only: this pane still lists every
    // process, so its title does not claim the scope.
    let scope = app
        .scope()
        .filter(|scope| !scope.is_stack_scope())
        .map(|scope| format!(" scope: {} ", scope.label()))
        .unwrap_or_default();
    let gone = app
        .process_pick_gone()
        .map(|pid| format!(" · selected {pid} gone "))
        .unwrap_or_default();
    let sort = match app.process_sort() {
        ProcessSort::Tree => String::new(),
        sort => format!(" by {}", sort.name()),
    };
    let title = format!(" Processes {}{sort}{scope}{gone}", app.processes().len());
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border(app, Pane::Processes));
    frame.render_widget(Paragraph::new(lines).block(block), area);
}

/// A unit's or container's heading (`u`); Enter on it scopes every pane to it.
fn unit_line(app: &App, unit: Option<&str>, selected: bool) -> Line<'static> {
    let mut style = Style::new().fg(Color::Cyan).add_modifier(Modifier::BOLD);
    if unit.is_some() && matches!(app.scope(), Some(Scope::Unit(u)) if Some(&**u) == unit) {
        style = style.fg(Color::Yellow);
    }
    if selected {
        style = style.add_modifier(Modifier::REVERSED);
    }
    let name = unit.map_or_else(
        || "(no unit)".to_owned(),
        |u| printable(u.as_bytes()).into_owned(),
    );
    Line::styled(format!("▾ {name}"), style)
}

/// What a row counts of a group, and the word it shows before the count. Of the process group,
/// the execs alone, as the pane has always shown: not its forks and exits.
fn counter(process: &Process, group: Group) -> (&'static str, u64) {
    match group {
        Group::Process => ("exec", process.count(EventKind::Exec)),
        Group::Files => ("open", process.group_count(Group::Files)),
        Group::Network => ("net", process.group_count(Group::Network)),
        Group::Changes => ("chg", process.group_count(Group::Changes)),
    }
}

/// Events per second over the last seconds, scaled to the busiest.
fn sparkline(history: &std::collections::VecDeque<u32>) -> String {
    let peak = history.iter().copied().max().unwrap_or(0).max(1);
    history
        .iter()
        .map(|&n| {
            if n == 0 {
                ' '
            } else {
                BARS[(n as usize * 7 / peak as usize).min(7)]
            }
        })
        .collect()
}
