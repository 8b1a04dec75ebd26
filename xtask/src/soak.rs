//! `cargo xtask soak`: set up, then the soak test (tui/tests/soak.rs) for longer than CI runs it.

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::{cmd, setup};

#[derive(Args)]
pub struct SoakArgs {
    /// How long the storms run, in seconds (CI runs the same test for 60).
    #[arg(long, default_value_t = 600, value_parser = clap::value_parser!(u64).range(10..))]
    secs: u64,
}

pub fn soak(args: &SoakArgs) -> Result<()> {
    if !cmd::is_root()? {
        bail!(
            "the soak test loads eBPF probes (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN): \
             run `cargo xtask soak` as root"
        );
    }
    setup::setup()?;
    let secs = args.secs.to_string();
    let mut cargo = cmd::cargo();
    cargo
        .args([
            "test",
            "-p",
            "ringside",
            "--test",
            "soak",
            "--",
            "--nocapture",
        ])
        .env("RINGSIDE_SOAK_SECS", &secs)
        // A skip must be a failure here.
        .env("RINGSIDE_KERNEL_TESTS", "require");
    eprintln!(
        "\n==> soak, {secs} s: RINGSIDE_SOAK_SECS={secs} RINGSIDE_KERNEL_TESTS=require {}",
        cmd::show(&cargo)
    );
    cmd::run(&mut cargo).context("the soak test failed")
}
