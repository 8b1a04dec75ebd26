//! The TUI's state. `update` (in update.rs) changes it; beside it, a few named methods below
//! let the runner take the events to record and report its recording. Rendering and the runner
//! read it through read.rs. The fields are private, so that stays true.

pub mod bindings;
mod keys;
pub mod layout;
pub mod list_window;
mod process_pick;
pub mod processes;
mod read;
pub mod store;
mod update;
mod views;

use std::collections::{BTreeMap, VecDeque};
use std::sync::Arc;

use tui_input::Input;

pub use self::process_pick::ProcessPick;
pub use self::processes::{ProcessRow, ProcessSort, ProcessTable};
pub use self::store::EventStore;
use self::views::StackViewState;
pub use self::views::View;
use crate::filter::{Filter, KernelPart};
use crate::fleet::HostLine;
pub use crate::model::EventId;
use crate::model::frame::Stacks;
use crate::model::host::HostId;
use crate::model::text::printable;
use crate::model::{Event, EventKind, Group};
use crate::stacks::{Failure, KeyId, StackKeys};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pane {
    Events,
    Processes,
    Details,
}

/// Per-type views of the Events pane, one key away.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Tab {
    All,
    Process,
    Files,
    Network,
    Changes,
}

impl Tab {
    pub const ALL: [Tab; 5] = [
        Tab::All,
        Tab::Process,
        Tab::Files,
        Tab::Network,
        Tab::Changes,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Tab::All => "All",
            Tab::Process => "Process",
            Tab::Files => "Files",
            Tab::Network => "Network",
            Tab::Changes => "Changes",
        }
    }

    /// The key that shows it: 1 to 4, and 8 for Changes (5 to 7 are the stack views).
    pub const fn key(self) -> char {
        match self {
            Tab::All => '1',
            Tab::Process => '2',
            Tab::Files => '3',
            Tab::Network => '4',
            Tab::Changes => '8',
        }
    }

    /// The tab that shows a group's events, besides All.
    pub fn of_group(group: Group) -> Tab {
        match group {
            Group::Process => Tab::Process,
            Group::Files => Tab::Files,
            Group::Network => Tab::Network,
            Group::Changes => Tab::Changes,
        }
    }

    pub fn shows(self, kind: EventKind) -> bool {
        match self {
            Tab::All => true,
            Tab::Process | Tab::Files | Tab::Network | Tab::Changes => {
                Tab::of_group(kind.group()) == self
            }
        }
    }
}

/// What a selected process, or unit, narrows the panes to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Scope {
    /// A process by its pid on its host.
    Process(HostId, u32),
    /// A process and its descendants, on its host.
    Tree(HostId, u32),
    /// A systemd unit or container, by its label (`nginx.service`, `docker:0123456789ab`).
    Unit(Arc<str>),
    /// The events of row `number` of the Stacks view: one stack key.
    Stack { number: usize, key: KeyId },
    /// The events of row `number` of the Failures view.
    Failure {
        number: usize,
        kind: EventKind,
        failure: Failure,
        /// The innermost interesting frame's number in the stack keys.
        frame_id: u32,
    },
}

impl Scope {
    /// A scope that one of the stack views led to: it keeps the events of a stack key.
    pub fn is_stack_scope(&self) -> bool {
        matches!(self, Scope::Stack { .. } | Scope::Failure { .. })
    }

    /// `tree 4242`, `unit nginx.service`, `stack #3`: what the panes' titles say.
    pub fn label(&self) -> String {
        match self {
            Scope::Process(host, pid) => format!("pid {pid}{}", on_host(*host)),
            Scope::Tree(host, pid) => format!("tree {pid}{}", on_host(*host)),
            Scope::Unit(unit) => format!("unit {}", printable(unit.as_bytes())),
            Scope::Stack { number, .. } => format!("stack #{number}"),
            Scope::Failure { number, .. } => format!("failure #{number}"),
        }
    }
}

/// ` on web1` for a fleet host's scope; nothing on one machine.
fn on_host(host: HostId) -> String {
    host.label()
        .map(|label| format!(" on {}", printable(label.as_bytes())))
        .unwrap_or_default()
}

/// A line being typed at the bottom of the screen.
pub enum Prompt {
    Filter(Input),
    Search(Input),
    /// `/` in the Processes pane: a name, or a pid to jump to.
    ProcessSearch(Input),
}

/// Figures the status bar shows; refreshed once a second.
#[derive(Clone, Debug, Default)]
pub struct Stats {
    pub rates: BTreeMap<EventKind, f64>,
    pub kernel_drops: BTreeMap<EventKind, u64>,
    pub malformed: u64,
    pub symbol_backlog: usize,
    /// ringside's own CPU use, percent of one core.
    pub cpu_percent: f64,
    /// Mapping records the kernel overwrote: some stacks may not resolve.
    pub mapping_records_lost: usize,
    /// User stack copies lost (ring buffer full): those stacks are frame-pointer walks.
    pub stack_copies_lost: usize,
    /// `--otlp --tui`: what became of the exported records, and what is wrong now.
    pub otlp: Option<crate::otlp::beside_tui::OtlpStatus>,
}

/// How long a notice (a recording's path, why a key did nothing) stays in the footer.
const NOTICE_SECONDS: u32 = 6;

/// What the runner must do for the app: the app itself does no I/O.
#[derive(Debug, PartialEq)]
pub enum Action {
    Quit,
    SetKernelFilter(KernelPart),
    /// Start recording what the filter passes, or stop.
    ToggleRecording,
}

/// A recording in progress, as the title line shows it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordingStatus {
    pub path: String,
    pub events: u64,
}

/// Something that happened: the only input to `App::update`.
pub enum Msg {
    Key(crossterm::event::KeyEvent),
    Mouse(crossterm::event::MouseEvent),
    Resize(u16, u16),
    Events(Vec<Event>, u64),
    Stacks(Vec<(EventId, Stacks)>),
    /// Once a second, with the kernel's drop counters and the process's CPU use.
    Tick(Stats),
    /// A fleet view's hosts changed state.
    Hosts(Vec<HostLine>),
}

pub struct App {
    store: EventStore,
    /// Ids the Events pane shows, oldest first.
    /// A deque: once the store is full, every batch evicts from the front of it too.
    visible: VecDeque<EventId>,
    /// Index into `visible` of the selected row.
    cursor: usize,
    /// The selection sticks to the newest event.
    follow: bool,
    /// The view is frozen; events are still collected.
    paused: bool,
    filter: Filter,
    /// Why the last filter typed was refused; the previous one stays active.
    filter_error: Option<String>,
    prompt: Option<Prompt>,
    search: Option<String>,
    tab: Tab,
    /// `5`-`7`: a stack view in place of the Events and Processes panes.
    view: View,
    stack_state: StackViewState,
    scope: Option<Scope>,
    /// `t`: a selected process scopes to its whole subtree rather than itself.
    tree_scope: bool,
    /// `u`: the Processes pane groups processes by unit or container instead of by parent.
    group_by_unit: bool,
    /// `c`: the Events pane's unit column shown or hidden; `None` shows it when there is room.
    unit_column: Option<bool>,
    /// `s`: how the Processes pane orders its processes.
    process_sort: ProcessSort,
    focus: Pane,
    /// What `/` in the Processes pane looks for: a pid, or part of a command name.
    process_search: Option<String>,
    /// The Processes pane's selection, by identity; `None` until the user moves it.
    process_pick: Option<ProcessPick>,
    /// The row it was last on: where moving starts when its process has gone.
    process_row: usize,
    processes: ProcessTable,
    stats: Stats,
    show_help: bool,
    /// Lines of the help screen scrolled past (a small terminal shows only part of it).
    help_scroll: u16,
    zoom_details: bool,
    detail_scroll: u16,
    /// Terminal size, for paging and mouse hits.
    size: (u16, u16),
    /// Something changed since the last frame was drawn.
    dirty: bool,
    /// Events per kind since the last tick, for rates.
    arrived: BTreeMap<EventKind, u64>,
    /// Shared symbolized stacks, so identical stacks are stored once.
    stack_pool: std::collections::HashSet<Arc<Stacks>>,
    /// Where events come from, for the title: `live` or a recording's name.
    source: String,
    /// Set by the runner while it records.
    recording: Option<RecordingStatus>,
    /// Events that passed the filter while recording, for the runner to write.
    to_record: Vec<EventId>,
    /// A one-line message for the footer (e.g. where a recording went).
    notice: Option<String>,
    /// Seconds the notice has been shown; it goes after [`NOTICE_SECONDS`].
    notice_age: u32,
    /// Events come from a recording: `r` has nothing new to record.
    replay: bool,
    /// A fleet view's hosts; empty watching one machine.
    hosts: Vec<HostLine>,
}

/// What the Events pane shows: the tab, the scope and the filter. Borrowed apart from the
/// stack keys (which a stack scope adds to), so a caller can hold an event of the store too.
struct Selection<'a> {
    tab: Tab,
    scope: Option<&'a Scope>,
    processes: &'a ProcessTable,
    filter: &'a Filter,
}

/// An app's [`Selection`], borrowing only the fields it names.
macro_rules! selection {
    ($app:expr) => {
        Selection {
            tab: $app.tab,
            scope: $app.scope.as_ref(),
            processes: &$app.processes,
            filter: &$app.filter,
        }
    };
}
use selection;

impl Selection<'_> {
    fn shows(&self, keys: &mut StackKeys, event: &Event) -> bool {
        self.tab.shows(event.kind())
            && match self.scope {
                None => true,
                Some(Scope::Process(host, pid)) => event.host == *host && event.pid == *pid,
                Some(Scope::Tree(host, root)) => {
                    use crate::filter::Ancestry as _;
                    event.host == *host
                        && self
                            .processes
                            .is_descendant_or_self(event.host, event.pid, *root)
                }
                Some(Scope::Unit(label)) => event
                    .cgroup
                    .as_ref()
                    .and_then(|info| info.label.as_ref())
                    .is_some_and(|unit| unit == label),
                Some(Scope::Stack { key, .. }) => keys.id_of(event) == *key,
                Some(Scope::Failure {
                    kind,
                    failure,
                    frame_id,
                    ..
                }) => {
                    event.kind() == *kind && Failure::of(event) == Some(*failure) && {
                        let id = keys.id_of(event);
                        keys.info(id).frame_id == *frame_id
                    }
                }
            }
            && (!is_routine_signal(event) || self.filter.asks_for_signals())
            && self.filter.matches(event, self.processes)
    }
}

/// A child's SIGCHLD to its parent as it exits: one per exit, which the exit event already
/// tells. Left out of the Events pane unless the filter asks for signals, so that a fork
/// storm's SIGCHLDs cannot bury the one `kill` a person is looking for.
pub fn is_routine_signal(event: &Event) -> bool {
    matches!(&event.details, crate::model::event::Details::Signal(signal) if signal.routine())
}

impl App {
    pub fn new(capacity: usize, filter: Filter, source: String) -> Self {
        Self {
            store: EventStore::new(capacity),
            visible: VecDeque::new(),
            cursor: 0,
            follow: true,
            paused: false,
            filter,
            filter_error: None,
            prompt: None,
            search: None,
            tab: Tab::All,
            view: View::Events,
            stack_state: StackViewState::default(),
            scope: None,
            tree_scope: true,
            group_by_unit: false,
            unit_column: None,
            process_sort: ProcessSort::Tree,
            focus: Pane::Events,
            process_search: None,
            process_pick: None,
            process_row: 0,
            processes: ProcessTable::default(),
            stats: Stats::default(),
            show_help: false,
            help_scroll: 0,
            zoom_details: false,
            detail_scroll: 0,
            size: (80, 24),
            dirty: true,
            arrived: BTreeMap::new(),
            stack_pool: std::collections::HashSet::new(),
            source,
            recording: None,
            to_record: Vec::new(),
            notice: None,
            notice_age: 0,
            replay: false,
            hosts: Vec::new(),
        }
    }

    /// The events that passed the filter while recording, since the last call: the runner
    /// writes them.
    pub fn take_to_record(&mut self) -> Vec<EventId> {
        std::mem::take(&mut self.to_record)
    }

    /// The runner's recording, for the title line. Not a reason to draw a frame: the runner
    /// reports after every turn of its loop, and the count catches up with the next frame.
    pub fn set_recording(&mut self, status: Option<RecordingStatus>) {
        self.recording = status;
    }

    /// A one-line message for the footer. Not a reason to draw a frame either: the key that led
    /// to it already asked for one.
    /// Once a second: a notice stays long enough to read, then the key hints come back.
    fn age_notice(&mut self) {
        if self.notice.is_some() {
            self.notice_age += 1;
            if self.notice_age > NOTICE_SECONDS {
                self.notice = None;
            }
        }
    }

    /// The app shows a recording, not live events.
    pub fn replaying(mut self) -> Self {
        self.replay = true;
        self
    }

    pub fn set_notice(&mut self, notice: String) {
        self.notice_age = 0;
        self.notice = Some(notice);
    }

    /// Whether something changed since the last frame; the caller draws one now.
    pub fn take_dirty(&mut self) -> bool {
        std::mem::take(&mut self.dirty)
    }

    pub fn selected_id(&self) -> Option<EventId> {
        self.visible.get(self.cursor).copied()
    }

    pub fn selected(&self) -> Option<&Event> {
        self.store.get(self.selected_id()?)
    }

    /// Whether the Events pane shows this event under the current tab, scope and filter.
    fn shows(&mut self, event: &Event) -> bool {
        let selection = selection!(self);
        selection.shows(&mut self.stack_state.keys, event)
    }

    /// The Processes pane's lines: the tree or the units (`u`), within a unit scope.
    pub fn process_rows(&self) -> Vec<ProcessRow> {
        let only = match &self.scope {
            Some(Scope::Unit(label)) => Some(&**label),
            _ => None,
        };
        self.processes
            .rows(self.group_by_unit, only, self.process_sort)
    }

    /// The process the Processes pane's cursor is on.
    #[cfg(test)]
    pub fn selected_process(&self) -> Option<u32> {
        match self.selected_process_row()? {
            ProcessRow::Process { pid, .. } => Some(pid),
            ProcessRow::Unit(_) => None,
        }
    }
}
