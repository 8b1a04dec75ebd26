//! The flame graph (`6`): an icicle of the same events as the Stacks view, the root on top,
//! widths by count, colours by kind (user, kernel, and the event kinds at the leaves, failed
//! ones red). The selected frame's count and share are on its last line.

use ratatui::Frame;
use ratatui::buffer::Buffer;
use ratatui::layout::Rect;
use ratatui::style::{Color, Modifier, Style};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Borders, Paragraph};

use super::border;
use crate::app::{App, Pane};
use crate::stacks::{FlameTree, NodeKind};

pub fn draw(frame: &mut Frame<'_>, area: Rect, app: &App) {
    let (Some(built), Some((selected, zoom))) = (app.stack_views(), app.flame_selection()) else {
        return;
    };
    let tree = &built.flame;
    let title = format!(
        " Flame graph · {} events · {} · Enter zoom, Esc out, arrows move ",
        tree.nodes[0].count,
        app.grouping().describe()
    );
    let block = Block::new()
        .borders(Borders::ALL)
        .title(title)
        .border_style(border(app, Pane::Events));
    let inner = block.inner(area);
    frame.render_widget(block, area);
    if inner.height < 2 || inner.width < 4 {
        return;
    }
    let rows = usize::from(inner.height - 1);
    // Deep stacks scroll so that the selected frame stays on screen.
    let selected_row = tree.nodes[selected]
        .depth
        .saturating_sub(tree.nodes[zoom].depth);
    let skip = (selected_row + 1).saturating_sub(rows);
    let buffer = frame.buffer_mut();
    for placed in tree.layout(zoom, inner.width, rows + skip) {
        if placed.row < skip {
            continue;
        }
        let y = inner.y + u16::try_from(placed.row - skip).unwrap_or(u16::MAX);
        let cell = Rect::new(inner.x + placed.x0, y, placed.x1 - placed.x0, 1);
        draw_node(buffer, cell, tree, placed.node, placed.node == selected);
    }
    let info = Rect::new(inner.x, inner.bottom() - 1, inner.width, 1);
    frame.render_widget(Paragraph::new(info_line(tree, selected, zoom)), info);
}

fn draw_node(buffer: &mut Buffer, cell: Rect, tree: &FlameTree, node: usize, selected: bool) {
    let node = &tree.nodes[node];
    let mut style = Style::new().fg(Color::Black).bg(colour(node.kind));
    if selected {
        style = style
            .fg(Color::White)
            .bg(Color::Black)
            .add_modifier(Modifier::BOLD | Modifier::UNDERLINED);
    }
    // The last column is left blank, so neighbours stay apart.
    let room = if cell.width > 1 {
        cell.width - 1
    } else {
        cell.width
    };
    let text: String = node.name.chars().take(usize::from(room)).collect();
    buffer.set_style(Rect::new(cell.x, cell.y, room, 1), style);
    buffer.set_stringn(cell.x, cell.y, &text, usize::from(room), style);
}

fn colour(kind: NodeKind) -> Color {
    match kind {
        NodeKind::Root => Color::Gray,
        NodeKind::User => Color::Rgb(230, 150, 60),
        NodeKind::Kernel => Color::Rgb(100, 150, 220),
        NodeKind::Placeholder => Color::DarkGray,
        NodeKind::Event => Color::Rgb(110, 190, 110),
        NodeKind::Failed => Color::Rgb(220, 70, 70),
    }
}

/// `read_settings (user) 54 events · 37.5% of all · 80.0% of zoom`.
fn info_line(tree: &FlameTree, selected: usize, zoom: usize) -> Line<'static> {
    let node = &tree.nodes[selected];
    let all = tree.nodes[0].count.max(1) as f64;
    let within = tree.nodes[zoom].count.max(1) as f64;
    let kind = match node.kind {
        NodeKind::Root => "",
        NodeKind::User => " (user)",
        NodeKind::Kernel => " (kernel)",
        NodeKind::Placeholder => "",
        NodeKind::Event => " (events)",
        NodeKind::Failed => " (failed events)",
    };
    let mut text = format!(
        " ▶ {}{kind}  {} events · {:.1}% of all",
        node.name,
        node.count,
        node.count as f64 * 100.0 / all
    );
    if zoom != 0 {
        text.push_str(&format!(
            " · {:.1}% of {}",
            node.count as f64 * 100.0 / within,
            tree.nodes[zoom].name
        ));
    }
    Line::from(Span::styled(
        text,
        Style::new().add_modifier(Modifier::BOLD),
    ))
}
