//! Builds the eBPF probes from source and leaves the object in OUT_DIR, where `probes::load`
//! embeds it: a user copies one binary to a server and runs it.
//!
//! aya-build forwards every line the probe build prints (`Compiling ...`, `Downloaded ...`) as a
//! `cargo:warning`, so a clean build looked like forty problems. This script therefore runs
//! aya-build in a child copy of itself and keeps the child's chatter: it is shown when the probe
//! build fails, and always under `cargo build -vv`, never as warnings of a build that worked.
use std::io::Write as _;
use std::process::{Command, Stdio};

use anyhow::{Context as _, anyhow, bail};
use aya_build::{Package, Toolchain};

#[path = "build/version.rs"]
mod version;

/// Set in the child copy of this script: it runs aya-build itself.
const CHILD: &str = "RINGSIDE_BUILD_PROBES_CHILD";

fn main() -> anyhow::Result<()> {
    if std::env::var_os(CHILD).is_some() {
        return build_probes();
    }
    version::emit()?;
    let output = Command::new(std::env::current_exe().context("finding the build script")?)
        .env(CHILD, "1")
        .stdin(Stdio::null())
        .output()
        .context("running the probe build")?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let mut chatter = String::new();
    for line in stdout.lines() {
        match line.strip_prefix("cargo:warning=") {
            Some(said) => {
                chatter.push_str(said);
                chatter.push('\n');
            }
            // rerun-if-changed and the like are for cargo.
            None => println!("{line}"),
        }
    }
    // Build script stderr is shown by cargo when the script fails and under -vv.
    let mut stderr = std::io::stderr().lock();
    stderr.write_all(chatter.as_bytes())?;
    stderr.write_all(&output.stderr)?;
    if !output.status.success() {
        bail!(
            "building the eBPF probes failed ({}); its output is above \
             (run `cargo xtask setup` if bpf-linker is missing)",
            output.status
        );
    }
    Ok(())
}

/// The child's work: find probes-ebpf in the workspace and build it with aya-build.
fn build_probes() -> anyhow::Result<()> {
    let metadata = cargo_metadata::MetadataCommand::new()
        .no_deps()
        .exec()
        .context("reading the workspace layout with cargo metadata")?;
    let probes = metadata
        .packages
        .iter()
        .find(|package| package.name.as_str() == "probes-ebpf")
        .ok_or_else(|| anyhow!("the workspace has no probes-ebpf package"))?;
    let root_dir = probes
        .manifest_path
        .parent()
        .ok_or_else(|| anyhow!("probes-ebpf's manifest has no parent directory"))?;
    let package = Package {
        name: probes.name.as_str(),
        root_dir: root_dir.as_str(),
        no_default_features: false,
        features: &[],
    };
    aya_build::build_ebpf([package], Toolchain::default())
        .context("building the eBPF probes (run `cargo xtask setup` if bpf-linker is missing)")
}
