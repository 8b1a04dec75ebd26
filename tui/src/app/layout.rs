//! Where each pane goes, computed from the terminal size alone so that mouse clicks (in
//! `update`) and drawing (in `ui`) agree. It sits with the state, which both of them read.

use ratatui::layout::{Constraint, Layout, Rect};

use super::View;

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Areas {
    pub title: Rect,
    /// The Events pane, or the list or flame graph of the view shown in its place.
    pub events: Rect,
    /// Empty on narrow terminals.
    pub processes: Rect,
    pub details: Rect,
    pub status: Rect,
    /// A fleet view's line of host states; empty watching one machine.
    pub hosts: Rect,
    pub footer: Rect,
}

/// Below this width the Processes pane gives its room to the Events pane.
const NARROW: u16 = 100;

impl Areas {
    pub fn of(width: u16, height: u16, zoom_details: bool, view: View, fleet: bool) -> Self {
        let screen = Rect::new(0, 0, width, height);
        let [title, body, status, hosts, footer] = Layout::vertical([
            Constraint::Length(1),
            Constraint::Min(0),
            Constraint::Length(1),
            Constraint::Length(u16::from(fleet)),
            Constraint::Length(1),
        ])
        .areas(screen);
        if view == View::Flame {
            // The flame graph needs every row; it says itself what is selected.
            return Self {
                title,
                events: body,
                status,
                hosts,
                footer,
                ..Self::default()
            };
        }
        if zoom_details {
            return Self {
                title,
                details: body,
                status,
                hosts,
                footer,
                ..Self::default()
            };
        }
        let [top, details] =
            Layout::vertical([Constraint::Percentage(60), Constraint::Percentage(40)]).areas(body);
        let (events, processes) = if width < NARROW || view != View::Events {
            (top, Rect::default())
        } else {
            let [events, processes] =
                Layout::horizontal([Constraint::Percentage(64), Constraint::Percentage(36)])
                    .areas(top);
            (events, processes)
        };
        Self {
            title,
            events,
            processes,
            details,
            status,
            hosts,
            footer,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_size_gets_a_layout_without_overlap() {
        for (width, height) in [
            (0, 0),
            (1, 1),
            (20, 5),
            (80, 24),
            (99, 30),
            (200, 50),
            (400, 120),
        ] {
            for zoom in [false, true] {
                for view in View::ALL {
                    let areas = Areas::of(width, height, zoom, view, false);
                    assert!(areas.events.intersection(areas.processes).area() == 0);
                    assert!(areas.events.intersection(areas.details).area() == 0);
                    assert!(areas.footer.bottom() <= height.max(1));
                }
            }
        }
        assert_eq!(
            Areas::of(90, 30, false, View::Events, false).processes,
            Rect::default()
        );
        assert!(
            Areas::of(200, 50, false, View::Events, false)
                .processes
                .width
                > 60
        );
        let stacks = Areas::of(200, 50, false, View::Stacks, false);
        assert_eq!(
            (stacks.events.width, stacks.processes),
            (200, Rect::default())
        );
        let flame = Areas::of(200, 50, false, View::Flame, false);
        assert_eq!((flame.events.height, flame.details), (47, Rect::default()));
    }
}
