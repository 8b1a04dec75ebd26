//! Every key the TUI answers to, in one table: the dispatcher (`keys.rs`) looks a key up here
//! and the help screen is drawn from it, so neither can know a key the other does not.

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// A key as the table names it; Shift is part of the character (`G`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Key {
    Char(char),
    Ctrl(char),
    Enter,
    Esc,
    Tab,
    BackTab,
    Up,
    Down,
    Left,
    Right,
    PageUp,
    PageDown,
    Home,
    End,
}

impl Key {
    /// The table's name for a key event; `None` for keys no binding can name.
    pub fn of(event: &KeyEvent) -> Option<Key> {
        let ctrl = event.modifiers.contains(KeyModifiers::CONTROL);
        Some(match event.code {
            KeyCode::Char(c) if ctrl => Key::Ctrl(c.to_ascii_lowercase()),
            KeyCode::Char(c) => Key::Char(c),
            KeyCode::Enter => Key::Enter,
            KeyCode::Esc => Key::Esc,
            KeyCode::Tab => Key::Tab,
            KeyCode::BackTab => Key::BackTab,
            KeyCode::Up => Key::Up,
            KeyCode::Down => Key::Down,
            KeyCode::Left => Key::Left,
            KeyCode::Right => Key::Right,
            KeyCode::PageUp => Key::PageUp,
            KeyCode::PageDown => Key::PageDown,
            KeyCode::Home => Key::Home,
            KeyCode::End => Key::End,
            _ => return None,
        })
    }

    /// How the help screen writes the key.
    pub fn label(self) -> String {
        match self {
            Key::Char(' ') => "space".into(),
            Key::Char(c) => c.to_string(),
            Key::Ctrl(c) => format!("Ctrl-{c}"),
            Key::Enter => "Enter".into(),
            Key::Esc => "Esc".into(),
            Key::Tab => "Tab".into(),
            Key::BackTab => "Shift-Tab".into(),
            Key::Up => "↑".into(),
            Key::Down => "↓".into(),
            Key::Left => "←".into(),
            Key::Right => "→".into(),
            Key::PageUp => "PgUp".into(),
            Key::PageDown => "PgDn".into(),
            Key::Home => "Home".into(),
            Key::End => "End".into(),
        }
    }
}

/// Where a binding applies; the dispatcher asks the app which contexts hold now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Context {
    /// While the help screen is open.
    Help,
    /// While a filter or search line is being typed.
    Prompt,
    /// The flame graph (`6`).
    Flame,
    /// The Stacks view (`5`).
    Stacks,
    /// The Stacks view or the flame graph.
    StacksAndFlame,
    /// The Stacks or Failures list, when it has the focus.
    StackLists,
    /// The Processes pane, when it has the focus.
    Processes,
    /// The Events view (`1`-`4`), whichever of its panes has the focus.
    EventsView,
    /// Any pane, any view.
    Anywhere,
}

impl Context {
    /// The help screen's order and headings.
    pub const SHOWN: [Context; 9] = [
        Context::Anywhere,
        Context::EventsView,
        Context::Processes,
        Context::StackLists,
        Context::Stacks,
        Context::StacksAndFlame,
        Context::Flame,
        Context::Prompt,
        Context::Help,
    ];

    pub fn heading(self) -> &'static str {
        match self {
            Context::Help => "In this help",
            Context::Prompt => "Typing a filter or search",
            Context::Flame => "Flame graph (6)",
            Context::Stacks => "Stacks (5)",
            Context::StacksAndFlame => "Stacks and Flame graph",
            Context::StackLists => "Stacks and Failures lists (5, 7)",
            Context::Processes => "Processes pane",
            Context::EventsView => "Events view (1-4, 8)",
            Context::Anywhere => "Anywhere",
        }
    }
}

/// What a key does. The dispatcher's match on it is exhaustive: a command added here does
/// not compile until it does something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Command {
    Quit,
    ShowHelp,
    HelpScroll(i8),
    HelpPage(i8),
    CloseHelp,
    PromptApply,
    PromptCancel,
    ToggleRecording,
    NextPane,
    PreviousPane,
    TogglePause,
    EditFilter,
    Search,
    SearchNext,
    SearchPrevious,
    SearchProcesses,
    NextProcessMatch,
    PreviousProcessMatch,
    /// Leave the zoomed details, a stack scope (back to its view) or a scope.
    Back,
    ScopeToProcess,
    ZoomDetails,
    ToggleTreeScope,
    SortProcesses,
    GroupByUnit,
    ToggleUnitColumn,
    /// `1`-`4`: the pressed digit picks the tab.
    ShowTab,
    /// `5`-`7`: the pressed digit picks the view.
    ShowStackView,
    Down,
    Up,
    HalfPageDown,
    HalfPageUp,
    PageDown,
    PageUp,
    First,
    Last,
    DrillIn,
    SortStacks,
    UserStacksOnly,
    FewerFrames,
    MoreFrames,
    FlameCallee,
    FlameCaller,
    FlamePrevious,
    FlameNext,
    FlameTop,
    FlameZoomIn,
    FlameZoomOut,
}

pub struct Binding {
    pub context: Context,
    pub keys: &'static [Key],
    pub command: Command,
    /// What the help screen says it does.
    pub help: &'static str,
    /// A word or two for the footer's hints; empty for keys too common to need one.
    pub hint: &'static str,
}

const fn bind(
    context: Context,
    keys: &'static [Key],
    command: Command,
    help: &'static str,
    hint: &'static str,
) -> Binding {
    Binding {
        context,
        keys,
        command,
        help,
        hint,
    }
}

use Command as C;
use Context as X;
use Key as K;

/// In priority order: the first binding whose context holds and whose command applies wins,
/// so a view's own meaning of a key comes before the one it has anywhere.
#[rustfmt::skip]
pub const BINDINGS: &[Binding] = &[
    bind(X::Help, &[K::Down, K::Char('j')], C::HelpScroll(1), "scroll down", ""),
    bind(X::Help, &[K::Up, K::Char('k')], C::HelpScroll(-1), "scroll up", ""),
    bind(X::Help, &[K::PageDown, K::Char(' ')], C::HelpPage(1), "page down", ""),
    bind(X::Help, &[K::PageUp], C::HelpPage(-1), "page up", ""),
    bind(X::Help, &[K::Esc, K::Char('?'), K::Char('q')], C::CloseHelp, "close (any other key too)", "close"),
    bind(X::Help, &[K::Ctrl('c')], C::Quit, "quit", ""),
    bind(X::Prompt, &[K::Enter], C::PromptApply, "apply the filter, or keep the search", "apply"),
    bind(X::Prompt, &[K::Esc], C::PromptCancel, "cancel", "cancel"),
    bind(X::Prompt, &[K::Ctrl('c')], C::Quit, "quit", ""),
    bind(X::Flame, &[K::Down, K::Char('j')], C::FlameCallee, "the largest callee", "callee"),
    bind(X::Flame, &[K::Up, K::Char('k')], C::FlameCaller, "the caller", "caller"),
    bind(X::Flame, &[K::Left, K::Char('h')], C::FlamePrevious, "the neighbour on the left", ""),
    bind(X::Flame, &[K::Right, K::Char('l')], C::FlameNext, "the neighbour on the right", "neighbours"),
    bind(X::Flame, &[K::Char('g'), K::Home], C::FlameTop, "the top of the zoom", ""),
    bind(X::Flame, &[K::Enter], C::FlameZoomIn, "zoom into the selected frame", "zoom"),
    bind(X::Flame, &[K::Esc], C::FlameZoomOut, "zoom out one level", "zoom out"),
    bind(X::Stacks, &[K::Char('s')], C::SortStacks, "sort: count / failures / processes / recent / frame", "sort"),
    bind(X::StacksAndFlame, &[K::Char('u')], C::UserStacksOnly, "user stacks only, or all", "user stacks"),
    bind(X::StacksAndFlame, &[K::Char('-')], C::FewerFrames, "group by fewer innermost frames", "fewer frames"),
    bind(X::StacksAndFlame, &[K::Char('+'), K::Char('=')], C::MoreFrames, "group by more innermost frames", "more frames"),
    bind(X::StackLists, &[K::Enter], C::DrillIn, "the row's events (Esc: back to the row)", "its events"),
    bind(X::Processes, &[K::Char('/')], C::SearchProcesses, "find a process by name, or jump to a pid", "find"),
    bind(X::Processes, &[K::Char('n')], C::NextProcessMatch, "next process that matches", ""),
    bind(X::Processes, &[K::Char('N')], C::PreviousProcessMatch, "previous process that matches", ""),
    bind(X::Processes, &[K::Enter], C::ScopeToProcess, "scope every pane to the process or unit; again: unscope", "scope"),
    bind(X::EventsView, &[K::Char('/')], C::Search, "search (incremental); matches stack frames too", "search"),
    bind(X::EventsView, &[K::Char('n')], C::SearchNext, "next match", ""),
    bind(X::EventsView, &[K::Char('N')], C::SearchPrevious, "previous match", ""),
    bind(X::EventsView, &[K::Char('s')], C::SortProcesses, "sort Processes: tree / events / failures / rate / name", "sort processes"),
    bind(X::EventsView, &[K::Char('u')], C::GroupByUnit, "Processes by unit/container", "by unit"),
    bind(X::EventsView, &[K::Char('c')], C::ToggleUnitColumn, "show / hide the unit/container column", ""),
    bind(X::Anywhere, &[K::Char('q'), K::Ctrl('c')], C::Quit, "quit", "quit"),
    bind(X::Anywhere, &[K::Char('?')], C::ShowHelp, "this help", "help"),
    bind(X::Anywhere, &[K::Char('f')], C::EditFilter, "edit the filter, e.g. tree=4242 and type=open and ret<0", "filter"),
    bind(X::Anywhere, &[K::Enter], C::ZoomDetails, "details full screen, or back", "details"),
    bind(X::Anywhere, &[K::Down, K::Char('j')], C::Down, "move down (in Details: scroll)", ""),
    bind(X::Anywhere, &[K::Up, K::Char('k')], C::Up, "move up", ""),
    bind(X::Anywhere, &[K::Char('g'), K::Home], C::First, "first row", ""),
    bind(X::Anywhere, &[K::Char('G'), K::End], C::Last, "last row; in Events: follow new events", ""),
    bind(X::Anywhere, &[K::Ctrl('d')], C::HalfPageDown, "half a page down", ""),
    bind(X::Anywhere, &[K::Ctrl('u')], C::HalfPageUp, "half a page up", ""),
    bind(X::Anywhere, &[K::PageDown], C::PageDown, "a page down", ""),
    bind(X::Anywhere, &[K::PageUp], C::PageUp, "a page up", ""),
    bind(X::Anywhere, &[K::Tab], C::NextPane, "next pane", "pane"),
    bind(X::Anywhere, &[K::BackTab], C::PreviousPane, "previous pane", ""),
    bind(X::Anywhere, &[K::Char('1'), K::Char('2'), K::Char('3'), K::Char('4'), K::Char('8')], C::ShowTab, "events: all / process (exec, exit, fork, signals, OOM kills) / files / network / changes", "events"),
    bind(X::Anywhere, &[K::Char('5'), K::Char('6'), K::Char('7')], C::ShowStackView, "Stacks / Flame graph / Failures", "stack views"),
    bind(X::Anywhere, &[K::Esc], C::Back, "leave details / back to the stack view / clear the scope", ""),
    bind(X::Anywhere, &[K::Char('t')], C::ToggleTreeScope, "scope to the process's whole tree, or to it alone", "tree"),
    bind(X::Anywhere, &[K::Char(' '), K::Char('p')], C::TogglePause, "pause / resume the view (events are still collected)", "pause"),
    bind(X::Anywhere, &[K::Char('r')], C::ToggleRecording, "start / stop recording what the filter passes", "record"),
];

/// The mouse is no key but belongs on the same screen.
pub const MOUSE_HELP: (&str, &str) = ("mouse", "click selects, wheel scrolls");

/// The bindings of `context`, in table order.
pub fn of(context: Context) -> impl Iterator<Item = &'static Binding> {
    BINDINGS.iter().filter(move |b| b.context == context)
}

/// The keys of a binding as the help screen writes them: `↓ j`.
pub fn keys_label(binding: &Binding) -> String {
    let labels: Vec<String> = binding.keys.iter().map(|k| k.label()).collect();
    labels.join(" ")
}
