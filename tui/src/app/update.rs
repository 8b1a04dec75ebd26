//! `App::update`: every change to the state goes through here.

use std::sync::Arc;

use crossterm::event::{
    KeyCode, KeyEvent, KeyEventKind, KeyModifiers, MouseButton, MouseEvent, MouseEventKind,
};
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler as _;

use super::layout::Areas;
use super::{Action, App, EventId, Msg, Pane, ProcessRow, Prompt, Scope, Stats, Tab, View};
use crate::filter::Filter;
use crate::model::Event;
use crate::model::frame::Stacks;

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
        if self.store.get(id).is_some_and(|event| self.shows(event)) {
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
        self.processes.tick();
        // Stacks no event refers to any more; once a second, not on every answer.
        self.stack_pool
            .retain(|stacks| Arc::strong_count(stacks) > 1);
        self.tick_stack_views();
        let rows = self.process_rows().len();
        self.process_cursor = self.process_cursor.min(rows.saturating_sub(1));
    }

    /// Recomputes which events the Events pane shows, keeping the selection where it can.
    pub(super) fn rebuild_view(&mut self) {
        let selected = self.selected_id();
        let visible: std::collections::VecDeque<EventId> = self
            .store
            .iter()
            .filter(|(_, e)| self.shows(e))
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

    fn on_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let ctrl = key.modifiers.contains(KeyModifiers::CONTROL);
        if ctrl && key.code == KeyCode::Char('c') {
            return vec![Action::Quit];
        }
        if self.prompt.is_some() {
            return self.on_prompt_key(key);
        }
        if self.show_help {
            self.show_help = false;
            return Vec::new();
        }
        let page = self.page();
        if !ctrl && !self.zoom_details && self.on_view_key(key.code) {
            return Vec::new();
        }
        match key.code {
            KeyCode::Char('q') => return vec![Action::Quit],
            KeyCode::Char('r') => return vec![Action::ToggleRecording],
            KeyCode::Char('?') => self.show_help = true,
            KeyCode::Esc if self.zoom_details => self.zoom_details = false,
            KeyCode::Esc if self.scope.as_ref().is_some_and(Scope::is_stack_scope) => {
                self.leave_stack_scope()
            }
            KeyCode::Esc if self.scope.is_some() => self.set_scope(None),
            KeyCode::Enter if self.focus == Pane::Processes => self.scope_to_selected_row(),
            KeyCode::Enter => self.zoom_details = !self.zoom_details,
            KeyCode::Tab => self.cycle_focus(1),
            KeyCode::BackTab => self.cycle_focus(2),
            KeyCode::Char(' ') | KeyCode::Char('p') => self.toggle_pause(),
            KeyCode::Char('f') => {
                self.prompt = Some(Prompt::Filter(Input::new(self.filter.text().to_owned())))
            }
            KeyCode::Char('/') => self.prompt = Some(Prompt::Search(Input::default())),
            KeyCode::Char('n') => self.search_step(true),
            KeyCode::Char('N') => self.search_step(false),
            KeyCode::Char('t') => {
                self.tree_scope = !self.tree_scope;
                if let Some(Scope::Process(pid) | Scope::Tree(pid)) = self.scope {
                    self.set_scope(Some(self.scope_for(pid)));
                }
            }
            KeyCode::Char('s') => self.process_sort = self.process_sort.next(),
            KeyCode::Char('u') if !ctrl => {
                self.group_by_unit = !self.group_by_unit;
                self.process_cursor = 0;
            }
            KeyCode::Char('c') => {
                let width = self.areas().events.width;
                self.unit_column = Some(!self.unit_column(width));
            }
            KeyCode::Char(c @ '1'..='4') => {
                let index = usize::from(c as u8 - b'1');
                self.tab = Tab::ALL[index];
                self.show_view(View::Events);
                self.rebuild_view();
            }
            KeyCode::Char(c @ '5'..='7') => {
                if let Some(&(_, view)) = View::STACK_VIEWS.iter().find(|(key, _)| *key == c) {
                    self.show_view(view);
                }
            }
            KeyCode::Down | KeyCode::Char('j') => self.move_by(1),
            KeyCode::Up | KeyCode::Char('k') => self.move_by(-1),
            KeyCode::Char('d') if ctrl => self.move_by(page / 2),
            KeyCode::Char('u') if ctrl => self.move_by(-(page / 2)),
            KeyCode::PageDown => self.move_by(page),
            KeyCode::PageUp => self.move_by(-page),
            KeyCode::Char('g') | KeyCode::Home => self.move_to(0),
            KeyCode::Char('G') | KeyCode::End => self.move_to(usize::MAX),
            _ => self.dirty = false,
        }
        Vec::new()
    }

    fn on_prompt_key(&mut self, key: KeyEvent) -> Vec<Action> {
        let Some(prompt) = &mut self.prompt else {
            return Vec::new();
        };
        match (key.code, prompt) {
            (KeyCode::Esc, _) => {
                self.prompt = None;
                self.filter_error = None;
            }
            (KeyCode::Enter, Prompt::Filter(input)) => {
                let text = input.value().to_owned();
                return self.apply_filter(&text);
            }
            (KeyCode::Enter, Prompt::Search(input)) => {
                self.search = Some(input.value().to_owned()).filter(|s| !s.is_empty());
                self.prompt = None;
            }
            (_, Prompt::Filter(input)) => {
                input.handle_event(&crossterm::event::Event::Key(key));
                self.filter_error = None;
            }
            (_, Prompt::Search(input)) => {
                input.handle_event(&crossterm::event::Event::Key(key));
                // Incremental: jump to the first match as the term grows.
                self.search = Some(input.value().to_owned()).filter(|s| !s.is_empty());
                self.search_from(self.cursor, true);
            }
        }
        Vec::new()
    }

    /// A bad expression keeps the previous filter and says what is wrong.
    fn apply_filter(&mut self, text: &str) -> Vec<Action> {
        match Filter::parse(text) {
            Ok(filter) => {
                let kernel = filter.kernel_part();
                self.filter = filter;
                self.filter_error = None;
                self.prompt = None;
                self.rebuild_view();
                vec![Action::SetKernelFilter(kernel)]
            }
            Err(error) => {
                self.filter_error = Some(error.to_string());
                Vec::new()
            }
        }
    }

    fn toggle_pause(&mut self) {
        self.paused = !self.paused;
        if !self.paused {
            self.rebuild_view();
        }
    }

    /// The rows the Events pane shows at once, whichever pane a page key moves.
    fn page(&self) -> isize {
        let events = self.areas().events;
        isize::try_from(self.events_window(events).rows.max(1)).unwrap_or(1)
    }

    fn move_by(&mut self, delta: isize) {
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
            Pane::Processes => {
                let rows = self.process_rows().len();
                self.process_cursor = self
                    .process_cursor
                    .saturating_add_signed(delta)
                    .min(rows.saturating_sub(1));
            }
            Pane::Details => {
                self.detail_scroll = self.detail_scroll.saturating_add_signed(delta as i16);
            }
        }
    }

    fn move_to(&mut self, index: usize) {
        let last = self.visible.len().saturating_sub(1);
        self.cursor = index.min(last);
        // Following resumes at the newest row; anywhere else freezes the view.
        self.follow = self.cursor == last;
        self.detail_scroll = 0;
    }

    fn scope_for(&self, pid: u32) -> Scope {
        if self.tree_scope {
            Scope::Tree(pid)
        } else {
            Scope::Process(pid)
        }
    }

    /// Enter in the Processes pane: scope to the process (or its tree) or the unit under the
    /// cursor; again on the same one, unscope.
    fn scope_to_selected_row(&mut self) {
        let scope = match self.selected_process_row() {
            Some(ProcessRow::Process { pid, .. }) => self.scope_for(pid),
            Some(ProcessRow::Unit(Some(label))) => Scope::Unit(label),
            Some(ProcessRow::Unit(None)) | None => return,
        };
        let same = self.scope.as_ref() == Some(&scope);
        self.set_scope(if same { None } else { Some(scope) });
        // A unit scope leaves only its processes in the pane.
        let rows = self.process_rows().len();
        self.process_cursor = self.process_cursor.min(rows.saturating_sub(1));
    }

    pub(super) fn set_scope(&mut self, scope: Option<Scope>) {
        self.scope = scope;
        self.rebuild_view();
    }

    fn search_step(&mut self, forward: bool) {
        let start = if forward {
            self.cursor + 1
        } else {
            self.cursor.saturating_sub(1)
        };
        self.search_from(start, forward);
    }

    /// Moves the selection to the next row (from `start`) whose text contains the search term.
    fn search_from(&mut self, start: usize, forward: bool) {
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
                    let rows = self.process_rows().len();
                    self.process_cursor = clicked.min(rows.saturating_sub(1));
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
        Areas::of(self.size.0, self.size.1, self.zoom_details, self.view)
    }

    /// Tab: the next pane on screen, `steps` along the cycle.
    fn cycle_focus(&mut self, steps: usize) {
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
