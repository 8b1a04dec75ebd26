//! `cargo xtask dist`: the binary to copy to a server and the Debian package to install there.
//!
//! - `target/dist/ringside`: static (`x86_64-unknown-linux-musl`), probes embedded, stripped;
//! - `target/dist/ringside.debug`: its debug info, named by the binary's `.gnu_debuglink`;
//! - `target/dist/ringside_<version>_amd64.deb`: the same binary, its man pages and completions.

mod deb;
mod static_build;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Context, Result};
use clap::Args;

use crate::{cmd, setup};

#[derive(Args)]
pub struct DistArgs {}

/// What `cargo xtask dist` made.
pub struct Dist {
    /// target/dist/ringside
    pub binary: PathBuf,
    /// target/dist/ringside.debug
    pub debug: PathBuf,
    /// target/dist/ringside_<version>_amd64.deb
    pub deb: PathBuf,
}

pub fn dist(_args: &DistArgs) -> Result<()> {
    setup::setup()?;
    build()?;
    Ok(())
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

/// A file's size in MiB and bytes, e.g. "7.9 MiB (8283648 bytes)".
fn size(path: &Path) -> Result<String> {
    let bytes = fs::metadata(path)
        .with_context(|| format!("reading {}", path.display()))?
        .len();
    #[expect(clippy::cast_precision_loss, reason = "a size to one decimal")]
    let mib = bytes as f64 / f64::from(1 << 20);
    Ok(format!("{mib:.1} MiB ({bytes} bytes)"))
}
