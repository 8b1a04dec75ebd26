//! `cargo xtask dist --check` (the last step of `cargo xtask test`): the static binary and the
//! package work on a machine without the build machine's libraries.
//!
//! - `ldd` calls the binary static; it is stripped and links its debug file, which holds the
//!   debug info;
//! - in an empty root directory (only the binary, with /proc, /sys and /dev mounted in a
//!   private mount namespace) it traces an exec and an open, records them, and replays the
//!   recording (`chroot.rs`);
//! - the .deb installs, its files are in place, the installed binary says it is static and
//!   traces an exec, and it is removed again (`package.rs`).
//!
//! The events are caused from outside the chroot (it has no shell to run): ringside traces the
//! whole machine, so this process's own exec of /bin/true and open of a marker file show up.

mod chroot;
mod package;
mod traced;

use std::process::Command;

use anyhow::{Result, bail};

use super::Dist;
use crate::cmd;

pub fn check(dist: &Dist) -> Result<()> {
    let verdict = cmd::ldd(&dist.binary)?;
    if !cmd::ldd_says_static(&verdict) {
        bail!(
            "ldd says {} is dynamic: `{verdict}`; it must load no shared library",
            dist.binary.display()
        );
    }
    eprintln!("dist check: ldd: {verdict}");
    debug_split(dist)?;
    chroot::check(&dist.binary)?;
    package::check(&dist.deb)
}

/// The binary has no symbol table and names its debug file in `.gnu_debuglink`; the debug file
/// has the line tables and symbols.
fn debug_split(dist: &Dist) -> Result<()> {
    let sections = |path| cmd::output(Command::new("readelf").args(["-S", "-W"]).arg(path));
    let binary = sections(&dist.binary)?;
    if binary.contains(".symtab") || binary.contains(".debug_line") {
        bail!("{} is not stripped", dist.binary.display());
    }
    // The section ends in a CRC, which is no text.
    let link = cmd::output_bytes(
        Command::new("readelf")
            .args(["--string-dump", ".gnu_debuglink"])
            .arg(&dist.binary),
    )?;
    let link = String::from_utf8_lossy(&link);
    let debug_name = dist
        .debug
        .file_name()
        .and_then(|name| name.to_str())
        .unwrap_or_default();
    if !link.contains(debug_name) {
        bail!(
            "{}'s .gnu_debuglink does not name {debug_name}: `{}`",
            dist.binary.display(),
            link.trim()
        );
    }
    let debug = sections(&dist.debug)?;
    if !(debug.contains(".symtab") && debug.contains(".debug_line")) {
        bail!(
            "{} lacks the symbols or the line tables",
            dist.debug.display()
        );
    }
    eprintln!("dist check: stripped, with its debug info in {debug_name}");
    Ok(())
}
