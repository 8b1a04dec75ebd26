//! `cargo xtask run`: set up, build ringside in release mode and run it as root.

use std::{ffi::OsString, io, os::unix::process::CommandExt, process::Command};

use anyhow::{Context, Result, bail};

use crate::{cmd, setup};

pub fn run(args: &[OsString]) -> Result<()> {
    setup::setup()?;
    eprintln!("run: building ringside (release)");
    cmd::run(cmd::cargo().args(["build", "--release", "-p", "ringside"]))?;

    let binary = cmd::target_dir().join("release/ringside");
    let root = cmd::is_root()?;
    // Build as the user (target/ stays theirs); only ringside itself runs as root.
    let mut ringside = if root {
        Command::new(&binary)
    } else {
        let mut sudo = Command::new("sudo");
        sudo.arg("-E").arg(&binary);
        sudo
    };
    ringside.args(args);
    // exec replaces xtask (cargo has already exec'd into us): ringside gets the terminal and
    // Ctrl-C directly, and its exit code is the one the shell sees.
    let err = ringside.exec();
    if !root && err.kind() == io::ErrorKind::NotFound {
        bail!(
            "ringside needs root (CAP_BPF, CAP_PERFMON) and sudo is not installed: \
             run `{}` as root",
            binary.display()
        );
    }
    Err(err).with_context(|| format!("could not start `{}`", cmd::show(&ringside)))
}
