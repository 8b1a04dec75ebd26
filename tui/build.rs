//! Builds the eBPF probes from source and leaves the object in OUT_DIR, where `probes::load`
//! embeds it: a user copies one binary to a server and runs it.
use anyhow::{Context as _, anyhow};
use aya_build::{Package, Toolchain};

fn main() -> anyhow::Result<()> {
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
