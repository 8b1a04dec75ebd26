//! Symbolized stack frames: what an address turned into, or why it could not.

use std::sync::Arc;

use serde::{Deserialize, Serialize};

pub use super::user_stack::{FoundBy, StackEnd};

/// One frame of a stack, innermost first in a stack's list.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Frame {
    pub addr: u64,
    pub symbol: Option<Arc<str>>,
    /// Bytes from the start of `symbol` to `addr`.
    pub offset: Option<u64>,
    /// The binary or shared object for user frames; the kernel module for module addresses.
    pub module: Option<Arc<str>>,
    pub file: Option<Arc<str>>,
    pub line: Option<u32>,
    pub column: Option<u16>,
    /// Functions inlined at this address, outermost first; each with its own location, so the
    /// last one's location is the instruction itself.
    pub inlined: Vec<InlinedFrame>,
    /// Why the address has no symbol.
    pub unresolved: Option<Unresolved>,
    /// Kernel frames of the syscall entry path or of the tracing machinery: correct, but rarely
    /// what a person is looking for, so views fold them into one line.
    pub folded: Option<Fold>,
    /// User frames of an unwound stack: how this frame was found.
    pub found_by: Option<FoundBy>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct InlinedFrame {
    pub symbol: Arc<str>,
    pub file: Option<Arc<str>>,
    pub line: Option<u32>,
    pub column: Option<u16>,
}

/// Why a frame has no symbol; `as_str` is what JSON and the UI show.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Unresolved {
    /// No mapping of the process contained the address.
    Unmapped,
    /// The process was gone before any of its mappings were seen.
    ProcessUnknown,
    /// The binary has no symbol covering the address (e.g. it is stripped).
    NoSymbols,
    /// The binary could not be read (deleted, replaced, or in another mount namespace).
    BinaryUnreadable,
    /// Symbolization did not finish within the time the output could wait.
    TimedOut,
    /// The kernel address is not in kallsyms.
    UnknownKernelAddress,
    /// The frame-pointer walk reached an address outside all code: the stack ends here.
    WalkWentAstray,
}

impl Unresolved {
    pub fn as_str(self) -> &'static str {
        match self {
            Unresolved::Unmapped => "unmapped",
            Unresolved::ProcessUnknown => "process gone before its maps were seen",
            Unresolved::NoSymbols => "no symbols",
            Unresolved::BinaryUnreadable => "binary unreadable",
            Unresolved::TimedOut => "symbolization timed out",
            Unresolved::UnknownKernelAddress => "not in kallsyms",
            Unresolved::WalkWentAstray => {
                "not in any code mapping: the frame-pointer walk ends here (code without frame pointers)"
            }
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Fold {
    /// entry_SYSCALL_64, do_syscall_64 and the like.
    SyscallEntry,
    /// The tracepoint and BPF machinery that took the stack.
    Tracing,
}

impl Fold {
    pub fn as_str(self) -> &'static str {
        match self {
            Fold::SyscallEntry => "syscall_entry",
            Fold::Tracing => "tracing",
        }
    }

    /// Which fold a kernel function belongs to, if any.
    pub fn of_kernel_symbol(name: &str) -> Option<Fold> {
        const ENTRY: &[&str] = &[
            "entry_SYSCALL_64",
            "entry_SYSCALL_64_after_hwframe",
            "entry_SYSCALL_64_safe_stack",
            "do_syscall_64",
            "x64_sys_call",
            "syscall_trace_enter",
            "syscall_exit_work",
            "syscall_exit_to_user_mode",
            "syscall_exit_to_user_mode_prepare",
            "do_int80_syscall_32",
            "do_fast_syscall_32",
            "entry_SYSENTER_compat_after_hwframe",
            "ret_from_fork",
            "ret_from_fork_asm",
        ];
        const TRACING_PREFIXES: &[&str] = &[
            "perf_syscall_",
            "perf_trace_",
            "perf_tp_",
            "trace_event_raw_event_",
            "trace_call_bpf",
            "bpf_trace_run",
            "__bpf_trace_",
            "__traceiter_",
            "bpf_prog_",
            "__bpf_prog_run",
            "bpf_get_stack",
            "__perf_event_overflow",
            "perf_swevent_",
        ];
        if ENTRY.contains(&name) {
            Some(Fold::SyscallEntry)
        } else if TRACING_PREFIXES
            .iter()
            .any(|prefix| name.starts_with(prefix))
        {
            Some(Fold::Tracing)
        } else {
            None
        }
    }
}

impl Frame {
    pub fn unresolved(addr: u64, why: Unresolved) -> Self {
        Frame {
            addr,
            unresolved: Some(why),
            ..Frame::default()
        }
    }

    /// The name views and exports give the frame: its symbol; else its module, since addresses
    /// differ between runs of one binary (ASLR) and the module alone lets stacks through the
    /// same unnamed code merge; else its address.
    pub fn display_name(&self) -> std::borrow::Cow<'_, str> {
        match (&self.symbol, &self.module) {
            (Some(symbol), _) => std::borrow::Cow::Borrowed(symbol),
            (None, Some(module)) => format!("[{module}]").into(),
            (None, None) => format!("{:#x}", self.addr).into(),
        }
    }
}

/// Both stacks of an event, symbolized.
#[derive(Clone, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct Stacks {
    pub user: Vec<Frame>,
    pub kernel: Vec<Frame>,
    /// Why the user stack ends where it does; `None` when there is no user stack.
    pub user_end: Option<StackEnd>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kernel_noise_is_recognised_and_real_work_is_not() {
        let cases = [
            ("entry_SYSCALL_64_after_hwframe", Some(Fold::SyscallEntry)),
            ("do_syscall_64", Some(Fold::SyscallEntry)),
            ("perf_syscall_enter", Some(Fold::Tracing)),
            ("perf_trace_sched_process_exec", Some(Fold::Tracing)),
            (
                "bpf_prog_6deef7357e7b4530_sys_enter_openat",
                Some(Fold::Tracing),
            ),
            ("trace_call_bpf", Some(Fold::Tracing)),
            ("tcp_v4_connect", None),
            ("__x64_sys_connect", None),
            ("do_sys_openat2", None),
        ];
        for (name, fold) in cases {
            assert_eq!(Fold::of_kernel_symbol(name), fold, "{name}");
        }
    }
}
