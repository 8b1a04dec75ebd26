//! The title line, the status bar (rates, drops, backlog, own CPU) and the footer (key hints,
//! or the filter/search prompt with its error).

use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::Paragraph;

use crate::app::bindings::{BINDINGS, Key};
use crate::app::{App, Prompt, Tab, View};
use crate::model::EventKind;
use crate::model::event::Group;

pub fn title(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let mut spans = vec![
        Span::styled(" ringside ", Style::new().fg(Color::Black).bg(Color::Cyan)),
        Span::raw(format!(" {} ", app.source())),
    ];
    // What may not go unnoticed comes first, before a narrow terminal cuts the line.
    if let Some(recording) = app.recording() {
        let text = format!("● REC {} ({} events) ", recording.path, recording.events);
        spans.push(Span::styled(
            text,
            Style::new().fg(Color::Red).add_modifier(Modifier::BOLD),
        ));
    }
    if app.paused() {
        spans.push(Span::styled("PAUSED ", Style::new().fg(Color::Yellow)));
    }
    let filter = filter_spans(app);
    // On a narrow terminal the tabs go by number alone, so the filter stays in view.
    let used: usize = spans.iter().chain(&filter).map(Span::width).sum();
    let named = tab_spans(app, true);
    let tabs = if used + named.iter().map(Span::width).sum::<usize>() <= usize::from(area.width) {
        named
    } else {
        tab_spans(app, false)
    };
    spans.extend(tabs);
    spans.extend(filter);
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

/// The tabs and the stack views, each with its key; `named` adds their names.
fn tab_spans(app: &App, named: bool) -> Vec<Span<'static>> {
    let style = |shown: bool| {
        if shown {
            Style::new().add_modifier(Modifier::REVERSED)
        } else {
            Style::new().fg(Color::Gray)
        }
    };
    let label = |key: String, name: &str| {
        if named {
            format!(" {key} {name} ")
        } else {
            format!(" {key} ")
        }
    };
    let tabs = Tab::ALL.iter().map(|tab| {
        let shown = *tab == app.tab() && app.view() == View::Events;
        Span::styled(label(tab.key().to_string(), tab.name()), style(shown))
    });
    let views = View::STACK_VIEWS.into_iter().map(|(key, view)| {
        Span::styled(
            label(key.to_string(), view.name()),
            style(view == app.view()),
        )
    });
    tabs.chain(views).collect()
}

/// `filter: comm=svc`, and when the kernel enforces part of it, that the others are not even
/// collected.
fn filter_spans(app: &App) -> Vec<Span<'static>> {
    let text = app.filter().text();
    let mut spans = vec![Span::raw(format!(
        "  filter: {}",
        if text.is_empty() { "none" } else { text }
    ))];
    if !app.is_replay() && app.filter().kernel_part().restricts() {
        spans.push(Span::styled(
            " · kernel: only these are traced",
            Style::new().fg(Color::Yellow),
        ));
    }
    spans
}

pub fn status_bar(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let stats = app.stats();
    let mut spans = Vec::new();
    for kind in EventKind::ALL {
        let rate = stats.rates.get(&kind).copied().unwrap_or(0.0);
        let dropped = stats.kernel_drops.get(&kind).copied().unwrap_or(0);
        if !always_shown(kind) && rate == 0.0 && dropped == 0 {
            continue;
        }
        spans.push(Span::raw(format!("{} {rate:.0}/s", kind.name())));
        if dropped > 0 {
            spans.push(Span::styled(
                format!(" ✗{dropped}"),
                Style::new().fg(Color::Red),
            ));
        }
        spans.push(Span::raw("  "));
    }
    let red = Style::new().fg(Color::Red);
    if stats.malformed > 0 {
        spans.push(Span::styled(
            format!("malformed {}  ", stats.malformed),
            red,
        ));
    }
    if app.store().evicted > 0 {
        spans.push(Span::raw(format!("evicted {}  ", app.store().evicted)));
    }
    if stats.mapping_records_lost > 0 {
        spans.push(Span::styled(
            format!("maps lost {}  ", stats.mapping_records_lost),
            red,
        ));
    }
    if stats.stack_copies_lost > 0 {
        spans.push(Span::styled(
            format!("stack copies lost {}  ", stats.stack_copies_lost),
            red,
        ));
    }
    if let Some(otlp) = &stats.otlp {
        spans.extend(otlp_spans(otlp));
    }
    spans.push(Span::raw(format!(
        "symbolizing {}  cpu {:.1}%",
        stats.symbol_backlog, stats.cpu_percent
    )));
    frame.render_widget(
        Paragraph::new(Line::from(spans)).style(Style::new().bg(Color::Rgb(30, 30, 40))),
        area,
    );
}

/// Kinds the bar always shows; the others (signals, OOM kills, file changes: rarer, and
/// many) only while they happen or once some were lost, so that the bar still fits.
fn always_shown(kind: EventKind) -> bool {
    matches!(kind.group(), Group::Files | Group::Network)
        || matches!(kind, EventKind::Exec | EventKind::Exit | EventKind::Fork)
}

/// `otlp ✓1200`, what was lost (`✗dropped 40`, `✗rejected 3`) and `retrying` while the
/// collector is away or busy.
fn otlp_spans(otlp: &crate::otlp::beside_tui::OtlpStatus) -> Vec<Span<'static>> {
    let counts = &otlp.counts;
    let mut spans = vec![Span::raw(format!("otlp ✓{}", counts.sent))];
    let dropped = counts.dropped_queue_full + counts.dropped_at_exit;
    for (what, n) in [("dropped", dropped), ("rejected", counts.rejected)] {
        if n > 0 {
            spans.push(Span::styled(
                format!(" ✗{what} {n}"),
                Style::new().fg(Color::Red),
            ));
        }
    }
    if otlp.retrying {
        spans.push(Span::styled(" retrying", Style::new().fg(Color::Yellow)));
    }
    spans.push(Span::raw("  "));
    spans
}

/// A fleet view's hosts, one segment each: live with its rate, connecting, or failed with
/// ssh's reason and when it tries again; drops and a clock that is off are flagged.
pub fn hosts_line(frame: &mut Frame<'_>, area: Rect, app: &App) {
    use crate::fleet::HostState;
    let mut spans = Vec::new();
    for host in app.hosts() {
        let label = crate::model::text::printable(host.label.as_bytes()).into_owned();
        let (text, color) = match &host.state {
            HostState::Live => match host.lag_ms {
                Some(lag) => (
                    format!("{label} ● {}/s lag {lag} ms", host.rate),
                    Color::Green,
                ),
                None => (format!("{label} ● {}/s", host.rate), Color::Green),
            },
            HostState::Connecting => (format!("{label} … connecting"), Color::Yellow),
            HostState::Retrying { reason, retry } => (
                format!("{label} ✗ {reason}; again in {} s", retry.as_secs()),
                Color::Red,
            ),
            HostState::Refused(reason) => (format!("{label} ✗ {reason}"), Color::Red),
        };
        spans.push(Span::styled(format!(" {text}"), Style::new().fg(color)));
        if host.dropped() > 0 {
            spans.push(Span::styled(
                format!(" ✗{}", host.dropped()),
                Style::new().fg(Color::Red),
            ));
        }
        if host.skewed() {
            spans.push(Span::styled(
                format!(" clock {:+.1}s", host.skew_ms as f64 / 1000.0),
                Style::new().fg(Color::Yellow),
            ));
        }
        spans.push(Span::raw("  "));
    }
    frame.render_widget(Paragraph::new(Line::from(spans)), area);
}

pub fn footer(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let line = match app.prompt() {
        Some(Prompt::Filter(input)) => {
            let mut spans = vec![
                Span::styled("filter> ", Style::new().fg(Color::Cyan)),
                Span::raw(input.value().to_owned()),
            ];
            if let Some(error) = app.filter_error() {
                spans.push(Span::styled(
                    format!("   ✗ {error} (previous filter kept)"),
                    Style::new().fg(Color::Red),
                ));
            }
            Line::from(spans)
        }
        Some(Prompt::ProcessSearch(input)) => Line::from(vec![
            Span::styled("process> ", Style::new().fg(Color::Cyan)),
            Span::raw(input.value().to_owned()),
            Span::styled(
                "   a name, or a pid to jump to",
                Style::new().fg(Color::DarkGray),
            ),
        ]),
        Some(Prompt::Search(input)) => Line::from(vec![
            Span::styled("search> ", Style::new().fg(Color::Cyan)),
            Span::raw(input.value().to_owned()),
        ]),
        None => match app.notice() {
            Some(notice) => Line::styled(format!(" {notice}"), Style::new().fg(Color::Yellow)),
            None => Line::styled(hints(app), Style::new().fg(Color::DarkGray)),
        },
    };
    frame.render_widget(Paragraph::new(line), area);
    if let Some(prompt) = app.prompt() {
        let (width, input) = match prompt {
            Prompt::Filter(input) | Prompt::Search(input) => (8, input),
            Prompt::ProcessSearch(input) => (9, input),
        };
        let x = area.x + width + u16::try_from(input.visual_cursor()).unwrap_or(u16::MAX);
        frame.set_cursor_position((x.min(area.right().saturating_sub(1)), area.y));
    }
}

/// The footer's key hints: the bindings that work in the focused pane and the view shown,
/// from the table the dispatcher uses, the view's own first.
/// Digit keys as runs: `1-4 8`.
fn digit_runs(keys: &[Key]) -> String {
    let digits: Vec<u32> = keys
        .iter()
        .filter_map(|key| match key {
            Key::Char(c) => c.to_digit(10),
            _ => None,
        })
        .collect();
    let mut runs: Vec<String> = Vec::new();
    let mut start = 0;
    for i in 1..=digits.len() {
        if i == digits.len() || digits[i] != digits[i - 1] + 1 {
            runs.push(if i - start > 1 {
                format!("{}-{}", digits[start], digits[i - 1])
            } else {
                digits[start].to_string()
            });
            start = i;
        }
    }
    runs.join(" ")
}

fn hints(app: &App) -> String {
    let mut shown: Vec<Key> = Vec::new();
    let mut text = String::new();
    for binding in BINDINGS {
        if binding.hint.is_empty() || !app.holds(binding.context) {
            continue;
        }
        // A key the view has taken is not hinted again with its meaning elsewhere.
        if binding.keys.iter().any(|key| shown.contains(key)) {
            continue;
        }
        shown.extend(binding.keys);
        let digits = binding
            .keys
            .iter()
            .all(|key| matches!(key, Key::Char(c) if c.is_ascii_digit()));
        let keys = match binding.keys {
            [_, _, ..] if digits => digit_runs(binding.keys),
            [first, ..] => first.label(),
            [] => continue,
        };
        text.push_str(&format!(" {keys} {} ", binding.hint));
    }
    text
}
