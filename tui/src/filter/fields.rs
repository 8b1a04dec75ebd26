//! The filter's fields: the one table the parser, `--help`, the TUI's filter prompt and the
//! README's list are all checked against.

/// What follows a field name decides which operators and values make sense.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Field {
    Pid,
    Ppid,
    Tree,
    Comm,
    Uid,
    Type,
    Path,
    Unix,
    Query,
    Cgroup,
    Unit,
    Container,
    Addr,
    Port,
    Ret,
    Error,
    ExitCode,
    Signal,
    Sig,
    Host,
}

impl Field {
    pub(super) const ALL: [Field; 20] = [
        Field::Pid,
        Field::Ppid,
        Field::Tree,
        Field::Comm,
        Field::Uid,
        Field::Type,
        Field::Path,
        Field::Unix,
        Field::Query,
        Field::Cgroup,
        Field::Unit,
        Field::Container,
        Field::Addr,
        Field::Port,
        Field::Ret,
        Field::Error,
        Field::ExitCode,
        Field::Signal,
        Field::Sig,
        Field::Host,
    ];

    /// The name typed in an expression.
    pub(super) const fn name(self) -> &'static str {
        match self {
            Field::Pid => "pid",
            Field::Ppid => "ppid",
            Field::Tree => "tree",
            Field::Comm => "comm",
            Field::Uid => "uid",
            Field::Type => "type",
            Field::Path => "path",
            Field::Unix => "unix",
            Field::Query => "query",
            Field::Cgroup => "cgroup",
            Field::Unit => "unit",
            Field::Container => "container",
            Field::Addr => "addr",
            Field::Port => "port",
            Field::Ret => "ret",
            Field::Error => "error",
            Field::ExitCode => "exit_code",
            Field::Signal => "signal",
            Field::Sig => "sig",
            Field::Host => "host",
        }
    }

    /// What it matches, in a few words for `--help`.
    pub(super) const fn about(self) -> &'static str {
        match self {
            Field::Pid => "process id",
            Field::Ppid => "parent's process id",
            Field::Tree => "a pid and all its descendants",
            Field::Comm => "command name",
            Field::Uid => "user id",
            Field::Type => "event type, or files, network, process",
            Field::Path => "any path an event names, as given or absolute",
            Field::Unix => "a unix socket's path (@name when abstract)",
            Field::Query => "the name a DNS query asked for",
            Field::Cgroup => "cgroup path",
            Field::Unit => "systemd unit",
            Field::Container => "container id",
            Field::Addr => "an IP or CIDR at either end of a connection",
            Field::Port => "a port at either end",
            Field::Ret => "the system call's result",
            Field::Error => "the errno name of a failure, e.g. ENOENT",
            Field::ExitCode => "an exit's code",
            Field::Signal => "the signal that killed a process, or a signal event's",
            Field::Sig => "a signal event's signal (or an exit's), e.g. SIGTERM or 15",
            Field::Host => "the --host label an event came from",
        }
    }

    pub(super) fn from_name(name: &str) -> Option<Field> {
        let name = name.to_ascii_lowercase();
        Self::ALL.into_iter().find(|field| field.name() == name)
    }
}

/// Every field name, in the table's order.
#[cfg(test)]
pub fn names() -> impl Iterator<Item = &'static str> {
    Field::ALL.into_iter().map(Field::name)
}

/// The language in a few lines, for `--filter`'s help.
pub fn syntax_help() -> String {
    let fields: Vec<String> = Field::ALL
        .into_iter()
        .map(|field| format!("  {:<10} {}", field.name(), field.about()))
        .collect();
    format!(
        "A filter expression, e.g. 'tree=4242 and (type=open or type=connect) and ret<0'. Its \
         pid, tree, comm, cgroup, unit and container parts are enforced in the kernel.\n\n\
         Fields:\n{}\n\n\
         Operators: = != ~ (substring, or a glob with * ?) < > <= >=; combined with and, or, \
         not and ( ). Values are bare words or \"quoted\".",
        fields.join("\n")
    )
}
