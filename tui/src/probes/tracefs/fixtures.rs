//! Tracepoint `format` files for the tests, kept in `fixtures/` as the kernel writes them.

// Captured verbatim from /sys/kernel/tracing/events on Linux 6.18 (x86_64).
pub(super) const SYS_ENTER_OPENAT: &str = include_str!("fixtures/sys_enter_openat.format");
pub(super) const SYS_EXIT_OPENAT: &str = include_str!("fixtures/sys_exit_openat.format");
pub(super) const SYS_ENTER_EXECVE: &str = include_str!("fixtures/sys_enter_execve.format");
pub(super) const SCHED_PROCESS_FORK: &str = include_str!("fixtures/sched_process_fork.format");
pub(super) const SCHED_PROCESS_EXEC: &str = include_str!("fixtures/sched_process_exec.format");
pub(super) const SCHED_PROCESS_EXIT: &str = include_str!("fixtures/sched_process_exit.format");
pub(super) const INET_SOCK_SET_STATE: &str = include_str!("fixtures/inet_sock_set_state.format");

// Hand-written in the classic (pre-6.x) layout, where the comms were inline
// arrays instead of `__data_loc` strings.
pub(super) const OLD_SCHED_PROCESS_FORK: &str =
    include_str!("fixtures/old_sched_process_fork.format");
