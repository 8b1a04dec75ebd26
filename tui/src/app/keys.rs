//! Keys: looked up in the bindings table, then carried out. Nothing here decides which key
//! does what; `bindings.rs` does, and the help screen reads the same table.

use crossterm::event::KeyEvent;
use tui_input::Input;
use tui_input::backend::crossterm::EventHandler as _;

use super::bindings::{BINDINGS, Command, Context, Key};
use super::{Action, App, Pane, Prompt, Scope, Tab, View};

impl App {
    pub(super) fn on_key(&mut self, event: KeyEvent) -> Vec<Action> {
        let key = Key::of(&event);
        if let Some(actions) = key.and_then(|key| self.dispatch(key)) {
            return actions;
        }
        if self.prompt.is_some() {
            self.type_into_prompt(event);
        } else if self.show_help {
            // Any key the help does not use closes it.
            self.show_help = false;
        } else {
            self.dirty = false;
        }
        Vec::new()
    }

    /// Whether the bindings of `context` apply now. The help and a prompt take every key
    /// while they are open.
    pub fn holds(&self, context: Context) -> bool {
        let stack_view = |views: &[View]| !self.zoom_details && views.contains(&self.view);
        match context {
            Context::Help => self.show_help,
            Context::Prompt => self.prompt.is_some(),
            _ if self.show_help || self.prompt.is_some() => false,
            Context::Flame => stack_view(&[View::Flame]),
            Context::Stacks => stack_view(&[View::Stacks]),
            Context::StacksAndFlame => stack_view(&[View::Stacks, View::Flame]),
            Context::StackLists => {
                stack_view(&[View::Stacks, View::Failures]) && self.focus == Pane::Events
            }
            Context::Processes => self.focus == Pane::Processes,
            Context::EventsView => self.view == View::Events,
            Context::Anywhere => true,
        }
    }

    /// The first binding of `key` that holds and applies; `None` when none does.
    fn dispatch(&mut self, key: Key) -> Option<Vec<Action>> {
        for binding in BINDINGS {
            if binding.keys.contains(&key)
                && self.holds(binding.context)
                && let Some(actions) = self.carry_out(binding.command, key)
            {
                return Some(actions);
            }
        }
        None
    }

    /// Does what `command` says; `None` when it does not apply in the present state, so the
    /// next binding of the key gets its turn (Esc in an unzoomed flame graph clears the scope).
    fn carry_out(&mut self, command: Command, key: Key) -> Option<Vec<Action>> {
        let page = self.page();
        match command {
            Command::Quit => return Some(vec![Action::Quit]),
            Command::ToggleRecording if self.replay => self.set_notice(
                "a replay is a recording already: `ringside replay FILE --filter EXPR --json` \
                 writes what a filter passes"
                    .into(),
            ),
            Command::ToggleRecording => return Some(vec![Action::ToggleRecording]),
            Command::PromptApply => return Some(self.apply_prompt()),
            Command::ShowHelp => {
                self.show_help = true;
                self.help_scroll = 0;
            }
            Command::HelpScroll(lines) => self.scroll_help(i32::from(lines)),
            Command::HelpPage(pages) => {
                let rows = i32::from(self.size.1.saturating_sub(4).max(1));
                self.scroll_help(i32::from(pages) * rows);
            }
            Command::CloseHelp => self.show_help = false,
            Command::PromptCancel => {
                self.prompt = None;
                self.filter_error = None;
            }
            Command::NextPane => self.cycle_focus(1),
            Command::PreviousPane => self.cycle_focus(2),
            Command::TogglePause => self.toggle_pause(),
            Command::EditFilter => {
                self.prompt = Some(Prompt::Filter(Input::new(self.filter.text().to_owned())))
            }
            Command::Search => self.prompt = Some(Prompt::Search(Input::default())),
            Command::SearchNext => self.search_step(true),
            Command::SearchPrevious => self.search_step(false),
            Command::SearchProcesses => self.prompt = Some(Prompt::ProcessSearch(Input::default())),
            Command::NextProcessMatch => self.find_process(1),
            Command::PreviousProcessMatch => self.find_process(-1),
            Command::Back => self.back()?,
            Command::ScopeToProcess => self.scope_to_selected_row(),
            Command::ZoomDetails => self.zoom_details = !self.zoom_details,
            Command::ToggleTreeScope => {
                self.tree_scope = !self.tree_scope;
                if let Some(Scope::Process(host, pid) | Scope::Tree(host, pid)) = self.scope {
                    self.set_scope(Some(self.scope_for(host, pid)));
                }
            }
            Command::SortProcesses => self.process_sort = self.process_sort.next(),
            Command::GroupByUnit => {
                self.group_by_unit = !self.group_by_unit;
                self.process_pick = None;
                self.process_row = 0;
            }
            Command::ToggleUnitColumn => {
                let width = self.areas().events.width;
                self.unit_column = Some(!self.unit_column(width));
            }
            Command::ShowTab => {
                let Key::Char(pressed) = key else {
                    return None;
                };
                self.tab = Tab::ALL.into_iter().find(|tab| tab.key() == pressed)?;
                self.show_view(View::Events);
                self.rebuild_view();
            }
            Command::ShowStackView => {
                let Key::Char(pressed) = key else {
                    return None;
                };
                let (_, view) = View::STACK_VIEWS.iter().find(|(k, _)| *k == pressed)?;
                self.show_view(*view);
            }
            Command::Down => self.move_by(1),
            Command::Up => self.move_by(-1),
            Command::HalfPageDown => self.move_by(page / 2),
            Command::HalfPageUp => self.move_by(-(page / 2)),
            Command::PageDown => self.move_by(page),
            Command::PageUp => self.move_by(-page),
            Command::First => self.move_to_end(false),
            Command::Last => self.move_to_end(true),
            Command::DrillIn => self.drill_in(),
            Command::SortStacks => self.sort_stacks(),
            Command::UserStacksOnly => self.toggle_user_stacks_only(),
            Command::FewerFrames => self.group_by_fewer_frames(),
            Command::MoreFrames => self.group_by_more_frames(),
            Command::FlameCallee
            | Command::FlameCaller
            | Command::FlamePrevious
            | Command::FlameNext
            | Command::FlameTop
            | Command::FlameZoomIn
            | Command::FlameZoomOut => {
                if !self.on_flame(command) {
                    return None;
                }
            }
        }
        Some(Vec::new())
    }

    /// Esc: the zoomed details, then a stack scope (back to its row), then any scope.
    fn back(&mut self) -> Option<()> {
        if self.zoom_details {
            self.zoom_details = false;
        } else if self.scope.as_ref().is_some_and(Scope::is_stack_scope) {
            self.leave_stack_scope();
        } else if self.scope.is_some() {
            self.set_scope(None);
        } else {
            return None;
        }
        Some(())
    }

    /// `g` and `G` in the focused pane: the first or last row, or the top or end of Details.
    fn move_to_end(&mut self, last: bool) {
        let far = if last { isize::MAX } else { isize::MIN };
        match self.focus {
            Pane::Events if self.view != View::Events => {
                self.move_view_cursor(far);
            }
            Pane::Events => self.move_to(if last { usize::MAX } else { 0 }),
            Pane::Processes | Pane::Details => self.move_by(far),
        }
    }

    fn scroll_help(&mut self, lines: i32) {
        // At most the help's length: the screen shows its end from there on.
        let longest = BINDINGS.len() + Context::SHOWN.len() + 1;
        let scrolled = (i32::from(self.help_scroll) + lines).clamp(0, longest as i32);
        self.help_scroll = u16::try_from(scrolled).unwrap_or(0);
    }

    fn apply_prompt(&mut self) -> Vec<Action> {
        match &self.prompt {
            Some(Prompt::Filter(input)) => {
                let text = input.value().to_owned();
                self.apply_filter(&text)
            }
            Some(Prompt::Search(input)) => {
                self.search = Some(input.value().to_owned()).filter(|s| !s.is_empty());
                self.prompt = None;
                Vec::new()
            }
            Some(Prompt::ProcessSearch(_)) => {
                self.prompt = None;
                Vec::new()
            }
            None => Vec::new(),
        }
    }

    fn type_into_prompt(&mut self, key: KeyEvent) {
        let typed = crossterm::event::Event::Key(key);
        match &mut self.prompt {
            Some(Prompt::Filter(input)) => {
                input.handle_event(&typed);
                self.filter_error = None;
            }
            Some(Prompt::Search(input)) => {
                input.handle_event(&typed);
                // Incremental: jump to the first match as the term grows.
                self.search = Some(input.value().to_owned()).filter(|s| !s.is_empty());
                self.search_from(self.cursor, true);
            }
            Some(Prompt::ProcessSearch(input)) => {
                input.handle_event(&typed);
                self.process_search = Some(input.value().to_owned()).filter(|s| !s.is_empty());
                self.find_process(0);
            }
            None => {}
        }
    }
}
