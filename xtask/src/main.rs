//! `cargo xtask <command>`: the commands a person (or CI) types to set up, run and test ringside.

mod bench;
mod cmd;
mod dist;
// The TUI's pty tests use the same harness; a test's support file is no crate to depend on.
#[path = "../../tui/tests/support/pty.rs"]
#[expect(dead_code, reason = "only the pty tests resize the terminal")]
mod pty;
mod run;
mod screenshots;
mod setup;
mod soak;
mod test;

use std::ffi::OsString;

use clap::{Parser, Subcommand};

/// ringside's developer commands.
#[derive(Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask")]
struct Cli {
    #[command(subcommand)]
    command: Task,
}

#[derive(Subcommand)]
enum Task {
    /// Install what is missing: rust-src for nightly, the musl target, bpf-linker built against
    /// the nightly's LLVM, and the Debian packages the builds and tests use. Fast when
    /// everything is there.
    Setup,
    /// Set up, build ringside (release) and run it as root (through sudo if needed).
    Run {
        /// Arguments for ringside, after `--`.
        #[arg(last = true)]
        args: Vec<OsString>,
    },
    /// Set up, then check formatting, run clippy, build the static binary, run every test,
    /// kernel tests included, and finally `cargo xtask dist --check`. Needs root.
    Test,
    /// Set up, then build the static binary target/dist/ringside (musl, probes embedded,
    /// stripped), its debug file target/dist/ringside.debug and the Debian package
    /// target/dist/ringside_<version>_amd64.deb. Prints their paths and sizes.
    Dist(dist::DistArgs),
    /// Set up, build ringside (release) and measure what it costs: syscall overhead against an
    /// untraced baseline and bpftrace, throughput and loss, latency, symbolization. Needs root.
    /// Prints a table; writes target/bench/results-<time>.json and target/bench/latest.json.
    Bench(bench::BenchArgs),
    /// Set up, build ringside (release) and drive it through a scripted session in a
    /// pseudo-terminal beside a small workload; writes the README's PNGs of the main views to
    /// screenshots/. Needs root.
    Screenshots,
    /// Set up, then run the soak test for longer than CI does (600 s by default): exec, open
    /// and loopback connect storms with the TUI open in a pseudo-terminal; memory stays
    /// bounded, no descriptor leaks, keys are answered, delivered + dropped == produced.
    /// Needs root.
    Soak(soak::SoakArgs),
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Setup => setup::setup(),
        Task::Run { args } => run::run(&args),
        Task::Test => test::test(),
        Task::Dist(args) => dist::dist(&args),
        Task::Bench(args) => bench::bench(args),
        Task::Screenshots => screenshots::screenshots(),
        Task::Soak(args) => soak::soak(&args),
    }
}
