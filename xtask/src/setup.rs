//! `cargo xtask setup`: install what building and testing ringside needs, skipping what is there.
//!
//! Every check is a cheap local query, so a second run takes a fraction of a second.

use std::{
    collections::HashSet,
    env,
    ffi::OsString,
    fs, io,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::{Context, Result, bail};

use crate::cmd;

/// The toolchain aya-build compiles the probes with (`rustup run nightly cargo build ...`).
const NIGHTLY: &str = "nightly";
const BPF_LINKER_VERSION: &str = "0.13.0";
/// Debian packages the tests and the bench drive: tmux for the pseudo-terminal tests, bpftrace and
/// bpftool as side-by-side references. (On bookworm bpftool is its own package.)
/// tmux drives the TUI in tests; bpftrace and bpftool are the anchors the bench compares with;
/// the compilers and binutils build and strip the stack tests' fixtures; util-linux gives the
/// tests setpriv and unshare; libc6-dbg puts libc's debug file under /usr/lib/debug, which the
/// unwinding tests resolve libc's internal frames from; linux-perf is perf, to profile where a
/// traced system call's time goes (`perf record -C 0 -g` beside a pinned load); musl-tools is
/// musl-gcc, which compiles the C parts (zstd, ring) of the static build (`cargo xtask dist`);
/// openssh-server and openssh-client give the tests private ssh "hosts" (an sshd of their own on
/// 127.0.0.1, started from a config in a temp directory, never the system's).
const DEBIAN_PACKAGES: &[&str] = &[
    "tmux",
    "bpftrace",
    "bpftool",
    "gcc",
    "g++",
    "binutils",
    "util-linux",
    "fonts-dejavu-core",
    "libc6-dbg",
    "linux-perf",
    "musl-tools",
    "openssh-server",
    "openssh-client",
];

/// The target of the static binary `cargo xtask dist` builds.
pub const MUSL_TARGET: &str = "x86_64-unknown-linux-musl";

pub fn setup() -> Result<()> {
    rust_src()?;
    musl_target()?;
    bpf_linker()?;
    debian_packages()?;
    Ok(())
}

/// Progress goes to stderr so that `cargo xtask run -- ... > file` captures only ringside.
fn report(what: &str, state: &str) {
    eprintln!("setup: {what}: {state}");
}

/// `-Z build-std=core` needs the standard library's source for the nightly toolchain.
fn rust_src() -> Result<()> {
    let what = "rust-src for nightly";
    let installed = cmd::output(Command::new("rustup").args([
        "component",
        "list",
        "--toolchain",
        NIGHTLY,
        "--installed",
    ]))
    .context("the eBPF build needs the `nightly` toolchain installed with rustup")?;
    if installed
        .lines()
        .any(|line| line.split_whitespace().next() == Some("rust-src"))
    {
        report(what, "present");
        return Ok(());
    }
    cmd::run(Command::new("rustup").args([
        "component",
        "add",
        "rust-src",
        "--toolchain",
        NIGHTLY,
    ]))?;
    report(what, "installed");
    Ok(())
}

/// The static build's standard library, for the toolchain cargo builds ringside with. No
/// `--toolchain`: rustup then picks the one a nested `cargo build` picks too.
fn musl_target() -> Result<()> {
    let what = format!("rust target {MUSL_TARGET}");
    let installed = cmd::output(Command::new("rustup").args(["target", "list", "--installed"]))
        .context("the static build needs rustup to add its target")?;
    if installed.lines().any(|line| line.trim() == MUSL_TARGET) {
        report(&what, "present");
        return Ok(());
    }
    cmd::run(Command::new("rustup").args(["target", "add", MUSL_TARGET]))?;
    report(&what, "installed");
    Ok(())
}

/// bpf-linker must be built against the nightly's own LLVM, or the bitcode rustc hands it won't
/// load. It links that libLLVM dynamically, through a prefix directory pointing into the sysroot.
fn bpf_linker() -> Result<()> {
    let sysroot_lib = nightly_sysroot()?.join("lib");
    let (libllvm, major) = find_libllvm(&sysroot_lib)?;
    let what = format!("bpf-linker {BPF_LINKER_VERSION} (LLVM {major})");
    let prefix = llvm_prefix(&sysroot_lib.join(&libllvm), &libllvm)?;

    if bpf_linker_fits(&sysroot_lib, &libllvm) {
        report(&what, "present");
        return Ok(());
    }
    report(&what, "building (takes a minute or two)");
    // Run from the prefix, not the workspace, so the workspace's cargo config can't leak in.
    // --force replaces a bpf-linker of another version or LLVM; --locked uses the dependency
    // versions bpf-linker was released with (all build with our stable rustc).
    cmd::run(
        cmd::cargo()
            .current_dir(&prefix)
            .env("LLVM_PREFIX", &prefix)
            .args(["install", "bpf-linker", "--version", BPF_LINKER_VERSION])
            .args(["--locked", "--force", "--no-default-features", "--features"])
            .arg(format!("llvm-{major}")),
    )?;
    if !bpf_linker_fits(&sysroot_lib, &libllvm) {
        bail!(
            "installed bpf-linker, but the `bpf-linker` found on PATH is still not it: \
             put cargo's bin directory (usually ~/.cargo/bin) first on PATH"
        );
    }
    report(&what, "installed");
    Ok(())
}

fn nightly_sysroot() -> Result<PathBuf> {
    let out =
        cmd::output(Command::new("rustup").args(["run", NIGHTLY, "rustc", "--print", "sysroot"]))?;
    Ok(PathBuf::from(out.trim()))
}

/// Finds the nightly's libLLVM and its major version. `libLLVM.so.<version>` is the real library
/// (and its soname); `libLLVM-<major>-*.so` is, on current nightlies, only a linker script.
fn find_libllvm(sysroot_lib: &Path) -> Result<(String, u32)> {
    let names: Vec<String> = fs::read_dir(sysroot_lib)
        .with_context(|| format!("listing {}", sysroot_lib.display()))?
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .collect();
    let pick = |prefix: &str, suffix: &str| {
        names
            .iter()
            .find(|n| n.starts_with(prefix) && n.ends_with(suffix))
            .cloned()
    };
    let name = pick("libLLVM.so.", "")
        .or_else(|| pick("libLLVM-", ".so"))
        .with_context(|| {
            format!(
                "no libLLVM.so.* or libLLVM-*.so in {}",
                sysroot_lib.display()
            )
        })?;
    let major = llvm_major(&name).with_context(|| format!("no LLVM version in `{name}`"))?;
    Ok((name, major))
}

/// "libLLVM.so.22.1-rust-1.97.0-nightly" and "libLLVM-22-rust-1.97.0-nightly.so" both give 22.
fn llvm_major(file_name: &str) -> Option<u32> {
    let rest = file_name
        .strip_prefix("libLLVM.so.")
        .or_else(|| file_name.strip_prefix("libLLVM-"))?;
    let end = rest
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest[..end].parse().ok()
}

/// Makes $HOME/.cache/ringside/llvm-prefix/lib hold `libLLVM.so` (what llvm-sys links against)
/// and a link under the library's own name, so the RUNPATH baked into bpf-linker also finds it
/// when it runs outside `rustup run nightly`.
fn llvm_prefix(libllvm_path: &Path, libllvm: &str) -> Result<PathBuf> {
    let home = env::var_os("HOME").context("HOME is not set")?;
    let prefix = PathBuf::from(home).join(".cache/ringside/llvm-prefix");
    let lib = prefix.join("lib");
    fs::create_dir_all(&lib).with_context(|| format!("creating {}", lib.display()))?;
    for link in ["libLLVM.so", libllvm] {
        symlink(libllvm_path, &lib.join(link))?;
    }
    Ok(prefix)
}

/// `ln -sf`, but leaves a correct link untouched.
fn symlink(target: &Path, link: &Path) -> Result<()> {
    if fs::read_link(link).is_ok_and(|current| current == target) {
        return Ok(());
    }
    match fs::remove_file(link) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => {
            return Err(e).with_context(|| format!("removing {}", link.display()));
        }
        _ => {}
    }
    std::os::unix::fs::symlink(target, link)
        .with_context(|| format!("linking {} -> {}", link.display(), target.display()))
}

/// True when the `bpf-linker` on PATH is our version and links this nightly's libLLVM.
/// A bpf-linker from a plain `cargo install bpf-linker` embeds another LLVM: it runs, but fails
/// on the nightly's bitcode, so the version alone is not enough.
fn bpf_linker_fits(sysroot_lib: &Path, libllvm: &str) -> bool {
    let Some(path) = cmd::find_on_path("bpf-linker") else {
        return false;
    };
    // Run it the way rustc will under `rustup run nightly`: with the sysroot's lib on the path.
    let mut lib_path = OsString::from(sysroot_lib);
    if let Some(old) = env::var_os("LD_LIBRARY_PATH") {
        lib_path.push(":");
        lib_path.push(old);
    }
    let version = Command::new(&path)
        .arg("--version")
        .env("LD_LIBRARY_PATH", lib_path)
        .output();
    let version_ok = version.is_ok_and(|out| {
        out.status.success()
            && String::from_utf8_lossy(&out.stdout).trim()
                == format!("bpf-linker {BPF_LINKER_VERSION}")
    });
    version_ok && needs_library(&path, libllvm)
}

/// Whether an ELF binary names `library` among the libraries it needs. The dynamic string table
/// sits in the first pages of the file, so reading a prefix is enough and keeps setup fast
/// (the binary itself is ~40 MB).
fn needs_library(binary: &Path, library: &str) -> bool {
    use std::io::Read;
    let mut head = Vec::with_capacity(1 << 20);
    let read = fs::File::open(binary).and_then(|f| f.take(1 << 20).read_to_end(&mut head));
    let needle = format!("{library}\0");
    read.is_ok()
        && head
            .windows(needle.len())
            .any(|window| window == needle.as_bytes())
}

fn debian_packages() -> Result<()> {
    let what = format!("Debian packages {}", DEBIAN_PACKAGES.join(" "));
    let missing = missing_packages()?;
    if missing.is_empty() {
        report(&what, "present");
        return Ok(());
    }
    let install = ["apt-get", "install", "-y", "--no-install-recommends"];
    if !cmd::is_root()? {
        bail!(
            "missing Debian packages: {missing}\ninstall them as root with:\n  \
             sudo apt-get update && sudo {install} {missing}",
            missing = missing.join(" "),
            install = install.join(" "),
        );
    }
    // noninteractive: a package asking a debconf question must not hang CI.
    cmd::run(
        Command::new("apt-get")
            .arg("update")
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    cmd::run(
        Command::new(install[0])
            .args(&install[1..])
            .args(&missing)
            .env("DEBIAN_FRONTEND", "noninteractive"),
    )?;
    report(&what, &format!("installed {}", missing.join(" ")));
    Ok(())
}

/// Asks dpkg once for all packages. `dpkg-query` exits 1 when a package is unknown to dpkg but
/// still reports the others, so its output is read whatever the exit status. Only the status
/// `installed` counts: removed packages can linger as `config-files`.
fn missing_packages() -> Result<Vec<&'static str>> {
    let out = Command::new("dpkg-query")
        .args(["-W", "-f", "${Package}\t${db:Status-Status}\n"])
        .args(DEBIAN_PACKAGES)
        .output()
        .context("running dpkg-query (setup installs tools with Debian's apt)")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let installed: HashSet<&str> = stdout
        .lines()
        .filter_map(|line| line.split_once('\t'))
        .filter(|(_, status)| *status == "installed")
        .map(|(package, _)| package)
        .collect();
    Ok(DEBIAN_PACKAGES
        .iter()
        .copied()
        .filter(|p| !installed.contains(p))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::llvm_major;

    #[test]
    fn llvm_major_from_library_names() {
        let cases = [
            ("libLLVM.so.22.1-rust-1.97.0-nightly", Some(22)),
            ("libLLVM-22-rust-1.97.0-nightly.so", Some(22)),
            ("libLLVM-9.so", Some(9)),
            ("libLLVM.so.", None),
            ("librustc_driver-b5a965480ee51f9a.so", None),
        ];
        for (name, major) in cases {
            assert_eq!(llvm_major(name), major, "{name}");
        }
    }
}
