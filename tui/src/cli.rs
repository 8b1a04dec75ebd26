//! The command line. Doc comments here are the `--help` text.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::model::EventKind;

const EXAMPLES: &str = "\
Examples:
  sudo ringside                                 the TUI: events, processes, stacks
  sudo ringside --filter 'comm=nginx and ret<0' the TUI, only nginx's failures
  sudo ringside --json                          every event as NDJSON until Ctrl-C
  sudo ringside --json --duration 10 > ev.ndjson
  sudo ringside --json --pid 4242 --tree        a process and all its descendants
  sudo ringside --json --comm nginx --events connect,accept,tcp_close
  sudo ringside --json --events exec | jq -r 'select(.ret < 0) | .filename'
  sudo ringside --json --events open --stacks none   lowest overhead, no stacks
  sudo ringside record -o incident.rsrec --comm nginx
  ringside replay incident.rsrec                 the same TUI, on the recording
  ringside replay incident.rsrec --json | jq .   the same NDJSON as live --json

ringside needs root (CAP_BPF and CAP_PERFMON) to load its kernel probes.";

#[derive(Debug, Parser)]
#[command(name = "ringside", version = crate::version::LONG, about, after_help = EXAMPLES)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Option<Command>,

    #[command(flatten)]
    pub select: SelectArgs,

    #[command(flatten)]
    pub trace: TraceArgs,

    #[command(flatten)]
    pub show: ShowArgs,

    /// With --json: how long an event waits for its stacks' symbols before it is written with
    /// bare addresses (counted as timed_out in the summary).
    #[arg(long, value_name = "MS", default_value_t = 100,
          value_parser = clap::value_parser!(u64).range(1..=60_000))]
    pub symbol_wait: u64,

    #[command(flatten)]
    pub fleet: FleetArgs,

    #[command(flatten)]
    pub otlp: OtlpArgs,

    /// Where logs go [default: $XDG_STATE_HOME/ringside/ringside.log].
    #[arg(global = true, long, value_name = "PATH")]
    pub log_file: Option<PathBuf>,
}

/// Events to an OpenTelemetry collector (docs/otlp.md).
#[derive(Debug, Args, Default)]
pub struct OtlpArgs {
    /// Export every event as an OTLP log record, with its stacks, to this collector (a base
    /// endpoint: the logs go to URL/v1/logs); without URL, OTEL_EXPORTER_OTLP_ENDPOINT or
    /// http://localhost:4318. No TUI: until Ctrl-C or --duration, beside --json if given.
    #[arg(long, value_name = "URL", num_args = 0..=1, default_missing_value = "")]
    pub otlp: Option<String>,

    /// A header sent with every export, e.g. 'Authorization=Bearer …' (repeatable; over
    /// OTEL_EXPORTER_OTLP_HEADERS).
    #[arg(long, value_name = "NAME=VALUE", requires = "otlp")]
    pub otlp_header: Vec<String>,

    /// http/protobuf (the default) or grpc; over OTEL_EXPORTER_OTLP_PROTOCOL.
    #[arg(long, value_name = "PROTOCOL", requires = "otlp",
          value_parser = ["http/protobuf", "grpc"])]
    pub otlp_protocol: Option<String>,

    /// gzip or none; over OTEL_EXPORTER_OTLP_COMPRESSION.
    #[arg(long, value_name = "WHICH", requires = "otlp", value_parser = ["gzip", "none"])]
    pub otlp_compression: Option<String>,

    /// The most memory queued records take while the collector is slow or away, e.g. 64MiB
    /// [default: 64MiB]; past it records are dropped and counted.
    #[arg(long, value_name = "SIZE", requires = "otlp",
          value_parser = crate::otlp::config::parse_size)]
    pub otlp_queue: Option<usize>,

    /// With --otlp: keep the TUI open while exporting (the status bar counts what went out).
    #[arg(long, requires = "otlp", conflicts_with = "json")]
    pub tui: bool,
}

impl OtlpArgs {
    /// The flags for [`crate::otlp::config::OtlpConfig::resolve`]; `None` without `--otlp`.
    pub fn flags(&self) -> Option<crate::otlp::config::OtlpFlags> {
        let endpoint = self.otlp.as_ref()?;
        Some(crate::otlp::config::OtlpFlags {
            endpoint: (!endpoint.is_empty()).then(|| endpoint.clone()),
            protocol: self.otlp_protocol.clone(),
            headers: self.otlp_header.clone(),
            compression: self.otlp_compression.clone(),
            queue_bytes: self.otlp_queue,
        })
    }
}

/// Many servers in one view, over ssh (docs/fleet.md).
#[derive(Debug, Args, Default)]
pub struct FleetArgs {
    /// Watch this server too, over ssh: `[LABEL=]DESTINATION`, DESTINATION as ssh takes it
    /// (`web1`, `root@db`, `ssh://root@db:2222`; `local` for this machine). Repeatable.
    #[arg(long = "host", value_name = "[LABEL=]DEST",
          value_parser = crate::fleet::HostSpec::parse)]
    pub hosts: Vec<crate::fleet::HostSpec>,

    /// A file with one `[LABEL=]DESTINATION` a line.
    #[arg(long, value_name = "FILE")]
    pub hosts_file: Option<PathBuf>,

    /// Passed to ssh as `-F FILE`.
    #[arg(long, value_name = "FILE")]
    pub ssh_config: Option<PathBuf>,

    /// Passed to ssh as `-o OPT` (repeatable).
    #[arg(long, value_name = "OPT")]
    pub ssh_option: Vec<String>,

    /// The ringside binary on the remote hosts.
    #[arg(long, value_name = "PATH", default_value = "ringside")]
    pub remote_path: String,

    /// Copy this (static) ringside to each host, into ~/.cache/ringside/, and run that copy;
    /// a copy already there is reused.
    #[arg(long, conflicts_with = "remote_path")]
    pub install: bool,
}

/// Which events: every mode, live or replayed, takes a filter expression.
#[derive(Debug, Args, Default)]
pub struct SelectArgs {
    /// A filter expression, e.g. 'tree=4242 and (type=open or type=connect) and ret<0'.
    #[arg(long, value_name = "EXPR", long_help = crate::filter::syntax_help())]
    pub filter: Option<String>,
}

/// What the probes trace, and for how long: the live modes (the TUI, --json, the exports,
/// `record`).
#[derive(Debug, Args)]
pub struct TraceArgs {
    /// Stop after this many seconds.
    #[arg(long, value_name = "SECS", value_parser = parse_duration)]
    pub duration: Option<std::time::Duration>,

    /// Only events of this process (repeatable). Enforced in the kernel.
    #[arg(long, value_name = "PID", value_parser = clap::value_parser!(u32).range(1..))]
    pub pid: Vec<u32>,

    /// With --pid: also every descendant, including ones born later.
    #[arg(long, requires = "pid")]
    pub tree: bool,

    /// Only events of processes in this cgroup or below it: its path below the cgroup2 mount,
    /// e.g. /system.slice/nginx.service (repeatable). Enforced in the kernel.
    #[arg(long, value_name = "PATH")]
    pub cgroup: Vec<String>,

    /// Only events of this systemd unit, e.g. nginx.service (repeatable). Enforced in the kernel.
    #[arg(long, value_name = "NAME")]
    pub unit: Vec<String>,

    /// Only events of this container: its id, or a prefix of 12 or more hex digits
    /// (repeatable). Enforced in the kernel.
    #[arg(long, value_name = "ID", value_parser = parse_container)]
    pub container: Vec<String>,

    /// Only events of processes with this command name (repeatable; the kernel keeps 15 bytes).
    #[arg(long, value_name = "NAME", value_parser = parse_comm)]
    pub comm: Vec<String>,

    /// Event types to report, comma-separated [all by default].
    #[arg(long, value_name = "TYPES", value_delimiter = ',', value_parser = kind_parser())]
    pub events: Vec<EventKind>,

    /// Stacks to capture with every event: user, kernel, both (user,kernel) or none.
    #[arg(
        long,
        value_name = "WHICH",
        value_delimiter = ',',
        default_value = "user,kernel",
        value_parser = ["user", "kernel", "none"]
    )]
    pub stacks: Vec<String>,

    /// Bytes of each user stack copied with its registers, for unwinding code built without frame
    /// pointers with its unwind tables (.eh_frame); 0 follows frame pointers only. Up to 64K.
    #[arg(long, value_name = "BYTES", default_value = DEFAULT_STACK_BYTES,
          value_parser = parse_stack_bytes)]
    pub stack_bytes: u32,

    /// The longest an event waits in the kernel ring before ringside reads it, in milliseconds.
    /// The probes do not wake ringside for each event (on a VM every wakeup is an exit to the
    /// hypervisor): ringside reads the ring this often, and at once when an eighth of it fills.
    #[arg(long, value_name = "MS", default_value_t = 10,
          value_parser = clap::value_parser!(u64).range(1..=1000))]
    pub max_delay: u64,

    /// Size of the kernel ring buffer: a power of two from 64K to 1G (K, M, G suffixes).
    #[arg(long, value_name = "BYTES", default_value = "16M", value_parser = parse_ring_size)]
    pub ring_size: u32,

    /// At exit, write what the run measured (delivered and dropped per type, kernel-to-decode
    /// latency, TUI frame times, first-event time, peak memory, symbolizer counters) as JSON.
    #[arg(long, value_name = "PATH")]
    pub stats_file: Option<PathBuf>,
}

/// How events are shown: live or replayed (not `record`, which only writes its file).
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Events the TUI keeps; the oldest go first.
    #[arg(long, value_name = "N", default_value_t = 1_000_000,
          value_parser = clap::value_parser!(u64).range(1_000..=100_000_000))]
    pub max_events: u64,

    /// Write one JSON object per event to stdout (no TUI), until Ctrl-C or --duration.
    #[arg(long)]
    pub json: bool,

    /// Print folded stacks to stdout at the end (no TUI): one line per distinct stack,
    /// `comm;outermost;...;innermost;type count`, for flamegraph.pl and inferno. Live (until
    /// --duration or Ctrl-C) or with `replay`; honours --filter.
    #[arg(long)]
    pub folded: bool,

    /// Write an SVG flame graph of the events' stacks to this file at the end (no TUI).
    #[arg(long, value_name = "OUT.svg")]
    pub flamegraph: Option<PathBuf>,

    /// Write a gzipped pprof profile of the events' stacks to this file at the end (no TUI),
    /// for `go tool pprof` and Grafana Pyroscope: one sample per event.
    #[arg(long, value_name = "OUT.pb.gz")]
    pub pprof: Option<PathBuf>,
}

/// Flags that may come before `record` as well as after it: the hosts it records from.
const FLEET_IDS: [&str; 6] = [
    "hosts",
    "hosts_file",
    "ssh_config",
    "ssh_option",
    "remote_path",
    "install",
];

impl Cli {
    /// Parses the command line, or exits with clap's message. A live-mode flag typed before
    /// a subcommand (`ringside --pid 5 record`) would be silently ignored: it is refused,
    /// saying where it goes.
    pub fn parse_args() -> Cli {
        match Self::try_parse_args(std::env::args_os()) {
            Ok(cli) => cli,
            Err(error) => error.exit(),
        }
    }

    pub fn try_parse_args(
        args: impl IntoIterator<Item = impl Into<std::ffi::OsString> + Clone>,
    ) -> Result<Cli, clap::Error> {
        use clap::{CommandFactory as _, FromArgMatches as _};
        let mut command = Cli::command();
        let matches = command.try_get_matches_from_mut(args)?;
        if let Some((name, _)) = matches.subcommand() {
            let misplaced = command.get_arguments().find(|arg| {
                let id = arg.get_id().as_str();
                let allowed = arg.is_global_set() || (name == "record" && FLEET_IDS.contains(&id));
                !allowed && matches.value_source(id) == Some(clap::parser::ValueSource::CommandLine)
            });
            if let Some(arg) = misplaced {
                let flag = format!("--{}", arg.get_long().unwrap_or(arg.get_id().as_str()));
                let takes_it = command
                    .find_subcommand(name)
                    .is_some_and(|sub| sub.get_arguments().any(|a| a.get_id() == arg.get_id()));
                if !takes_it {
                    return Err(command.error(
                        clap::error::ErrorKind::ArgumentConflict,
                        format!("{flag} does not apply to `ringside {name}`"),
                    ));
                }
                return Err(command.error(
                    clap::error::ErrorKind::ArgumentConflict,
                    format!("{flag} goes after the subcommand: ringside {name} {flag} ..."),
                ));
            }
        }
        Cli::from_arg_matches(&matches)
    }
}

impl FleetArgs {
    /// These, with `before`'s (typed before the subcommand) where these say nothing.
    pub fn after(self, before: &FleetArgs) -> FleetArgs {
        let mut hosts = before.hosts.clone();
        hosts.extend(self.hosts);
        let mut ssh_option = before.ssh_option.clone();
        ssh_option.extend(self.ssh_option);
        FleetArgs {
            hosts,
            hosts_file: self.hosts_file.or_else(|| before.hosts_file.clone()),
            ssh_config: self.ssh_config.or_else(|| before.ssh_config.clone()),
            ssh_option,
            remote_path: if self.remote_path == "ringside" {
                before.remote_path.clone()
            } else {
                self.remote_path
            },
            install: self.install || before.install,
        }
    }
}

impl TraceArgs {
    /// The same choices as arguments, for a remote `ringside stream`.
    pub fn to_args(&self) -> Vec<String> {
        let mut args = Vec::new();
        let mut flag = |name: &str, value: String| {
            args.push(format!("--{name}"));
            args.push(value);
        };
        for pid in &self.pid {
            flag("pid", pid.to_string());
        }
        for (name, values) in [
            ("cgroup", &self.cgroup),
            ("unit", &self.unit),
            ("container", &self.container),
            ("comm", &self.comm),
        ] {
            for value in values {
                flag(name, value.clone());
            }
        }
        if !self.events.is_empty() {
            let names: Vec<&str> = self.events.iter().map(|kind| kind.name()).collect();
            flag("events", names.join(","));
        }
        flag("stacks", self.stacks.join(","));
        flag("stack-bytes", self.stack_bytes.to_string());
        flag("max-delay", self.max_delay.to_string());
        flag("ring-size", self.ring_size.to_string());
        if self.tree {
            args.push("--tree".into());
        }
        args
    }

    /// Bytes of user stack the probes copy: none unless user stacks are captured.
    pub fn stack_copy_bytes(&self) -> u32 {
        if self.capture() & ringside_common::CAPTURE_USER_STACK == 0 {
            0
        } else {
            self.stack_bytes
        }
    }

    /// `CAPTURE_*` bits for the probes.
    pub fn capture(&self) -> u32 {
        use ringside_common::{CAPTURE_KERNEL_STACK, CAPTURE_USER_STACK};
        self.stacks
            .iter()
            .fold(0, |bits, which| match which.as_str() {
                "user" => bits | CAPTURE_USER_STACK,
                "kernel" => bits | CAPTURE_KERNEL_STACK,
                _ => bits,
            })
    }
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Record events, with their symbolized stacks and process metadata, to a file (headless,
    /// until Ctrl-C or --duration). The filter flags choose what is recorded.
    Record {
        /// The recording to write (created 0600; never through a symlink).
        #[arg(short, long, value_name = "FILE")]
        output: PathBuf,
        /// Overwrite FILE if it exists.
        #[arg(long)]
        force: bool,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        trace: TraceArgs,
        #[command(flatten)]
        fleet: FleetArgs,
    },
    /// Open a recording in the TUI, or print it as NDJSON with --json. Needs no privileges.
    Replay {
        /// A recording made by `ringside record` or the TUI's `r` key.
        file: PathBuf,
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        show: ShowArgs,
    },
    /// The remote end of a fleet view: traces here and streams the events to stdout, for the
    /// viewer that started it over ssh; stops when stdin closes.
    #[command(hide = true)]
    Stream {
        #[command(flatten)]
        select: SelectArgs,
        #[command(flatten)]
        trace: TraceArgs,
        /// The label the viewer knows this machine by: `host=` filters match it.
        #[arg(long, value_name = "LABEL")]
        label: Option<String>,
    },
    /// Print a completion script for SHELL to stdout, e.g.
    /// `ringside completions bash > /usr/share/bash-completion/completions/ringside`.
    Completions {
        /// The shell to complete in.
        #[arg(value_name = "SHELL")]
        shell: clap_complete::Shell,
    },
    /// Write the man pages (ringside.8 and one per subcommand) into DIR; packaging uses it.
    #[command(hide = true)]
    Manpages {
        /// An existing directory.
        #[arg(value_name = "DIR")]
        dir: PathBuf,
    },
}

/// `--events`: the kind catalogue's names are the possible values, so help and errors list
/// every kind there is.
fn kind_parser() -> impl clap::builder::TypedValueParser<Value = EventKind> {
    use clap::builder::TypedValueParser as _;
    clap::builder::PossibleValuesParser::new(EventKind::ALL.map(EventKind::name))
        .try_map(|name: String| EventKind::from_name(&name).ok_or("not an event type"))
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs > 0.0 && secs <= 31_536_000.0) {
        return Err(format!(
            "{text} is out of range: give 0 < SECS <= 31536000 (a year)"
        ));
    }
    Ok(std::time::Duration::from_secs_f64(secs))
}

fn parse_container(id: &str) -> Result<String, String> {
    if id.len() < 12 || id.len() > 64 || !id.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err("a container id is 12 to 64 hex digits (a prefix of the full id)".into());
    }
    Ok(id.to_ascii_lowercase())
}

fn parse_comm(name: &str) -> Result<String, String> {
    if name.is_empty() || name.contains('\0') {
        return Err("a command name must be non-empty and have no NUL byte".into());
    }
    Ok(name.to_owned())
}

const MIN_RING: u64 = 64 * 1024;
const MAX_RING: u64 = 1024 * 1024 * 1024;

/// Chosen by measurement (`cargo xtask bench --only unwind`, "Copy needed by real programs"):
/// coreutils, perl and gcc unwind to their entry from 8K, Python needs 32K; the copy stops at the
/// top of the stack, so a shallow stack costs the same under 32K as under 8K.
const DEFAULT_STACK_BYTES: &str = "32K";

fn parse_stack_bytes(text: &str) -> Result<u32, String> {
    let bytes = parse_size(text)?;
    let max = u64::from(ringside_common::MAX_STACK_BYTES);
    if bytes > max {
        return Err(format!(
            "{text} is more than 64K, the most one event can carry"
        ));
    }
    u32::try_from(bytes).map_err(|_| format!("{text} is too large"))
}

fn parse_ring_size(text: &str) -> Result<u32, String> {
    let bytes = parse_size(text)?;
    if !(MIN_RING..=MAX_RING).contains(&bytes) || !bytes.is_power_of_two() {
        return Err(format!("{text} is not a power of two from 64K to 1G"));
    }
    u32::try_from(bytes).map_err(|_| format!("{text} is too large"))
}

/// A number of bytes with an optional K, M or G suffix.
fn parse_size(text: &str) -> Result<u64, String> {
    let trimmed = text.trim().trim_end_matches("iB").trim_end_matches('B');
    let (digits, unit) = match trimmed.char_indices().find(|(_, c)| !c.is_ascii_digit()) {
        Some((at, _)) => trimmed.split_at(at),
        None => (trimmed, ""),
    };
    let multiplier: u64 = match unit.to_ascii_uppercase().as_str() {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        _ => {
            return Err(format!(
                "`{text}`: use a number of bytes with K, M or G, e.g. 16M"
            ));
        }
    };
    digits
        .parse::<u64>()
        .ok()
        .and_then(|n| n.checked_mul(multiplier))
        .ok_or_else(|| format!("`{text}` is not a size, e.g. 16M"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn stack_choices() {
        use ringside_common::{CAPTURE_KERNEL_STACK, CAPTURE_USER_STACK};
        let both = Cli::try_parse_from(["ringside"]).unwrap();
        assert_eq!(
            both.trace.capture(),
            CAPTURE_USER_STACK | CAPTURE_KERNEL_STACK
        );
        let none = Cli::try_parse_from(["ringside", "--stacks", "none"]).unwrap();
        assert_eq!(none.trace.capture(), 0);
        let user = Cli::try_parse_from(["ringside", "--stacks", "user"]).unwrap();
        assert_eq!(user.trace.capture(), CAPTURE_USER_STACK);
        assert!(Cli::try_parse_from(["ringside", "--stacks", "all"]).is_err());
    }

    #[test]
    fn ring_sizes() {
        assert_eq!(parse_ring_size("16M"), Ok(16 << 20));
        assert_eq!(parse_ring_size("64KiB"), Ok(64 << 10));
        assert_eq!(parse_ring_size("1G"), Ok(1 << 30));
        assert_eq!(parse_ring_size("1048576"), Ok(1 << 20));
        for bad in ["3M", "32K", "2G", "lots", "", "16Q", "99999999999999999999"] {
            assert!(parse_ring_size(bad).is_err(), "{bad} should be rejected");
        }
    }

    #[test]
    fn event_lists_and_their_errors() {
        let cli = Cli::try_parse_from(["ringside", "--events", "exec,tcp_close"]).unwrap();
        assert_eq!(cli.trace.events, vec![EventKind::Exec, EventKind::TcpClose]);
        let error = Cli::try_parse_from(["ringside", "--events", "exec,bogus"]).unwrap_err();
        assert!(error.to_string().contains("bogus"), "{error}");
    }

    /// `--events`' possible values, in its help and its errors, are the kind catalogue.
    #[test]
    fn every_event_kind_is_offered_and_nothing_else() {
        let mut command = Cli::command();
        let help = command.render_long_help().to_string();
        let offered: Vec<String> = Cli::command()
            .get_arguments()
            .find(|arg| arg.get_id() == "events")
            .expect("--events")
            .get_possible_values()
            .iter()
            .map(|value| value.get_name().to_owned())
            .collect();
        let catalogue: Vec<String> = EventKind::ALL.iter().map(|k| k.name().into()).collect();
        assert_eq!(offered, catalogue);
        for kind in EventKind::ALL {
            assert!(help.contains(kind.name()), "--help lacks {}", kind.name());
        }
        let error = Cli::try_parse_from(["ringside", "--events", "bogus"]).unwrap_err();
        assert!(error.to_string().contains(&catalogue.join(", ")), "{error}");
    }

    /// `--filter`'s help names every field the filter language has.
    #[test]
    fn the_filter_help_lists_every_field() {
        let help = Cli::command().render_long_help().to_string();
        for field in crate::filter::field_names() {
            assert!(
                help.contains(&format!("{field} ")) || help.contains(&format!("{field},")),
                "--help lacks the filter field {field}:\n{help}"
            );
        }
    }

    /// Each subcommand offers only what applies to it.
    #[test]
    fn subcommands_offer_only_their_options() {
        let options = |name: &str| -> Vec<String> {
            Cli::command()
                .find_subcommand(name)
                .expect(name)
                .get_arguments()
                .filter_map(|arg| arg.get_long().map(str::to_owned))
                .collect()
        };
        let record = options("record");
        for inapplicable in [
            "json",
            "folded",
            "flamegraph",
            "pprof",
            "max-events",
            "symbol-wait",
        ] {
            assert!(
                !record.iter().any(|o| o == inapplicable),
                "record offers --{inapplicable}"
            );
        }
        for applicable in ["filter", "pid", "events", "duration", "output"] {
            assert!(
                record.iter().any(|o| o == applicable),
                "record lacks --{applicable}"
            );
        }
        let replay = options("replay");
        for inapplicable in ["pid", "comm", "events", "ring-size", "stacks", "duration"] {
            assert!(
                !replay.iter().any(|o| o == inapplicable),
                "replay offers --{inapplicable}"
            );
        }
        for applicable in ["filter", "json", "folded", "max-events"] {
            assert!(
                replay.iter().any(|o| o == applicable),
                "replay lacks --{applicable}"
            );
        }
        let misplaced = Cli::try_parse_from(["ringside", "record", "-o", "x", "--json"]);
        assert!(misplaced.is_err(), "record accepted --json");
        let before = Cli::try_parse_args(["ringside", "--pid", "5", "record", "-o", "x"])
            .expect_err("a flag before record is refused");
        assert!(
            before
                .to_string()
                .contains("--pid goes after the subcommand"),
            "{before}"
        );
        let fleet = Cli::try_parse_args(["ringside", "--host", "a=local", "record", "-o", "x"]);
        assert!(fleet.is_ok(), "--host belongs anywhere: {:?}", fleet.err());
    }

    #[test]
    fn invalid_values_are_rejected_with_the_valid_range() {
        let zero_pid = Cli::try_parse_from(["ringside", "--pid", "0"]).unwrap_err();
        assert!(zero_pid.to_string().contains("1.."), "{zero_pid}");
        let duration = Cli::try_parse_from(["ringside", "--duration", "0"]).unwrap_err();
        assert!(duration.to_string().contains("out of range"), "{duration}");
        let tree = Cli::try_parse_from(["ringside", "--tree"]).unwrap_err();
        assert!(tree.to_string().contains("--pid"), "{tree}");
    }
}
