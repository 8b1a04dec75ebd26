//! The stack views (`5` Stacks, `6` Flame, `7` Failures): their state, their keys, and the
//! scopes they lead to in the Events pane. They cover the events the Events pane would show
//! (filter, scope and tab), regrouped when a frame is drawn after events came, at most once a
//! second.

use std::sync::Arc;

use super::bindings::Command;
use super::{App, Pane, Scope};
use crate::model::Event;
use crate::stacks::flame::ROOT;
use crate::stacks::{Grouping, NodeKind, StackKeys, StackSort, StackViews};

/// What the area above the Details pane shows.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum View {
    /// The Events and Processes panes, under one of the tabs `1`-`4`.
    Events,
    Stacks,
    Flame,
    Failures,
}

impl View {
    #[cfg(test)]
    pub const ALL: [View; 4] = [View::Events, View::Stacks, View::Flame, View::Failures];
    /// The views after the Events pane's tabs, with their keys.
    pub const STACK_VIEWS: [(char, View); 3] = [
        ('5', View::Stacks),
        ('6', View::Flame),
        ('7', View::Failures),
    ];

    pub fn name(self) -> &'static str {
        match self {
            View::Events => "Events",
            View::Stacks => "Stacks",
            View::Flame => "Flame",
            View::Failures => "Failures",
        }
    }
}

/// A frame of the flame graph by its names from the root down: it outlives a regroup.
type FlamePath = Vec<(Arc<str>, NodeKind)>;

/// The stack views' state.
pub struct StackViewState {
    /// Each event's stack key, by the stacks it shares; the stack scopes add to it while
    /// filtering.
    pub(super) keys: StackKeys,
    pub(super) sort: StackSort,
    pub(super) built: Option<StackViews>,
    /// Events came, went or were symbolized since `built`.
    pub(super) stale: bool,
    pub(super) stack_cursor: usize,
    pub(super) failure_cursor: usize,
    pub(super) flame_selected: FlamePath,
    pub(super) flame_zoom: FlamePath,
}

/// Distinct keys past which the key cache starts again (a long run through many stacks).
const MAX_KEYS: usize = 1 << 16;

impl StackViewState {
    /// Keys numbered afresh, under `grouping`: the views built on the old numbers go too.
    fn restart_keys(&mut self, grouping: Grouping) {
        self.keys = StackKeys::new(grouping);
        self.built = None;
        self.stale = true;
        self.stack_cursor = 0;
        self.failure_cursor = 0;
    }
}

impl Default for StackViewState {
    fn default() -> Self {
        Self {
            keys: StackKeys::new(Grouping::default()),
            sort: StackSort::default(),
            built: None,
            stale: true,
            stack_cursor: 0,
            failure_cursor: 0,
            flame_selected: Vec::new(),
            flame_zoom: Vec::new(),
        }
    }
}

impl App {
    /// Regroups the shown view if events changed since it was grouped: the runner calls it
    /// before drawing a frame, so the cost lands in frames that show it.
    pub fn refresh_stack_views(&mut self) {
        if self.view != View::Events && (self.stack_state.stale || self.stack_state.built.is_none())
        {
            self.regroup();
        }
    }

    /// Groups the events the Events pane would show, keeping each view's selection. The key
    /// numbers a selection is kept by are those of `built`'s keys: whatever starts the keys
    /// afresh drops `built` first ([`StackViewState::restart_keys`]).
    pub(super) fn regroup(&mut self) {
        let state = &mut self.stack_state;
        let selected_stack = state
            .built
            .as_ref()
            .and_then(|b| b.stacks.rows.get(state.stack_cursor))
            .map(|row| row.key);
        let selected_failure = state
            .built
            .as_ref()
            .and_then(|b| b.failures.rows.get(state.failure_cursor))
            .map(|row| (row.kind, row.failure, row.frame_id));
        let events = self
            .visible
            .iter()
            .filter_map(|&id| Some((id, self.store.get(id)?)));
        let built = StackViews::build(events, &mut state.keys, state.sort);
        state.stack_cursor = selected_stack
            .and_then(|key| built.stacks.rows.iter().position(|r| r.key == key))
            .unwrap_or(state.stack_cursor)
            .min(built.stacks.rows.len().saturating_sub(1));
        state.failure_cursor = selected_failure
            .and_then(|(kind, failure, frame)| {
                built
                    .failures
                    .rows
                    .iter()
                    .position(|r| (r.kind, r.failure, r.frame_id) == (kind, failure, frame))
            })
            .unwrap_or(state.failure_cursor)
            .min(built.failures.rows.len().saturating_sub(1));
        state.built = Some(built);
        state.stale = false;
    }

    /// Once a second: the shown view regroups at its next frame, and the key cache forgets
    /// stacks no event holds.
    pub(super) fn tick_stack_views(&mut self) {
        if self.view != View::Events && !self.paused {
            self.stack_state.stale = true;
        }
        let scoped = self.scope.as_ref().is_some_and(Scope::is_stack_scope);
        if self.stack_state.keys.len() > MAX_KEYS && !scoped {
            let grouping = self.grouping();
            self.stack_state.restart_keys(grouping);
        } else {
            self.stack_state.keys.prune();
        }
    }

    pub(super) fn show_view(&mut self, view: View) {
        self.view = view;
        self.focus = Pane::Events;
        self.detail_scroll = 0;
        // The flame graph takes the Details pane's room too.
        self.zoom_details = false;
        if view != View::Events {
            self.regroup();
        }
    }

    /// `s` in Stacks: the next order.
    pub(super) fn sort_stacks(&mut self) {
        self.stack_state.sort = self.stack_state.sort.next();
        self.regroup();
    }

    /// `u` in Stacks and the flame graph: user stacks only, or all.
    pub(super) fn toggle_user_stacks_only(&mut self) {
        let grouping = self.grouping();
        self.set_grouping(Grouping {
            user_only: !grouping.user_only,
            ..grouping
        });
    }

    /// `-`: stacks grouped by fewer innermost frames.
    pub(super) fn group_by_fewer_frames(&mut self) {
        let longest = self.longest_stack();
        self.set_grouping(self.grouping().fewer(longest));
    }

    /// `+`: stacks grouped by more innermost frames.
    pub(super) fn group_by_more_frames(&mut self) {
        let longest = self.longest_stack();
        self.set_grouping(self.grouping().more(longest));
    }

    /// The most frames any stack seen has, before a grouping cuts it.
    fn longest_stack(&self) -> usize {
        self.stack_state.keys.deepest()
    }

    fn set_grouping(&mut self, grouping: Grouping) {
        // A stack scope's key means nothing under another grouping.
        if self.scope.as_ref().is_some_and(Scope::is_stack_scope) {
            self.scope = None;
            self.rebuild_view();
        }
        self.stack_state.restart_keys(grouping);
        self.regroup();
    }

    /// Enter on a stack or failure row: the Events pane, scoped to its events.
    pub(super) fn drill_in(&mut self) {
        let Some(built) = &self.stack_state.built else {
            return;
        };
        let scope = match self.view {
            View::Stacks => {
                let cursor = self.stack_state.stack_cursor;
                let Some(row) = built.stacks.rows.get(cursor) else {
                    return;
                };
                Scope::Stack {
                    number: cursor + 1,
                    key: row.key,
                }
            }
            View::Failures => {
                let cursor = self.stack_state.failure_cursor;
                let Some(row) = built.failures.rows.get(cursor) else {
                    return;
                };
                Scope::Failure {
                    number: cursor + 1,
                    kind: row.kind,
                    failure: row.failure,
                    frame_id: row.frame_id,
                }
            }
            View::Events | View::Flame => return,
        };
        self.view = View::Events;
        self.follow = true;
        self.set_scope(Some(scope));
    }

    /// Esc under a stack or failure scope: the scope goes, and from the Events pane, back to
    /// the view it came from.
    pub(super) fn leave_stack_scope(&mut self) {
        let back = match self.scope {
            Some(Scope::Stack { .. }) => View::Stacks,
            Some(Scope::Failure { .. }) => View::Failures,
            _ => View::Events,
        };
        self.set_scope(None);
        if self.view == View::Events && back != View::Events {
            self.show_view(back);
        }
    }

    /// Moves the cursor of the stack view shown, if it is a list.
    pub(super) fn move_view_cursor(&mut self, delta: isize) -> bool {
        let state = &mut self.stack_state;
        let (cursor, rows) = match (self.view, &state.built) {
            (View::Stacks, Some(built)) => (&mut state.stack_cursor, built.stacks.rows.len()),
            (View::Failures, Some(built)) => (&mut state.failure_cursor, built.failures.rows.len()),
            _ => return false,
        };
        *cursor = cursor
            .saturating_add_signed(delta)
            .min(rows.saturating_sub(1));
        self.detail_scroll = 0;
        true
    }

    /// A move in the flame graph; `false` when it does not apply (Esc at the top).
    pub(super) fn on_flame(&mut self, command: Command) -> bool {
        let Some(built) = &self.stack_state.built else {
            return false;
        };
        let tree = &built.flame;
        let selected = tree.find(&self.stack_state.flame_selected);
        let zoom = tree.find(&self.stack_state.flame_zoom);
        let target = match command {
            Command::FlameCallee => tree.nodes[selected].children.first().copied(),
            Command::FlameCaller => tree.nodes[selected].parent.filter(|_| selected != zoom),
            Command::FlamePrevious => Some(tree.sibling(selected, -1)),
            Command::FlameNext => Some(tree.sibling(selected, 1)),
            Command::FlameTop => Some(zoom),
            Command::FlameZoomIn => {
                self.stack_state.flame_zoom = tree.path(selected);
                return true;
            }
            Command::FlameZoomOut if zoom != ROOT => {
                let out = tree.nodes[zoom].parent.unwrap_or(ROOT);
                self.stack_state.flame_zoom = tree.path(out);
                return true;
            }
            _ => return false,
        };
        if let Some(node) = target.filter(|&n| tree.is_within(n, zoom)) {
            self.stack_state.flame_selected = tree.path(node);
        }
        true
    }

    /// The event the Details pane shows: the selected one, or in the Stacks and Failures
    /// views the newest event of the selected row.
    pub fn detail_event(&self) -> Option<&Event> {
        let built = self.stack_state.built.as_ref();
        let newest = match self.view {
            View::Events | View::Flame => return self.selected(),
            View::Stacks => {
                built?
                    .stacks
                    .rows
                    .get(self.stack_state.stack_cursor)?
                    .newest
            }
            View::Failures => {
                built?
                    .failures
                    .rows
                    .get(self.stack_state.failure_cursor)?
                    .newest
            }
        };
        self.store.get(newest)
    }

    pub fn view(&self) -> View {
        self.view
    }

    /// The stack views as last grouped; `None` before one was shown.
    pub fn stack_views(&self) -> Option<&StackViews> {
        self.stack_state.built.as_ref()
    }

    pub fn stack_keys(&self) -> &StackKeys {
        &self.stack_state.keys
    }

    pub fn grouping(&self) -> Grouping {
        self.stack_state.keys.grouping()
    }

    pub fn stack_sort(&self) -> StackSort {
        self.stack_state.sort
    }

    /// The selected row of the Stacks or Failures view.
    pub fn view_cursor(&self) -> usize {
        match self.view {
            View::Failures => self.stack_state.failure_cursor,
            _ => self.stack_state.stack_cursor,
        }
    }

    /// The flame graph's selected and zoomed frames (node indexes of the last grouping).
    pub fn flame_selection(&self) -> Option<(usize, usize)> {
        let tree = &self.stack_state.built.as_ref()?.flame;
        Some((
            tree.find(&self.stack_state.flame_selected),
            tree.find(&self.stack_state.flame_zoom),
        ))
    }
}
