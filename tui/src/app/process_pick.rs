//! The Processes pane's selection is a process (pid and start time) or a unit, not a row
//! number: rows come and go around it every second on a busy host, and Enter must scope to what
//! the user chose, not to whatever slid under the cursor.

use std::sync::Arc;

use super::{App, ProcessRow};
use crate::model::host::HostId;

/// What the user selected in the Processes pane.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ProcessPick {
    /// A pid names one process only on its host and with its start time: a reused pid is
    /// another process.
    Process {
        host: HostId,
        pid: u32,
        start_ns: u64,
    },
    Unit(Option<Arc<str>>),
}

impl App {
    /// The row the selection is on, or `None` when the selected process has left the pane.
    /// Until the user moves, the first row.
    pub fn process_cursor(&self) -> Option<usize> {
        self.pick_index(&self.process_rows())
    }

    /// The selected process when it has left the pane (exited and aged out, or outside a
    /// unit scope): the title says so instead of selecting another.
    pub fn process_pick_gone(&self) -> Option<u32> {
        match &self.process_pick {
            Some(ProcessPick::Process { pid, .. }) if self.process_cursor().is_none() => Some(*pid),
            _ => None,
        }
    }

    fn pick_index(&self, rows: &[ProcessRow]) -> Option<usize> {
        match &self.process_pick {
            None => (!rows.is_empty()).then(|| self.process_row.min(rows.len() - 1)),
            Some(pick) => rows.iter().position(|row| self.pick_of(row) == *pick),
        }
    }

    fn pick_of(&self, row: &ProcessRow) -> ProcessPick {
        match row {
            ProcessRow::Process { host, pid, .. } => ProcessPick::Process {
                host: *host,
                pid: *pid,
                start_ns: self.processes.get(*host, *pid).map_or(0, |p| p.start_ns),
            },
            ProcessRow::Unit(unit) => ProcessPick::Unit(unit.clone()),
        }
    }

    /// Moves the selection `delta` rows from where it is (from its last row when its process
    /// is gone).
    pub(super) fn move_process_pick(&mut self, delta: isize) {
        let rows = self.process_rows();
        let from = self.pick_index(&rows).unwrap_or(self.process_row);
        self.pick_process_row(&rows, from.saturating_add_signed(delta));
    }

    /// Selects row `index` (the last one past the end).
    pub(super) fn pick_process_row(&mut self, rows: &[ProcessRow], index: usize) {
        let Some(last) = rows.len().checked_sub(1) else {
            self.process_pick = None;
            self.process_row = 0;
            return;
        };
        self.process_row = index.min(last);
        self.process_pick = Some(self.pick_of(&rows[self.process_row]));
    }

    /// The selected line, if it is still in the pane.
    pub(super) fn selected_process_row(&self) -> Option<ProcessRow> {
        let rows = self.process_rows();
        let index = self.pick_index(&rows)?;
        rows.into_iter().nth(index)
    }

    /// Selects the next row (`step` 1), the previous (-1), or from the selected one on (0)
    /// whose process matches the search: its pid exactly, else its name containing the text.
    /// A pid that is not in the pane leaves the selection where it is.
    pub(super) fn find_process(&mut self, step: isize) {
        let Some(term) = self.process_search.clone() else {
            return;
        };
        let rows = self.process_rows();
        let matches = |row: &ProcessRow| match row {
            ProcessRow::Process { host, pid, .. } => match term.parse::<u32>() {
                Ok(wanted) => *pid == wanted,
                Err(_) => self.processes.get(*host, *pid).is_some_and(|process| {
                    String::from_utf8_lossy(&process.comm).contains(term.as_str())
                }),
            },
            ProcessRow::Unit(_) => false,
        };
        let from = self.pick_index(&rows).unwrap_or(self.process_row) as isize;
        let count = rows.len().max(1) as isize;
        // Round the pane once from the next (or previous) row, as a pager's search does; a
        // search being typed starts at the selected row itself.
        let found = (0..count)
            .map(|offset| {
                let offset = if step == 0 {
                    offset
                } else {
                    step * (offset + 1)
                };
                (from + offset).rem_euclid(count) as usize
            })
            .find(|&index| rows.get(index).is_some_and(&matches));
        if let Some(index) = found {
            self.pick_process_row(&rows, index);
        }
    }
}
