//! Read access to the state, for rendering and the runner: the fields themselves are private,
//! so that `update` and the runner's few named methods stay the only writers.

use std::collections::VecDeque;

use super::{
    App, EventId, EventStore, Pane, ProcessSort, ProcessTable, Prompt, RecordingStatus, Scope,
    Stats, Tab,
};
use crate::filter::Filter;

impl App {
    pub fn store(&self) -> &EventStore {
        &self.store
    }

    /// Ids the Events pane shows, oldest first.
    pub fn visible(&self) -> &VecDeque<EventId> {
        &self.visible
    }

    /// Index into `visible` of the selected row.
    pub fn cursor(&self) -> usize {
        self.cursor
    }

    /// The selection sticks to the newest event.
    pub fn follow(&self) -> bool {
        self.follow
    }

    /// The view is frozen; events are still collected.
    pub fn paused(&self) -> bool {
        self.paused
    }

    pub fn filter(&self) -> &Filter {
        &self.filter
    }

    /// Why the last filter typed was refused; the previous one stays active.
    pub fn filter_error(&self) -> Option<&str> {
        self.filter_error.as_deref()
    }

    pub fn prompt(&self) -> Option<&Prompt> {
        self.prompt.as_ref()
    }

    pub fn tab(&self) -> Tab {
        self.tab
    }

    pub fn scope(&self) -> Option<&Scope> {
        self.scope.as_ref()
    }

    /// Whether the Events pane shows its unit column, at this width: as `c` set it, or when
    /// there is room.
    pub fn unit_column(&self, width: u16) -> bool {
        self.unit_column.unwrap_or(width >= 140)
    }

    pub fn process_sort(&self) -> ProcessSort {
        self.process_sort
    }

    pub fn focus(&self) -> Pane {
        self.focus
    }

    pub fn processes(&self) -> &ProcessTable {
        &self.processes
    }

    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    pub fn show_help(&self) -> bool {
        self.show_help
    }

    /// Lines of the help screen scrolled past.
    pub fn help_scroll(&self) -> u16 {
        self.help_scroll
    }

    pub fn zoom_details(&self) -> bool {
        self.zoom_details
    }

    pub fn detail_scroll(&self) -> u16 {
        self.detail_scroll
    }

    /// Where events come from, for the title: `live` or a recording's name.
    /// A fleet view's hosts; empty watching one machine.
    pub fn hosts(&self) -> &[crate::fleet::HostLine] {
        &self.hosts
    }

    /// Events come from a recording.
    pub fn is_replay(&self) -> bool {
        self.replay
    }

    pub fn source(&self) -> &str {
        &self.source
    }

    pub fn recording(&self) -> Option<&RecordingStatus> {
        self.recording.as_ref()
    }

    /// A one-line message for the footer (e.g. where a recording went).
    pub fn notice(&self) -> Option<&str> {
        self.notice.as_deref()
    }
}
