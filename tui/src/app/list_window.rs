//! Which rows of a list pane are on screen: the cursor's row stays visible, following the tail.
//! Drawing lays the rows out from it and a click is mapped back through it, so a click selects
//! the row that was drawn under it.

use ratatui::layout::Rect;

use super::App;

/// Above the Events pane's rows: its top border and the column header.
const EVENTS_ABOVE: u16 = 2;
/// Above the Processes pane's rows: its top border.
const PROCESSES_ABOVE: u16 = 1;
/// Below the rows of either: the bottom border.
const BELOW: u16 = 1;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListWindow {
    /// Index of the first item drawn.
    pub first: usize,
    /// How many items fit: none when the pane is shorter than its borders.
    pub rows: usize,
    /// The screen line of the first item.
    top: u16,
}

impl ListWindow {
    fn new(area: Rect, above: u16, cursor: usize) -> Self {
        let rows = usize::from(area.height.saturating_sub(above + BELOW));
        // A pane too short for any row still scrolls as if it had one.
        let room = rows.max(1);
        let first = if cursor < room { 0 } else { cursor + 1 - room };
        Self {
            first,
            rows,
            top: area.y + above,
        }
    }

    /// The index of the item on screen line `line`; lines above the first row count as it.
    pub fn item_at(&self, line: u16) -> usize {
        self.first + usize::from(line.saturating_sub(self.top))
    }
}

impl App {
    /// The Events pane's window when the pane is drawn in `area`.
    pub fn events_window(&self, area: Rect) -> ListWindow {
        ListWindow::new(area, EVENTS_ABOVE, self.cursor)
    }

    /// The Stacks or Failures view's window when it is drawn in `area` (a header, like the
    /// Events pane).
    pub fn view_window(&self, area: Rect) -> ListWindow {
        ListWindow::new(area, EVENTS_ABOVE, self.view_cursor())
    }

    /// The Processes pane's window when the pane is drawn in `area`.
    pub fn processes_window(&self, area: Rect) -> ListWindow {
        ListWindow::new(
            area,
            PROCESSES_ABOVE,
            self.process_cursor().unwrap_or(self.process_row),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cursor_row_stays_on_screen_and_a_click_finds_it() {
        // Ten rows of room between a border and header above and a border below.
        let area = Rect::new(0, 5, 40, 13);
        for cursor in [0, 9, 10, 500] {
            let window = ListWindow::new(area, EVENTS_ABOVE, cursor);
            assert_eq!(window.rows, 10);
            assert!((window.first..window.first + window.rows).contains(&cursor));
            let line = 5 + 2 + u16::try_from(cursor - window.first).unwrap();
            assert_eq!(window.item_at(line), cursor);
        }
        let squashed = ListWindow::new(Rect::new(0, 0, 40, 2), EVENTS_ABOVE, 7);
        assert_eq!((squashed.first, squashed.rows), (7, 0));
    }
}
