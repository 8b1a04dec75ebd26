//! A signal generated: by a process (`kill`, `tgkill`, `sigqueue`) or by the kernel (a fault's
//! SIGSEGV, a child's SIGCHLD, a broken pipe's SIGPIPE). The sender is the event's process.

use serde::{Deserialize, Serialize};

use crate::model::comm::Comm;
use crate::model::names::signal_label;
use crate::model::text::printable;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Signal {
    pub sig: i32,
    pub target_pid: u32,
    pub target_comm: Comm,
    /// `si_code`.
    pub code: i32,
    /// Sent to the whole process, not one thread.
    pub group: bool,
    /// `TRACE_SIGNAL_*`.
    pub result: u32,
    pub errno: i32,
}

pub const SIGCHLD: i32 = 17;

impl Signal {
    pub fn summary(&self) -> String {
        format!(
            "{} → {} {}{}",
            signal_label(self.sig),
            self.target_pid,
            printable(&self.target_comm),
            match self.result_name() {
                "delivered" => String::new(),
                other => format!(" ({other})"),
            }
        )
    }

    /// A child's notice to its parent that it ended (`SIGCHLD` with `CLD_EXITED`,
    /// `CLD_KILLED` or `CLD_DUMPED`): one per exit, already told by the `exit` event. The TUI
    /// leaves these out unless a filter asks for `sig`; a stop or a trap is not routine.
    pub fn routine(&self) -> bool {
        self.sig == SIGCHLD && (1..=3).contains(&self.code)
    }

    /// Sent by a process (`kill`, `tkill`, `sigqueue`) to another one: the headline.
    pub fn sent_by_another_process(&self, sender_pid: u32) -> bool {
        self.code <= 0 && self.target_pid != sender_pid
    }

    pub fn code_name(&self) -> std::borrow::Cow<'static, str> {
        let name = match self.code {
            0 => Some("SI_USER"),
            0x80 => Some("SI_KERNEL"),
            -1 => Some("SI_QUEUE"),
            -2 => Some("SI_TIMER"),
            -3 => Some("SI_MESGQ"),
            -4 => Some("SI_ASYNCIO"),
            -5 => Some("SI_SIGIO"),
            -6 => Some("SI_TKILL"),
            -7 => Some("SI_DETHREAD"),
            -60 => Some("SI_ASYNCNL"),
            code if code > 0 => signal_specific_code(self.sig, code),
            _ => None,
        };
        name.map_or_else(|| self.code.to_string().into(), Into::into)
    }

    pub fn result_name(&self) -> &'static str {
        match self.result {
            0 => "delivered",
            1 => "ignored",
            2 => "already_pending",
            3 => "overflow_fail",
            4 => "lose_info",
            _ => "unknown",
        }
    }
}

/// The names of the positive `si_code`s, which each signal defines for itself.
fn signal_specific_code(sig: i32, code: i32) -> Option<&'static str> {
    const CHLD: [&str; 6] = [
        "CLD_EXITED",
        "CLD_KILLED",
        "CLD_DUMPED",
        "CLD_TRAPPED",
        "CLD_STOPPED",
        "CLD_CONTINUED",
    ];
    const SEGV: [&str; 9] = [
        "SEGV_MAPERR",
        "SEGV_ACCERR",
        "SEGV_BNDERR",
        "SEGV_PKUERR",
        "SEGV_ACCADI",
        "SEGV_ADIDERR",
        "SEGV_ADIPERR",
        "SEGV_MTEAERR",
        "SEGV_MTESERR",
    ];
    const BUS: [&str; 5] = [
        "BUS_ADRALN",
        "BUS_ADRERR",
        "BUS_OBJERR",
        "BUS_MCEERR_AR",
        "BUS_MCEERR_AO",
    ];
    const ILL: [&str; 8] = [
        "ILL_ILLOPC",
        "ILL_ILLOPN",
        "ILL_ILLADR",
        "ILL_ILLTRP",
        "ILL_PRVOPC",
        "ILL_PRVREG",
        "ILL_COPROC",
        "ILL_BADSTK",
    ];
    const FPE: [&str; 8] = [
        "FPE_INTDIV",
        "FPE_INTOVF",
        "FPE_FLTDIV",
        "FPE_FLTOVF",
        "FPE_FLTUND",
        "FPE_FLTRES",
        "FPE_FLTINV",
        "FPE_FLTSUB",
    ];
    const TRAP: [&str; 4] = ["TRAP_BRKPT", "TRAP_TRACE", "TRAP_BRANCH", "TRAP_HWBKPT"];
    const POLL: [&str; 6] = [
        "POLL_IN", "POLL_OUT", "POLL_MSG", "POLL_ERR", "POLL_PRI", "POLL_HUP",
    ];
    let names: &[&'static str] = match sig {
        17 => &CHLD,
        11 => &SEGV,
        7 => &BUS,
        4 => &ILL,
        8 => &FPE,
        5 => &TRAP,
        29 => &POLL,
        _ => return None,
    };
    names.get(usize::try_from(code - 1).ok()?).copied()
}
