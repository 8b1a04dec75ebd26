//! Tracepoint format files from tracefs.
//!
//! Our eBPF tracepoint programs read their arguments at raw byte offsets into the
//! record the kernel hands them. Those offsets drift between kernel versions (for
//! example `sched_process_fork` swapped `char parent_comm[16]` for a
//! `__data_loc char[]` in 6.x) and Rust eBPF has no CO-RE to relocate them, so
//! user space reads `events/<category>/<name>/format` at start-up and passes the
//! offsets down to the probes.

use std::io;
use std::path::{Path, PathBuf};

/// Where tracefs lives on current kernels.
const TRACEFS_ROOT: &str = "/sys/kernel/tracing";
/// Where older setups expose it: tracefs auto-mounted under debugfs.
const DEBUGFS_TRACING_ROOT: &str = "/sys/kernel/debug/tracing";

/// Something went wrong finding or reading tracefs.
///
/// Each message is one line; the underlying OS error, where there is one, is the
/// error's `source()` (print with `{:#}` in anyhow to see it on the same line).
#[derive(Debug, thiserror::Error)]
pub enum TracefsError {
    #[error("tracepoint {category}/{name} does not exist on this kernel")]
    MissingTracepoint { category: String, name: String },

    #[error("cannot read {}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error(
        "tracefs is not mounted and mounting it failed; run `mount -t tracefs tracefs /sys/kernel/tracing` as root"
    )]
    NotMountable {
        #[source]
        source: io::Error,
    },

    #[error("cannot parse {}", path.display())]
    Format {
        path: PathBuf,
        #[source]
        source: FormatError,
    },
}

/// A format file that does not look like the kernel's, or a field the probes need
/// that this kernel's tracepoint lacks. Line numbers are 1-based.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FormatError {
    #[error("format text is empty")]
    Empty,

    #[error("format has no `{key}:` line")]
    MissingHeader { key: &'static str },

    #[error("line {line}: field has no `{key}:` attribute")]
    MissingAttribute { line: usize, key: &'static str },

    #[error("line {line}: `{key}:` value {value:?} is not a valid number")]
    InvalidNumber {
        line: usize,
        key: &'static str,
        value: String,
    },

    #[error("line {line}: cannot parse field declaration {text:?}")]
    MalformedField { line: usize, text: String },

    #[error("tracepoint {name} lists no fields")]
    NoFields { name: String },

    #[error("tracepoint {tracepoint} has no field `{field}` on this kernel")]
    MissingField { tracepoint: String, field: String },
}

/// Makes sure tracefs is available and returns its root (usually /sys/kernel/tracing).
///
/// Checks /sys/kernel/tracing/events, then /sys/kernel/debug/tracing/events; if
/// neither exists, mounts tracefs at /sys/kernel/tracing and re-checks. Many
/// systems (this one included) do not mount tracefs at boot, and asking the user to
/// do it by hand for every run would be needless friction when we are root anyway.
pub fn ensure_mounted() -> Result<PathBuf, TracefsError> {
    let candidates = [Path::new(TRACEFS_ROOT), Path::new(DEBUGFS_TRACING_ROOT)];
    if let Some(root) = find_root(&candidates) {
        return Ok(root);
    }
    let mounted = mount_tracefs();
    // Re-check even when mount failed: someone else may have mounted it meanwhile.
    if let Some(root) = find_root(&candidates) {
        return Ok(root);
    }
    let source = match mounted {
        Err(err) => err,
        Ok(()) => io::Error::new(
            io::ErrorKind::NotFound,
            "tracefs was mounted but has no events directory",
        ),
    };
    Err(TracefsError::NotMountable { source })
}

/// The first candidate that has an `events` directory, which is what we read.
fn find_root(candidates: &[&Path]) -> Option<PathBuf> {
    candidates
        .iter()
        .find(|root| root.join("events").is_dir())
        .map(|root| root.to_path_buf())
}

/// `mount -t tracefs tracefs /sys/kernel/tracing`.
fn mount_tracefs() -> io::Result<()> {
    nix::mount::mount(
        Some("tracefs"),
        "/sys/kernel/tracing",
        Some("tracefs"),
        nix::mount::MsFlags::empty(),
        None::<&str>,
    )
    .map_err(io::Error::from)
}

/// A tracefs mount, for reading tracepoint formats.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tracefs {
    root: PathBuf,
}

impl Tracefs {
    /// Wraps a tracefs root such as the one [`ensure_mounted`] returns. Tests point
    /// it at a temporary directory laid out like tracefs.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// Reads and parses one tracepoint's format file.
    ///
    /// An absent tracepoint (kernel built without it, or a typo) is
    /// [`TracefsError::MissingTracepoint`] so callers can skip that probe.
    pub fn format(&self, category: &str, name: &str) -> Result<TracepointFormat, TracefsError> {
        let missing = || TracefsError::MissingTracepoint {
            category: category.to_owned(),
            name: name.to_owned(),
        };
        // A name with a path separator or `..` could only resolve to some other file.
        if !is_plain_component(category) || !is_plain_component(name) {
            return Err(missing());
        }
        let path = self
            .root
            .join("events")
            .join(category)
            .join(name)
            .join("format");
        let text = match std::fs::read_to_string(&path) {
            Ok(text) => text,
            Err(err) if err.kind() == io::ErrorKind::NotFound => return Err(missing()),
            Err(source) => return Err(TracefsError::Io { path, source }),
        };
        parse_format(&text).map_err(|source| TracefsError::Format { path, source })
    }
}

fn is_plain_component(s: &str) -> bool {
    !s.is_empty() && s != "." && s != ".." && !s.contains('/') && !s.contains('\0')
}

/// One tracepoint's record layout, as its format file describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TracepointFormat {
    pub name: String,
    pub id: u32,
    /// In file order, `common_*` fields included.
    pub fields: Vec<FormatField>,
}

/// One field of a tracepoint record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatField {
    /// The C identifier, without any array suffix: `comm` for `char comm[16]`.
    pub name: String,
    /// The declaration with the name taken out and any array suffix kept:
    /// `char[16]`, `const char *`, `__data_loc char[]`.
    pub type_decl: String,
    /// Byte offset from the start of the record.
    pub offset: u16,
    pub size: u16,
    pub signed: bool,
    /// The field holds a `__data_loc` word rather than the data: the low 16 bits
    /// are the data's offset in the record and the high 16 bits its length.
    pub data_loc: bool,
}

impl TracepointFormat {
    pub fn field(&self, name: &str) -> Option<&FormatField> {
        self.fields.iter().find(|f| f.name == name)
    }

    /// Like [`field`](Self::field) but an error naming the tracepoint and field
    /// when missing, for probes that cannot work without it.
    pub fn require(&self, name: &str) -> Result<&FormatField, FormatError> {
        self.field(name).ok_or_else(|| FormatError::MissingField {
            tracepoint: self.name.clone(),
            field: name.to_owned(),
        })
    }
}

/// Parses the text of a tracefs `format` file.
///
/// The file has `name:` and `ID:` header lines, then one line per field such as
/// `\tfield:pid_t pid;\toffset:12;\tsize:4;\tsigned:1;`, then a `print fmt:` line
/// that we ignore (it may contain anything, `field:` included).
pub fn parse_format(text: &str) -> Result<TracepointFormat, FormatError> {
    if text.trim().is_empty() {
        return Err(FormatError::Empty);
    }
    let mut name = None;
    let mut id = None;
    let mut fields = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line_no = index + 1;
        let line = raw.trim();
        if line.starts_with("print fmt:") {
            break;
        } else if let Some(value) = line.strip_prefix("name:") {
            name = Some(value.trim().to_owned());
        } else if let Some(value) = line.strip_prefix("ID:") {
            id = Some(parse_number::<u32>(value, line_no, "ID")?);
        } else if let Some(rest) = line
            .strip_prefix("field:")
            // Kernels before 3.x marked ftrace-internal fields this way.
            .or_else(|| line.strip_prefix("field special:"))
        {
            fields.push(parse_field(rest, line_no)?);
        }
    }
    let name = name
        .filter(|n| !n.is_empty())
        .ok_or(FormatError::MissingHeader { key: "name" })?;
    let id = id.ok_or(FormatError::MissingHeader { key: "ID" })?;
    if fields.is_empty() {
        return Err(FormatError::NoFields { name });
    }
    Ok(TracepointFormat { name, id, fields })
}

/// Parses what follows `field:` on a field line: `DECL;\toffset:N;\tsize:N;\tsigned:N;`.
fn parse_field(rest: &str, line: usize) -> Result<FormatField, FormatError> {
    let malformed = || FormatError::MalformedField {
        line,
        text: rest.trim().to_owned(),
    };
    let mut parts = rest.split(';');
    let decl = parts.next().unwrap_or_default();
    let (name, type_decl) = split_declaration(decl).ok_or_else(malformed)?;

    let (mut offset, mut size, mut signed) = (None, None, None);
    for part in parts.map(str::trim).filter(|p| !p.is_empty()) {
        let (key, value) = part.split_once(':').ok_or_else(malformed)?;
        match key.trim() {
            "offset" => offset = Some(parse_number::<u16>(value, line, "offset")?),
            "size" => size = Some(parse_number::<u16>(value, line, "size")?),
            "signed" => signed = Some(parse_number::<u8>(value, line, "signed")? != 0),
            // Unknown attributes are skipped so a future kernel adding one still parses.
            _ => {}
        }
    }
    Ok(FormatField {
        data_loc: type_decl.starts_with("__data_loc"),
        name,
        type_decl,
        offset: offset.ok_or(FormatError::MissingAttribute {
            line,
            key: "offset",
        })?,
        size: size.ok_or(FormatError::MissingAttribute { line, key: "size" })?,
        // Kernels before 2.6.32 did not print `signed:`; unsigned is the safe reading.
        signed: signed.unwrap_or(false),
    })
}

fn parse_number<T: std::str::FromStr>(
    value: &str,
    line: usize,
    key: &'static str,
) -> Result<T, FormatError> {
    let value = value.trim();
    value.parse().map_err(|_| FormatError::InvalidNumber {
        line,
        key,
        value: value.to_owned(),
    })
}

/// Splits a C declaration into (name, type with the name removed):
/// `char comm[16]` -> (`comm`, `char[16]`), `const char * filename` ->
/// (`filename`, `const char *`), `__data_loc char[] filename` -> (`filename`,
/// `__data_loc char[]`). Array sizes may be expressions such as
/// `[sizeof(struct sockaddr_in6)]`.
fn split_declaration(decl: &str) -> Option<(String, String)> {
    let decl = decl.trim();
    // Peel trailing `[..]` groups (there may be several: `int grid[2][3]`).
    let mut base = decl;
    while base.ends_with(']') {
        base = base[..matching_open_bracket(base)?].trim_end();
    }
    let array = decl[base.len()..].trim_start();
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let name_start = base
        .char_indices()
        .rev()
        .find(|&(_, c)| !is_ident(c))
        .map_or(0, |(i, c)| i + c.len_utf8());
    let name = &base[name_start..];
    let ty = base[..name_start].trim_end();
    if name.is_empty() || ty.is_empty() || name.starts_with(|c: char| c.is_ascii_digit()) {
        return None;
    }
    Some((name.to_owned(), format!("{ty}{array}")))
}

/// Byte index of the `[` matching the `]` that ends `decl`.
fn matching_open_bracket(decl: &str) -> Option<usize> {
    let mut depth = 0usize;
    for (i, c) in decl.char_indices().rev() {
        match c {
            ']' => depth += 1,
            '[' => {
                depth = depth.checked_sub(1)?;
                if depth == 0 {
                    return Some(i);
                }
            }
            _ => {}
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    // Captured verbatim from /sys/kernel/tracing/events on Linux 6.18 (x86_64).
    const SYS_ENTER_OPENAT: &str = r#"name: sys_enter_openat
ID: 782
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:int dfd;	offset:16;	size:8;	signed:0;
	field:const char * filename;	offset:24;	size:8;	signed:0;
	field:int flags;	offset:32;	size:8;	signed:0;
	field:umode_t mode;	offset:40;	size:8;	signed:0;

print fmt: "dfd: 0x%08lx, filename: 0x%08lx, flags: 0x%08lx, mode: 0x%08lx", ((unsigned long)(REC->dfd)), ((unsigned long)(REC->filename)), ((unsigned long)(REC->flags)), ((unsigned long)(REC->mode))
"#;

    const SYS_EXIT_OPENAT: &str = r#"name: sys_exit_openat
ID: 781
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:long ret;	offset:16;	size:8;	signed:1;

print fmt: "0x%lx", REC->ret
"#;

    const SYS_ENTER_EXECVE: &str = r#"name: sys_enter_execve
ID: 862
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:int __syscall_nr;	offset:8;	size:4;	signed:1;
	field:const char * filename;	offset:16;	size:8;	signed:0;
	field:const char *const * argv;	offset:24;	size:8;	signed:0;
	field:const char *const * envp;	offset:32;	size:8;	signed:0;

print fmt: "filename: 0x%08lx, argv: 0x%08lx, envp: 0x%08lx", ((unsigned long)(REC->filename)), ((unsigned long)(REC->argv)), ((unsigned long)(REC->envp))
"#;

    const SCHED_PROCESS_FORK: &str = r#"name: sched_process_fork
ID: 366
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] parent_comm;	offset:8;	size:4;	signed:0;
	field:pid_t parent_pid;	offset:12;	size:4;	signed:1;
	field:__data_loc char[] child_comm;	offset:16;	size:4;	signed:0;
	field:pid_t child_pid;	offset:20;	size:4;	signed:1;

print fmt: "comm=%s pid=%d child_comm=%s child_pid=%d", __get_str(parent_comm), REC->parent_pid, __get_str(child_comm), REC->child_pid
"#;

    const SCHED_PROCESS_EXEC: &str = r#"name: sched_process_exec
ID: 365
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:__data_loc char[] filename;	offset:8;	size:4;	signed:0;
	field:pid_t pid;	offset:12;	size:4;	signed:1;
	field:pid_t old_pid;	offset:16;	size:4;	signed:1;

print fmt: "filename=%s pid=%d old_pid=%d", __get_str(filename), REC->pid, REC->old_pid
"#;

    const SCHED_PROCESS_EXIT: &str = r#"name: sched_process_exit
ID: 369
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:char comm[16];	offset:8;	size:16;	signed:0;
	field:pid_t pid;	offset:24;	size:4;	signed:1;
	field:int prio;	offset:28;	size:4;	signed:1;
	field:bool group_dead;	offset:32;	size:1;	signed:0;

print fmt: "comm=%s pid=%d prio=%d group_dead=%s", REC->comm, REC->pid, REC->prio, REC->group_dead ? "true" : "false"
"#;

    const INET_SOCK_SET_STATE: &str = r#"name: inet_sock_set_state
ID: 2287
format:
	field:unsigned short common_type;	offset:0;	size:2;	signed:0;
	field:unsigned char common_flags;	offset:2;	size:1;	signed:0;
	field:unsigned char common_preempt_count;	offset:3;	size:1;	signed:0;
	field:int common_pid;	offset:4;	size:4;	signed:1;

	field:const void * skaddr;	offset:8;	size:8;	signed:0;
	field:int oldstate;	offset:16;	size:4;	signed:1;
	field:int newstate;	offset:20;	size:4;	signed:1;
	field:__u16 sport;	offset:24;	size:2;	signed:0;
	field:__u16 dport;	offset:26;	size:2;	signed:0;
	field:__u16 family;	offset:28;	size:2;	signed:0;
	field:__u16 protocol;	offset:30;	size:2;	signed:0;
	field:__u8 saddr[4];	offset:32;	size:4;	signed:0;
	field:__u8 daddr[4];	offset:36;	size:4;	signed:0;
	field:__u8 saddr_v6[16];	offset:40;	size:16;	signed:0;
	field:__u8 daddr_v6[16];	offset:56;	size:16;	signed:0;

print fmt: "family=%s protocol=%s sport=%hu dport=%hu saddr=%pI4 daddr=%pI4 saddrv6=%pI6c daddrv6=%pI6c oldstate=%s newstate=%s", __print_symbolic(REC->family, { 2, "AF_INET" }, { 10, "AF_INET6" }), __print_symbolic(REC->protocol, { 6, "IPPROTO_TCP" }, { 132, "IPPROTO_SCTP" }, { 262, "IPPROTO_MPTCP" }), REC->sport, REC->dport, REC->saddr, REC->daddr, REC->saddr_v6, REC->daddr_v6, __print_symbolic(REC->oldstate, { 1, "TCP_ESTABLISHED" }, { 2, "TCP_SYN_SENT" }, { 3, "TCP_SYN_RECV" }, { 4, "TCP_FIN_WAIT1" }, { 5, "TCP_FIN_WAIT2" }, { 6, "TCP_TIME_WAIT" }, { 7, "TCP_CLOSE" }, { 8, "TCP_CLOSE_WAIT" }, { 9, "TCP_LAST_ACK" }, { 10, "TCP_LISTEN" }, { 11, "TCP_CLOSING" }, { 12, "TCP_NEW_SYN_RECV" }), __print_symbolic(REC->newstate, { 1, "TCP_ESTABLISHED" }, { 2, "TCP_SYN_SENT" }, { 3, "TCP_SYN_RECV" }, { 4, "TCP_FIN_WAIT1" }, { 5, "TCP_FIN_WAIT2" }, { 6, "TCP_TIME_WAIT" }, { 7, "TCP_CLOSE" }, { 8, "TCP_CLOSE_WAIT" }, { 9, "TCP_LAST_ACK" }, { 10, "TCP_LISTEN" }, { 11, "TCP_CLOSING" }, { 12, "TCP_NEW_SYN_RECV" })
"#;

    // Hand-written in the classic (pre-6.x) layout, where the comms were inline
    // arrays instead of `__data_loc` strings.
    const OLD_SCHED_PROCESS_FORK: &str = "name: sched_process_fork
ID: 314
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char parent_comm[16];\toffset:8;\tsize:16;\tsigned:1;
\tfield:pid_t parent_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:char child_comm[16];\toffset:28;\tsize:16;\tsigned:1;
\tfield:pid_t child_pid;\toffset:44;\tsize:4;\tsigned:1;

print fmt: \"comm=%s pid=%d child_comm=%s child_pid=%d\", REC->parent_comm, REC->parent_pid, REC->child_comm, REC->child_pid
";

    /// (field, type_decl, offset, size, signed, data_loc)
    type Expected = (&'static str, &'static str, u16, u16, bool, bool);

    struct Case {
        text: &'static str,
        name: &'static str,
        id: u32,
        field_count: usize,
        expected: &'static [Expected],
    }

    const CASES: &[Case] = &[
        Case {
            text: SYS_ENTER_OPENAT,
            name: "sys_enter_openat",
            id: 782,
            field_count: 9,
            expected: &[
                ("__syscall_nr", "int", 8, 4, true, false),
                ("dfd", "int", 16, 8, false, false),
                ("filename", "const char *", 24, 8, false, false),
                ("flags", "int", 32, 8, false, false),
                ("mode", "umode_t", 40, 8, false, false),
            ],
        },
        Case {
            text: SYS_EXIT_OPENAT,
            name: "sys_exit_openat",
            id: 781,
            field_count: 6,
            expected: &[("ret", "long", 16, 8, true, false)],
        },
        Case {
            text: SYS_ENTER_EXECVE,
            name: "sys_enter_execve",
            id: 862,
            field_count: 8,
            expected: &[
                ("filename", "const char *", 16, 8, false, false),
                ("argv", "const char *const *", 24, 8, false, false),
                ("envp", "const char *const *", 32, 8, false, false),
            ],
        },
        Case {
            text: SCHED_PROCESS_FORK,
            name: "sched_process_fork",
            id: 366,
            field_count: 8,
            expected: &[
                ("parent_comm", "__data_loc char[]", 8, 4, false, true),
                ("parent_pid", "pid_t", 12, 4, true, false),
                ("child_comm", "__data_loc char[]", 16, 4, false, true),
                ("child_pid", "pid_t", 20, 4, true, false),
            ],
        },
        Case {
            text: OLD_SCHED_PROCESS_FORK,
            name: "sched_process_fork",
            id: 314,
            field_count: 8,
            expected: &[
                ("parent_comm", "char[16]", 8, 16, true, false),
                ("parent_pid", "pid_t", 24, 4, true, false),
                ("child_comm", "char[16]", 28, 16, true, false),
                ("child_pid", "pid_t", 44, 4, true, false),
            ],
        },
        Case {
            text: SCHED_PROCESS_EXEC,
            name: "sched_process_exec",
            id: 365,
            field_count: 7,
            expected: &[
                ("filename", "__data_loc char[]", 8, 4, false, true),
                ("pid", "pid_t", 12, 4, true, false),
                ("old_pid", "pid_t", 16, 4, true, false),
            ],
        },
        Case {
            text: SCHED_PROCESS_EXIT,
            name: "sched_process_exit",
            id: 369,
            field_count: 8,
            expected: &[
                ("comm", "char[16]", 8, 16, false, false),
                ("pid", "pid_t", 24, 4, true, false),
                ("prio", "int", 28, 4, true, false),
                ("group_dead", "bool", 32, 1, false, false),
            ],
        },
        Case {
            text: INET_SOCK_SET_STATE,
            name: "inet_sock_set_state",
            id: 2287,
            field_count: 15,
            expected: &[
                ("skaddr", "const void *", 8, 8, false, false),
                ("oldstate", "int", 16, 4, true, false),
                ("newstate", "int", 20, 4, true, false),
                ("sport", "__u16", 24, 2, false, false),
                ("dport", "__u16", 26, 2, false, false),
                ("family", "__u16", 28, 2, false, false),
                ("protocol", "__u16", 30, 2, false, false),
                ("saddr", "__u8[4]", 32, 4, false, false),
                ("daddr", "__u8[4]", 36, 4, false, false),
                ("saddr_v6", "__u8[16]", 40, 16, false, false),
                ("daddr_v6", "__u8[16]", 56, 16, false, false),
            ],
        },
    ];

    /// Every tracepoint starts with the same common header.
    const COMMON: &[Expected] = &[
        ("common_type", "unsigned short", 0, 2, false, false),
        ("common_flags", "unsigned char", 2, 1, false, false),
        ("common_preempt_count", "unsigned char", 3, 1, false, false),
        ("common_pid", "int", 4, 4, true, false),
    ];

    #[test]
    fn parses_real_formats() {
        for case in CASES {
            let format = parse_format(case.text)
                .unwrap_or_else(|e| panic!("{} ({}): {e}", case.name, case.id));
            assert_eq!(format.name, case.name);
            assert_eq!(format.id, case.id, "{}", case.name);
            assert_eq!(format.fields.len(), case.field_count, "{}", case.name);
            for &(field, type_decl, offset, size, signed, data_loc) in
                COMMON.iter().chain(case.expected)
            {
                let expected = FormatField {
                    name: field.to_owned(),
                    type_decl: type_decl.to_owned(),
                    offset,
                    size,
                    signed,
                    data_loc,
                };
                assert_eq!(
                    format.field(field),
                    Some(&expected),
                    "{} {}",
                    case.name,
                    case.id
                );
            }
        }
    }

    #[test]
    fn fields_keep_file_order() {
        let format = parse_format(SCHED_PROCESS_FORK).expect("parses");
        let names: Vec<_> = format.fields.iter().map(|f| f.name.as_str()).collect();
        assert_eq!(
            names,
            [
                "common_type",
                "common_flags",
                "common_preempt_count",
                "common_pid",
                "parent_comm",
                "parent_pid",
                "child_comm",
                "child_pid",
            ]
        );
    }

    #[test]
    fn require_names_tracepoint_and_field() {
        let format = parse_format(SCHED_PROCESS_EXIT).expect("parses");
        assert_eq!(format.require("pid").map(|f| f.offset), Ok(24));
        let err = format.require("parent_comm").expect_err("no such field");
        assert_eq!(
            err,
            FormatError::MissingField {
                tracepoint: "sched_process_exit".into(),
                field: "parent_comm".into(),
            }
        );
        assert_eq!(
            err.to_string(),
            "tracepoint sched_process_exit has no field `parent_comm` on this kernel"
        );
        assert_eq!(format.field("nope"), None);
    }

    #[test]
    fn splits_declarations() {
        let cases: &[(&str, Option<(&str, &str)>)] = &[
            (
                "unsigned short common_type",
                Some(("common_type", "unsigned short")),
            ),
            (
                "__data_loc char[] filename",
                Some(("filename", "__data_loc char[]")),
            ),
            ("char comm[16]", Some(("comm", "char[16]"))),
            ("char comm [16]", Some(("comm", "char[16]"))),
            ("const char * filename", Some(("filename", "const char *"))),
            (
                "const char *const * argv",
                Some(("argv", "const char *const *")),
            ),
            ("const void *skaddr", Some(("skaddr", "const void *"))),
            (
                "__u8 saddr[sizeof(struct sockaddr_in6)]",
                Some(("saddr", "__u8[sizeof(struct sockaddr_in6)]")),
            ),
            ("int grid[2][3]", Some(("grid", "int[2][3]"))),
            ("  pid_t pid  ", Some(("pid", "pid_t"))),
            ("", None),
            ("int", None),
            ("[16]", None),
            ("char comm[16", None),
            ("char comm16]", None),
            ("int 3x", None),
            ("int é", None),
        ];
        for &(decl, expected) in cases {
            let got = split_declaration(decl);
            let got = got.as_ref().map(|(n, t)| (n.as_str(), t.as_str()));
            assert_eq!(got, expected, "{decl:?}");
        }
    }

    const HEADER: &str = "name: test_event\nID: 42\nformat:\n";

    #[test]
    fn malformed_formats() {
        let field_line = |s: &str| format!("{HEADER}{s}\n\nprint fmt: \"\"\n");
        let cases: Vec<(String, FormatError)> = vec![
            (String::new(), FormatError::Empty),
            (" \n\t\n".into(), FormatError::Empty),
            (
                field_line("\tfield:int pid;\tsize:4;\tsigned:1;"),
                FormatError::MissingAttribute {
                    line: 4,
                    key: "offset",
                },
            ),
            (
                field_line("\tfield:int pid;\toffset:8;\tsigned:1;"),
                FormatError::MissingAttribute {
                    line: 4,
                    key: "size",
                },
            ),
            (
                field_line("\tfield:int pid;\toffset:8;\tsize:abc;\tsigned:1;"),
                FormatError::InvalidNumber {
                    line: 4,
                    key: "size",
                    value: "abc".into(),
                },
            ),
            (
                field_line("\tfield:int pid;\toffset:70000;\tsize:4;\tsigned:1;"),
                FormatError::InvalidNumber {
                    line: 4,
                    key: "offset",
                    value: "70000".into(),
                },
            ),
            (
                field_line("\tfield:int pid;\toffset:-1;\tsize:4;\tsigned:1;"),
                FormatError::InvalidNumber {
                    line: 4,
                    key: "offset",
                    value: "-1".into(),
                },
            ),
            (
                field_line("\tfield:int pid;\toffset:8;\tsize:4;\tsigned:yes;"),
                FormatError::InvalidNumber {
                    line: 4,
                    key: "signed",
                    value: "yes".into(),
                },
            ),
            (
                field_line("\tfield:int;\toffset:8;\tsize:4;\tsigned:1;"),
                FormatError::MalformedField {
                    line: 4,
                    text: "int;\toffset:8;\tsize:4;\tsigned:1;".into(),
                },
            ),
            (
                field_line("\tfield:int pid;\toffset 8;\tsize:4;\tsigned:1;"),
                FormatError::MalformedField {
                    line: 4,
                    text: "int pid;\toffset 8;\tsize:4;\tsigned:1;".into(),
                },
            ),
            (
                "ID: 42\nformat:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n".into(),
                FormatError::MissingHeader { key: "name" },
            ),
            (
                "name: test_event\nformat:\n\tfield:int pid;\toffset:8;\tsize:4;\tsigned:1;\n"
                    .into(),
                FormatError::MissingHeader { key: "ID" },
            ),
            (
                "name: test_event\nID: x1\nformat:\n".into(),
                FormatError::InvalidNumber {
                    line: 2,
                    key: "ID",
                    value: "x1".into(),
                },
            ),
            (
                format!("{HEADER}\nprint fmt: \"field:int pid;\toffset:8;\tsize:4;\"\n"),
                FormatError::NoFields {
                    name: "test_event".into(),
                },
            ),
        ];
        for (text, expected) in cases {
            assert_eq!(parse_format(&text), Err(expected), "{text:?}");
        }
    }

    #[test]
    fn lenient_where_old_or_new_kernels_differ() {
        // No `signed:` (pre-2.6.32), `field special:` (pre-3.x), an unknown
        // attribute, and CRLF line ends must all still parse.
        let text = "name: old\r\nID: 7\r\nformat:\r\n\
            \tfield special:unsigned long ip;\toffset:8;\tsize:8;\r\n\
            \tfield:int pid;\toffset:16;\tsize:4;\tsigned:1;\tfuture:3;\r\n\
            print fmt: \"field:bogus\"\r\n";
        let format = parse_format(text).expect("parses");
        assert_eq!(format.id, 7);
        let ip = format.require("ip").expect("ip");
        assert_eq!((ip.offset, ip.size, ip.signed), (8, 8, false));
        assert_eq!(format.require("pid").map(|f| f.offset), Ok(16));
        assert_eq!(format.fields.len(), 2);
    }

    #[test]
    fn error_messages_are_one_clear_line() {
        let err = FormatError::InvalidNumber {
            line: 5,
            key: "size",
            value: "abc".into(),
        };
        assert_eq!(
            err.to_string(),
            "line 5: `size:` value \"abc\" is not a valid number"
        );
        let err = TracefsError::NotMountable {
            source: io::Error::from_raw_os_error(libc::EPERM),
        };
        assert!(
            err.to_string()
                .contains("run `mount -t tracefs tracefs /sys/kernel/tracing` as root"),
            "{err}"
        );
        let err = TracefsError::MissingTracepoint {
            category: "sched".into(),
            name: "nope".into(),
        };
        assert_eq!(
            err.to_string(),
            "tracepoint sched/nope does not exist on this kernel"
        );
        for err in [
            err.to_string(),
            TracefsError::Io {
                path: "/x/format".into(),
                source: io::Error::from_raw_os_error(libc::EACCES),
            }
            .to_string(),
        ] {
            assert!(!err.contains('\n'), "{err}");
        }
    }

    fn fake_tracefs(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("tempdir");
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().expect("has parent")).expect("mkdir");
            std::fs::write(&path, text).expect("write");
        }
        dir
    }

    #[test]
    fn reads_formats_from_a_tracefs_tree() {
        let dir = fake_tracefs(&[
            ("events/sched/sched_process_fork/format", SCHED_PROCESS_FORK),
            (
                "events/sched/broken/format",
                "name: broken\nID: 1\nformat:\n\tfield:int x;\tsize:4;\n",
            ),
        ]);
        std::fs::create_dir_all(dir.path().join("events/sched/dir_format/format")).expect("mkdir");
        let tracefs = Tracefs::new(dir.path());

        let fork = tracefs.format("sched", "sched_process_fork").expect("fork");
        assert_eq!(fork.require("child_pid").map(|f| f.offset), Ok(20));

        for (category, name) in [
            ("sched", "nope"),
            ("nope", "sched_process_fork"),
            ("..", "sched"),
            ("sched", ""),
            ("sched/..", "x"),
        ] {
            match tracefs.format(category, name) {
                Err(TracefsError::MissingTracepoint {
                    category: c,
                    name: n,
                }) => {
                    assert_eq!((c.as_str(), n.as_str()), (category, name));
                }
                other => panic!("{category}/{name}: {other:?}"),
            }
        }
        match tracefs.format("sched", "broken") {
            Err(TracefsError::Format { path, source }) => {
                assert!(
                    path.ends_with("events/sched/broken/format"),
                    "{}",
                    path.display()
                );
                assert_eq!(
                    source,
                    FormatError::MissingAttribute {
                        line: 4,
                        key: "offset"
                    }
                );
            }
            other => panic!("{other:?}"),
        }
        match tracefs.format("sched", "dir_format") {
            Err(TracefsError::Io { path, .. }) => assert!(path.ends_with("dir_format/format")),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn find_root_takes_first_with_events() {
        let a = tempfile::tempdir().expect("tempdir");
        let b = fake_tracefs(&[("events/header_page", "")]);
        let c = fake_tracefs(&[("events/header_page", "")]);
        assert_eq!(find_root(&[a.path()]), None);
        assert_eq!(
            find_root(&[a.path(), b.path(), c.path()]),
            Some(b.path().to_path_buf())
        );
        assert_eq!(
            find_root(&[c.path(), b.path()]),
            Some(c.path().to_path_buf())
        );
    }

    /// Reads the real tracefs. Needs root (it may mount tracefs); skipped otherwise.
    #[test]
    fn live_tracefs() {
        if !nix::unistd::geteuid().is_root() {
            eprintln!("live_tracefs: skipped, not root");
            return;
        }
        let root = match ensure_mounted() {
            Ok(root) => root,
            Err(err @ TracefsError::NotMountable { .. }) => {
                eprintln!("live_tracefs: skipped, {err}");
                return;
            }
            Err(err) => panic!("{err}"),
        };
        let tracefs = Tracefs::new(root);
        let openat = tracefs
            .format("syscalls", "sys_enter_openat")
            .expect("sys_enter_openat");
        assert_eq!(openat.name, "sys_enter_openat");
        assert!(openat.require("filename").is_ok());
        assert!(openat.require("flags").is_ok());
        assert!(matches!(
            tracefs.format("syscalls", "sys_enter_no_such_call"),
            Err(TracefsError::MissingTracepoint { .. })
        ));
    }
}
