//! `cargo xtask <command>`: the commands a person (or CI) types to set up, run and test ringside.

mod cmd;
mod run;
mod setup;
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
    /// Install what is missing: rust-src for nightly, bpf-linker built against the nightly's
    /// LLVM, and the Debian packages the tests use. Fast when everything is there.
    Setup,
    /// Set up, build ringside (release) and run it as root (through sudo if needed).
    Run {
        /// Arguments for ringside, after `--`.
        #[arg(last = true)]
        args: Vec<OsString>,
    },
    /// Set up, then check formatting, run clippy and run every test, kernel tests included.
    /// Needs root.
    Test,
}

fn main() -> anyhow::Result<()> {
    match Cli::parse().command {
        Task::Setup => setup::setup(),
        Task::Run { args } => run::run(&args),
        Task::Test => test::test(),
    }
}
