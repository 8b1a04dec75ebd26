//! `cargo xtask dist`: the binary to copy to a server and the Debian package to install there.
//!
//! - `target/dist/ringside`: static (`x86_64-unknown-linux-musl`), probes embedded, stripped;
//! - `target/dist/ringside.debug`: its debug info, named by the binary's `.gnu_debuglink`;
//! - `target/dist/ringside_<version>_amd64.deb`: the same binary, its man pages and completions.
//!
//! With `--check` it then proves them usable (`check/`): `cargo xtask test` runs that last.

mod check;
mod deb;
mod static_build;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result, bail};
use clap::Args;

use crate::{cmd, setup};

#[derive(Args)]
pub struct DistArgs {
    /// Then check them: the binary traces and replays in an empty chroot, ldd calls it static,
    /// and the package installs, runs and is removed again. Needs root.
    #[arg(long)]
    check: bool,
}

/// What `cargo xtask dist` made.
pub struct Dist {
    /// target/dist/ringside
    pub binary: PathBuf,
    /// target/dist/ringside.debug
    pub debug: PathBuf,
    /// target/dist/ringside_<version>_amd64.deb
    pub deb: PathBuf,
}

pub fn dist(args: &DistArgs) -> Result<()> {
    if args.check && !cmd::is_root()? {
        bail!(
            "the checks chroot, load eBPF probes and install a package: \
             run `cargo xtask dist --check` as root"
        );
    }
    setup::setup()?;
    let dist = build()?;
    if args.check {
        check_built(&dist)?;
    }
    Ok(())
}

/// A step of `cargo xtask test` (after setup): build only.
pub fn build_only() -> Result<()> {
    build().map(drop)
}

/// The step `cargo xtask test` ends with (after setup): build, then check.
pub fn build_and_check() -> Result<()> {
    let dist = build()?;
    check_built(&dist)
}

/// Builds the static binary, splits off its debug info and packages it; prints what it made.
fn build() -> Result<Dist> {
    let started = Instant::now();
    let dir = cmd::target_dir().join("dist");
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let (binary, debug) = static_build::build(&dir)?;
    let deb = deb::package(&binary, &dir)?;
    let verdict = cmd::ldd(&binary)?;
    println!("{}  {}  ldd: {verdict}", binary.display(), size(&binary)?);
    println!("{}  {}", debug.display(), size(&debug)?);
    println!("{}  {}", deb.display(), size(&deb)?);
    eprintln!("dist: done in {:.0} s", started.elapsed().as_secs_f64());
    Ok(Dist { binary, debug, deb })
}

fn check_built(dist: &Dist) -> Result<()> {
    let started = Instant::now();
    check::check(dist)?;
    eprintln!(
        "dist: checks passed in {:.0} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// A file's size in MiB and bytes, e.g. "7.9 MiB (8283648 bytes)".
fn size(path: &Path) -> Result<String> {
    let bytes = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    #[expect(clippy::cast_precision_loss, reason = "a size to one decimal")]
    let mib = bytes as f64 / f64::from(1 << 20);
    Ok(format!("{mib:.1} MiB ({bytes} bytes)"))
}
