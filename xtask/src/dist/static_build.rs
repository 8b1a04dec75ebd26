//! The static binary: built for musl with the probes embedded, then split into a stripped
//! binary and a debug file beside it.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result, bail};

use crate::cmd;
use crate::setup::MUSL_TARGET;

/// Compiles the C parts (zstd, ring, mimalloc) against musl rather than glibc's headers.
const MUSL_CC: &str = "musl-gcc";

/// Builds `ringside` for musl and leaves `dir/ringside` (stripped) and `dir/ringside.debug`.
pub fn build(dir: &Path) -> Result<(PathBuf, PathBuf)> {
    if cmd::find_on_path(MUSL_CC).is_none() {
        bail!("{MUSL_CC} not found: run `cargo xtask setup` (it installs Debian's musl-tools)");
    }
    // The cc crate reads CC_<target> and AR_<target>; only this target's C code uses them. The
    // build scripts, tui/build.rs and its probe build included, still run on the host.
    let target_env = MUSL_TARGET.replace('-', "_");
    eprintln!("dist: building ringside for {MUSL_TARGET} (release)");
    cmd::run(
        cmd::cargo()
            .args([
                "build",
                "--release",
                "-p",
                "ringside",
                "--target",
                MUSL_TARGET,
            ])
            .env(format!("CC_{target_env}"), MUSL_CC)
            .env(format!("AR_{target_env}"), "ar"),
    )?;
    let built = cmd::target_dir().join(MUSL_TARGET).join("release/ringside");
    let binary = dir.join("ringside");
    let debug = dir.join("ringside.debug");
    for old in [&binary, &debug] {
        remove_if_present(old)?;
    }
    fs::copy(&built, &binary)
        .with_context(|| format!("copying {} to {}", built.display(), binary.display()))?;
    split_debug_info(&binary, &debug)?;
    Ok((binary, debug))
}

/// `objcopy --only-keep-debug`, `--strip-all`, then `--add-gnu-debuglink`, so a debugger (or
/// a symbolizer) that finds `ringside.debug` beside the binary, or under /usr/lib/debug, uses it.
fn split_debug_info(binary: &Path, debug: &Path) -> Result<()> {
    let objcopy = || {
        let mut objcopy = Command::new("objcopy");
        // The link records the debug file's name only: run where both files are.
        objcopy.current_dir(binary.parent().unwrap_or(Path::new(".")));
        objcopy
    };
    let (binary_name, debug_name) = (file_name(binary)?, file_name(debug)?);
    cmd::run(objcopy().args(["--only-keep-debug", binary_name, debug_name]))?;
    cmd::run(objcopy().args(["--strip-all", binary_name]))?;
    cmd::run(
        objcopy()
            .arg(format!("--add-gnu-debuglink={debug_name}"))
            .arg(binary_name),
    )?;
    fs::set_permissions(debug, fs::Permissions::from_mode(0o644))
        .with_context(|| format!("setting the mode of {}", debug.display()))
}

fn file_name(path: &Path) -> Result<&str> {
    path.file_name()
        .and_then(|name| name.to_str())
        .with_context(|| format!("{} has no file name", path.display()))
}

pub fn remove_if_present(path: &Path) -> Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
            Err(e).with_context(|| format!("removing {}", path.display()))
        }
        _ => Ok(()),
    }
}
