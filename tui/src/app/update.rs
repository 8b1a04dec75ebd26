//! `App::update`: every change to the state goes through here.

use std::sync::Arc;

use crossterm::event::{KeyEventKind, MouseButton, MouseEvent, MouseEventKind};

use super::layout::Areas;
use super::{
    Action, App, EventId, Msg, Pane, ProcessRow, Scope, Selection, Stats, View, selection,
};
use crate::filter::Filter;
use crate::model::Event;
use crate::model::frame::Stacks;
use crate::model::host::HostId;

impl App {
    pub fn update(&mut self, msg: Msg) -> Vec<Action> {
        self.dirty = true;
        match msg {
            Msg::Key(key) if key.kind != KeyEventKind::Release => return self.on_key(key),
            Msg::Key(_) => self.dirty = false,
            Msg::Mouse(mouse) => self.on_mouse(mouse),
            Msg::Resize(width, height) => self.size = (width, height),
            Msg::Events(events, malformed) => self.on_events(events, malformed),
            Msg::Stacks(answers) => self.on_stacks(answers),
            Msg::Tick(stats) => self.on_tick(stats),
            Msg::Hosts(hosts) => self.hosts = hosts,
        }
        Vec::new()
    }

    fn on_events(&mut self, events: Vec<Event>, malformed: u64) {
        self.stats.malformed += malformed;
        let dirty_before = self.visible.len();
        for mut event in events {
            // A replay's events come symbolized, each with a copy of its stacks.
            if let Some(stacks) = event.stacks.take() {
                event.stacks = Some(self.shared(stacks));
            }
            *self.arrived.entry(event.kind()).or_default() += 1;
            self.processes.observe(&event);
            let shown = !self.paused && self.shows(&event);
            let record = self.recording.is_some() && self.filter.matches(&event, &self.processes);
            let id = self.store.push(event);
            if record {
                self.to_record.push(id);
            }
            if shown {
                self.visible.push_back(id);
            }
        }
        self.trim_evicted();
        if self.follow && !self.paused {
            self.cursor = self.visible.len().saturating_sub(1);
        }
        self.dirty = self.visible.len() != dirty_before || self.follow;
    }

    /// Drops ids of events the store no longer holds.
    fn trim_evicted(&mut self) {
        let first = self.store.first_id();
        let gone = self.visible.partition_point(|&id| id < first);
        if gone > 0 {
            self.visible.drain(..gone);
            self.cursor = self.cursor.saturating_sub(gone);
        }
    }

    fn on_stacks(&mut self, answers: Vec<(EventId, Stacks)>) {
        let stack_scoped = self.scope.as_ref().is_some_and(Scope::is_stack_scope);
        for (id, stacks) in answers {
            let shared = self.shared(Arc::new(stacks));
            let Some(event) = self.store.get_mut(id) else {
                continue;
            };
            event.stacks = Some(shared);
            // The frames carry the addresses now: a million retained events should not
            // keep a second copy of each.
            event.ustack = Box::default();
            event.kstack = Box::default();
            if stack_scoped && !self.paused {
                self.show_if_in_scope(id);
            }
        }
        self.dirty = true;
    }

    /// Under a stack scope, an event whose stacks just came may belong to it: into the view,
    /// in order (it is recent, so near the end).
    fn show_if_in_scope(&mut self, id: EventId) {
        let at = self.visible.partition_point(|&shown| shown < id);
        if self.visible.get(at) == Some(&id) {
            return;
        }
        let selection = selection!(self);
        let keys = &mut self.stack_state.keys;
        if self
            .store
            .get(id)
            .is_some_and(|event| selection.shows(keys, event))
        {
            self.visible.insert(at, id);
            if at <= self.cursor && !self.follow {
                self.cursor += 1;
            }
            if self.follow {
                self.cursor = self.visible.len() - 1;
            }
        }
    }

    /// The pool's copy of these stacks: many events share a stack, and keep one copy of it
    /// (which the stack views also count by).
    fn shared(&mut self, stacks: Arc<Stacks>) -> Arc<Stacks> {
        match self.stack_pool.get(&stacks) {
            Some(existing) => Arc::clone(existing),
            None => {
                self.stack_pool.insert(Arc::clone(&stacks));
                stacks
            }
        }
    }

    fn on_tick(&mut self, mut stats: Stats) {
        for (kind, count) in std::mem::take(&mut self.arrived) {
            stats.rates.insert(kind, count as f64);
        }
        stats.malformed = self.stats.malformed;
        self.stats = stats;
        self.age_notice();
        self.processes.tick();
        // Stacks no event refers to any more; once a second, not on every answer.
        self.stack_pool
            .retain(|stacks| Arc::strong_count(stacks) > 1);
        self.tick_stack_views();
    }

    /// Recomputes which events the Events pane shows, keeping the selection where it can.
    pub(super) fn rebuild_view(&mut self) {
        let selected = self.selected_id();
        let selection = selection!(self);
        let keys = &mut self.stack_state.keys;
        let visible: std::collections::VecDeque<EventId> = self
            .store
            .iter()
            .filter(|(_, e)| selection.shows(keys, e))
            .map(|(id, _)| id)
            .collect();
        self.visible = visible;
        self.stack_state.stale = true;
        self.cursor = match (self.follow, selected) {
            (false, Some(id)) => self.visible.partition_point(|&v| v < id),
            _ => self.visible.len().saturating_sub(1),
        }
        .min(self.visible.len().saturating_sub(1));
    }

    /// A bad expression keeps the previous filter and says what is wrong.
    pub(super) fn apply_filter(&mut self, text: &str) -> Vec<Action> {
        match Filter::parse(text) {
            Ok(filter) => {
                let kernel = filter.kernel_part();
                let narrowed = self.filter.kernel_part();
                if !self.replay && narrowed.restricts() && kernel != narrowed {
                    self.set_notice(format!(
                        "while `{}` was set, only its processes were traced: earlier events of \
                         others were never collected",
                        self.filter.text()
                    ));
                }
                self.filter = filter;
                self.filter_error = None;
                self.prompt = None;
                // The newest events under the new filter, not a row of the old view's.
                self.follow = true;
                self.rebuild_view();
                vec![Action::SetKernelFilter(kernel)]
            }
            Err(error) => {
                self.filter_error = Some(error.to_string());
                Vec::new()
            }
        }
    }

    pub(super) fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            self.rebuild_view();
        }
    }

    /// The rows the Events pane shows at once, whichever pane a page key moves.
    pub(super) fn page(&self) -> isize {
        let events = self.areas().events;
        isize::try_from(self.events_window(events).rows.max(1)).unwrap_or(1)
    }

    pub(super) fn move_by(&mut self, delta: isize) {
        // A stack view shows no Events pane: its own list moves, or nothing.
        if self.focus == Pane::Events && self.view != View::Events {
            self.move_view_cursor(delta);
            return;
        }
        match self.focus {
            Pane::Events => {
                let target = self.cursor.saturating_add_signed(delta);
                self.move_to(target);
            }
            Pane::Processes => self.move_process_pick(delta),
            Pane::Details => {
                let delta =
                    i16::try_from(delta).unwrap_or(if delta < 0 { i16::MIN } else { i16::MAX });
                self.detail_scroll = self.detail_scroll.saturating_add_signed(delta);
            }
        }
    }

    pub(super) fn move_to(&mut self, index: usize) {
        let last = self.visible.len().saturating_sub(1);
        self.cursor = index.min(last);
        // Following resumes at the newest row; anywhere else freezes the view.
        self.follow = self.cursor == last;
        self.detail_scroll = 0;
    }

    pub(super) fn scope_for(&self, host: HostId, pid: u32) -> Scope {
        if self.tree_scope {
            Scope::Tree(host, pid)
        } else {
            Scope::Process(host, pid)
        }
    }

    /// Enter in the Processes pane: scope to the process (or its tree) or the unit under the
    /// cursor; again on the same one, unscope.
    pub(super) fn scope_to_selected_row(&mut self) {
        let scope = match self.selected_process_row() {
            Some(ProcessRow::Process { host, pid, .. }) => self.scope_for(host, pid),
            Some(ProcessRow::Unit(Some(label))) => Scope::Unit(label),
            Some(ProcessRow::Unit(None)) | None => return,
        };
        let same = self.scope.as_ref() == Some(&scope);
        self.set_scope(if same { None } else { Some(scope) });
    }

    pub(super) fn set_scope(&mut self, scope: Option<Scope>) {
        self.scope = scope;
        self.rebuild_view();
    }

    pub(super) fn search_step(&mut self, forward: bool) {
        let start = if forward {
            self.cursor + 1
        } else {
            self.cursor.saturating_sub(1)
        };
        self.search_from(start, forward);
    }

    /// Moves the selection to the next row (from `start`) whose text contains the search term.
    pub(super) fn search_from(&mut self, start: usize, forward: bool) {
        let Some(term) = self.search.clone() else {
            return;
        };
        let hit = |id: &EventId| {
            self.store.get(*id).is_some_and(|e| {
                e.summary().contains(&term)
                    || String::from_utf8_lossy(&e.comm).contains(&term)
                    || stack_mentions(e, &term)
            })
        };
        // Past the last match the search wraps around, as in a pager.
        let found = if forward {
            (self
                .visible
                .iter()
                .skip(start)
                .position(&hit)
                .map(|i| i + start))
            .or_else(|| self.visible.iter().position(&hit))
        } else {
            (self.visible.iter().take(start + 1).rposition(&hit))
                .or_else(|| self.visible.iter().rposition(&hit))
        };
        if let Some(index) = found {
            self.move_to(index);
        }
    }

    fn on_mouse(&mut self, mouse: MouseEvent) {
        let areas = self.areas();
        let inside = |area: ratatui::layout::Rect| {
            area.contains(ratatui::layout::Position::new(mouse.column, mouse.row))
        };
        match mouse.kind {
            MouseEventKind::ScrollDown | MouseEventKind::ScrollUp => {
                let delta = if mouse.kind == MouseEventKind::ScrollDown {
                    3
                } else {
                    -3
                };
                if inside(areas.processes) {
                    self.focus = Pane::Processes;
                } else if inside(areas.details) {
                    self.focus = Pane::Details;
                } else {
                    self.focus = Pane::Events;
                }
                self.move_by(delta);
            }
            MouseEventKind::Down(MouseButton::Left) => {
                if inside(areas.events) && self.view != View::Events {
                    self.focus = Pane::Events;
                    let clicked = self.view_window(areas.events).item_at(mouse.row);
                    let delta = clicked as isize - self.view_cursor() as isize;
                    self.move_view_cursor(delta);
                } else if inside(areas.events) {
                    self.focus = Pane::Events;
                    let clicked = self.events_window(areas.events).item_at(mouse.row);
                    self.move_to(clicked);
                } else if inside(areas.processes) {
                    self.focus = Pane::Processes;
                    let clicked = self.processes_window(areas.processes).item_at(mouse.row);
                    let rows = self.process_rows();
                    self.pick_process_row(&rows, clicked);
                } else if inside(areas.details) {
                    self.focus = Pane::Details;
                }
            }
            _ => self.dirty = false,
        }
    }
}

/// Whether a frame of the event's symbolized stacks (a function, inlined ones included, or its
/// file) contains `term`: `/read_settings` finds the events whose stack passes through it.
fn stack_mentions(event: &Event, term: &str) -> bool {
    let Some(stacks) = event.stacks.as_deref() else {
        return false;
    };
    stacks.user.iter().chain(&stacks.kernel).any(|frame| {
        let has = |text: &Option<Arc<str>>| text.as_deref().is_some_and(|t| t.contains(term));
        has(&frame.symbol)
            || has(&frame.file)
            || frame
                .inlined
                .iter()
                .any(|inlined| inlined.symbol.contains(term))
    })
}

impl App {
    /// Where the panes are now.
    pub(super) fn areas(&self) -> Areas {
        Areas::of(
            self.size.0,
            self.size.1,
            self.zoom_details,
            self.view,
            !self.hosts.is_empty(),
        )
    }

    /// Tab: the next pane on screen, `steps` along the cycle.
    pub(super) fn cycle_focus(&mut self, steps: usize) {
        const ORDER: [Pane; 3] = [Pane::Events, Pane::Processes, Pane::Details];
        let areas = self.areas();
        let shown = |pane: &Pane| match pane {
            Pane::Events => true,
            Pane::Processes => areas.processes.width > 0,
            Pane::Details => areas.details.width > 0,
        };
        let mut index = ORDER.iter().position(|p| *p == self.focus).unwrap_or(0);
        for _ in 0..ORDER.len() {
            index = (index + steps) % ORDER.len();
            if shown(&ORDER[index]) {
                break;
            }
        }
        self.focus = ORDER[index];
    }
}
